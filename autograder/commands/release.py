"""Build the student release from the reference solutions (solutions/ -> assignments/, and the student bundle).

Every ``.py`` file and notebook goes through nbgrader's own preprocessors (solution regions stubbed, hidden-test
regions deleted); the release is deterministic and atomic, and never silently shrinks its destination
(:mod:`autograder.release` says how).

  autograder release                      solutions/ -> assignments/ (paths relative to the kit root)
  autograder release --check              exit 1 when assignments/ differs from a fresh release; writes nothing
  autograder release --bundle student/    also build exactly what a student receives into student/
  autograder release --source S --force   replace the destination even if S holds fewer projects than it
"""

from __future__ import annotations

import argparse
from pathlib import Path

from course.submission import KIT_ROOT


def _kit_path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else KIT_ROOT / path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default="solutions",
                        help="annotated reference solutions (default: solutions, relative to the kit root)")
    parser.add_argument("--dest", default="assignments",
                        help="student skeletons to (re)write (default: assignments, relative to the kit root)")
    parser.add_argument("--bundle", metavar="DIR", default=None,
                        help="also build the student bundle into DIR (replaced): course/, assignments/, the public "
                             "grading tests, the handouts (docs/), pyproject.toml, README.md, tox.ini, .gitignore "
                             "(relative to the current folder)")
    parser.add_argument("--check", action="store_true",
                        help="only compare --dest with a fresh release; exit 1 when they differ")
    parser.add_argument("--force", action="store_true",
                        help="replace --dest (and the bundle) even when the source holds fewer projects than it")


def run(args) -> int:
    import importlib.util

    from autograder import release

    if importlib.util.find_spec("nbgrader") is None:
        raise release.ReleaseError("autograder release needs nbgrader, an instructor tool: install the kit with its "
                                   "dev extras, pip install -e \".[dev]\"")
    source, dest = _kit_path(args.source), _kit_path(args.dest)
    if args.check:
        diff = release.diff_release(source, dest)
        if diff:
            print(f"{dest} differs from a fresh release of {source}:\n  " + "\n  ".join(diff)
                  + "\nrun `autograder release` to regenerate it")
            return 1
        print(f"{dest} is up to date with {source}")
        return 0
    bundle = Path(args.bundle).expanduser().resolve() if args.bundle else None
    if bundle is not None:  # refuse before writing anything
        release.check_bundle(source, bundle, force=args.force)
    count = release.release(source, dest, force=args.force)
    print(f"released {count} files: {source} -> {dest}")
    if bundle is not None:
        count = release.build_bundle(bundle, source, force=args.force)
        print(f"bundled {count} files for students into {bundle}")
    return 0
