"""Find submissions that share code beyond the handout (copydetect, MOSS-style winnowing).

  autograder similarity submissions/                         pairs.csv, <project>.html, heat maps in grades/similarity/
  autograder similarity submissions/ --against-solutions     also compare every submission with the solutions
  autograder similarity submissions/ --threshold 0.6         flag pairs at or above this similarity (default 0.5)

The same inputs as `autograder grade` (a folder or an archive per student). The released skeletons are the
boilerplate: code the handout gave never counts. `autograder grade --similarity` runs this too and puts the top
pairs and the heat maps in the class report.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from course.errors import CourseError


def add_arguments(parser) -> None:
    parser.add_argument("folder", help="the class: one folder or archive (.zip, .tar.gz) per student")
    parser.add_argument("--out", default=None, help="output folder (default: grades/similarity)")
    add_similarity_options(parser)


def add_similarity_options(parser) -> None:
    from autograder.batch.similarity import THRESHOLD

    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"flag pairs whose similarity is at least this (0-1; default {THRESHOLD})")
    parser.add_argument("--against-solutions", action="store_true",
                        help="also compare every submission with the reference solutions (a leaked solution)")


def check_threshold(value: float) -> None:
    if not 0 < value <= 1:
        raise CourseError(f"--threshold must be between 0 and 1, got {value}")


def compare_class(entries, out: Path, args) -> list:
    """Run the comparison and say where the results are; a missing copydetect is a clear error."""
    try:
        import copydetect  # noqa: F401
    except ImportError as exc:
        raise CourseError("the similarity report needs copydetect, an instructor tool: pip install -e \".[dev]\" "
                          "(or pip install copydetect)") from exc
    from autograder.batch.similarity import compare

    start = time.monotonic()
    pairs = compare(entries, out, threshold=args.threshold, against_solutions=args.against_solutions)
    flagged = [p for p in pairs if p.flagged]
    print(f"compared {sum(e.usable for e in entries)} submissions in {time.monotonic() - start:.1f} s: "
          f"{len(flagged)} pair(s) at or above {args.threshold:g}", file=sys.stderr)
    for p in flagged[:10]:
        print(f"  {p.project}: {p.a} ~ {p.b}  {p.similarity:.2f} ({p.tokens} tokens)", file=sys.stderr)
    return pairs


def run(args) -> int:
    from autograder.batch import intake
    from autograder.commands.grade import check_folder

    folder = check_folder(args.folder)
    check_threshold(args.threshold)
    out = Path(args.out or "grades/similarity").expanduser()
    entries = intake.collect(folder, out / ".staging")
    for entry in entries:
        if not entry.usable:
            print(f"{entry.student}: not compared: {entry.problem}", file=sys.stderr)
    if sum(e.usable for e in entries) < 2:
        raise CourseError(f"{folder} holds fewer than two usable submissions; nothing to compare")
    compare_class(entries, out, args)
    print(f"wrote {out}/pairs.csv, {out}/project1.html, {out}/project2.html and the heat maps")
    return 0
