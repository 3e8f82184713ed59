"""The ``autograder`` command. Each sub-command lives in its own module of :mod:`autograder.commands`, exposing
``add_arguments(parser)`` and ``run(args) -> int``; ``COMMANDS`` lists exactly the ones that exist."""

from __future__ import annotations

import argparse
import importlib
import sys

from course.cli import run_command

COMMANDS = {
    "release": "autograder.commands.release",
    "check": "autograder.commands.check",
    "grade": "autograder.commands.grade",
    "similarity": "autograder.commands.similarity",
    "nbgrader": "autograder.commands.nbgrader",
    "gradescope": "autograder.commands.gradescope",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Release, self-check and grade the mini-projects.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, path in COMMANDS.items():
        module = importlib.import_module(path)
        p = sub.add_parser(name, help=(module.__doc__ or "").strip().split("\n")[0],
                           description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv=None) -> int:
    return run_command("autograder", build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
