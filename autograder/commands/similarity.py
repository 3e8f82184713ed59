"""Find submissions that share code beyond the handout (copydetect, MOSS-style winnowing).

  autograder similarity submissions/                         pairs.csv, <project>.html, heat maps in grades/similarity/
  autograder similarity submissions/ --against-solutions     also compare every submission with the solutions
  autograder similarity submissions/ --threshold 0.6         flag pairs at or above this similarity (default 0.5)

The same inputs as `autograder grade` (a folder or an archive per student). The released skeletons are the
boilerplate: code the handout gave never counts. `autograder grade --similarity` runs this too and puts the top
pairs and the heat maps in the class report.
"""

from __future__ import annotations

from pathlib import Path


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


def run(args) -> int:
    from autograder.batch.intake import check_folder
    from autograder.batch.similarity import check_threshold, compare_folder

    folder = check_folder(args.folder)
    check_threshold(args.threshold)
    out = Path(args.out or "grades/similarity").expanduser()
    compare_folder(folder, out, threshold=args.threshold, against_solutions=args.against_solutions)
    print(f"wrote {out}/pairs.csv, {out}/project1.html, {out}/project2.html and the heat maps")
    return 0
