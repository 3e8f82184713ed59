"""Self-check: run the public grading tests on a working copy and print the score of every task.

  autograder check                        grade assignments/ (your working copy)
  autograder check path/to/folder         any folder laid out like assignments/ (project1/, project2/)
  autograder check --task p2.linear       one task, every task under a prefix, or several: --task p1.shapes,p2
  autograder check --require-full         exit 1 unless every selected task earns all its points
  autograder check --no-bench             without the benchmark tasks (no points; they time your framework)
  autograder check --seed 1003            grade with another seed (project 1's pairs and nets): replay a calibration
  autograder check --sandbox-info         what isolation and caps are in force here

The suite runs in its own pytest process; your code runs in a third one, inside a sandbox (bubblewrap) where the
machine allows it, so a crash, an endless loop or a syntax error in one project costs that project's tasks only.
The table lists every task; failures come first, each with what was expected, what came back and the likely cause.
"""

from __future__ import annotations

import sys

from autograder import seeds
from autograder.grading import grade, seed_options, suite_options
from course.errors import CourseError
from course.files import write_json
from course.submission import resolve_root


def add_arguments(parser) -> None:
    parser.add_argument("path", nargs="?", default="assignments",
                        help="submission folder holding project1/ and project2/ (default: assignments)")
    parser.add_argument("--task", default=None, help="a task id (p2.linear.backward), a prefix (p2.linear, p1), or "
                        "several, comma-separated")
    parser.add_argument("--all", action="store_true",
                        help="hidden tasks too (instructors; the student bundle has no hidden tests)")
    parser.add_argument("--report", default=None, help="also write the per-task results as JSON to this file")
    parser.add_argument("--require-full", action="store_true",
                        help="exit status 1 unless every selected task earns all its points")
    parser.add_argument("--no-bench", action="store_true",
                        help="skip the benchmark tasks (p2.bench.*: no points, a few seconds of timing)")
    parser.add_argument("--seed", type=seeds.argument, default=None, metavar="N",
                        help="grade with seed N instead of the kit's (project 1's pairs and nets): replays seed N of "
                             "scripts/calibrate_thresholds.py; the report records it")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output as it runs")
    add_sandbox_arguments(parser)
    parser.add_argument("--sandbox-info", action="store_true", help="print the isolation and caps in force, and stop")


def add_sandbox_arguments(parser) -> None:
    """Options every command that runs student code shares: the sandbox switch, the caps, the time scale."""
    from autograder.sandbox.limits import add_limit_options

    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code without bubblewrap (only for code you trust)")
    parser.add_argument("--limit-scale", type=float, default=1.0,
                        help="multiply every time limit (e.g. 2 on a slow machine; default 1)")
    group = parser.add_argument_group("caps per worker (one project of one submission)")
    add_limit_options(group.add_argument)


def limits_of(args):
    """The :class:`~autograder.sandbox.limits.Limits` of parsed options; a bad value is a CourseError."""
    from autograder.sandbox.limits import limits_from

    try:
        return limits_from(lambda name: getattr(args, name))
    except ValueError as exc:
        raise CourseError(str(exc)) from None


def run(args) -> int:
    import importlib.util

    from autograder.report import render

    missing = [name for name in ("pytest", "pytest_timeout") if importlib.util.find_spec(name) is None]
    if missing:
        raise CourseError(f"the grading suite needs {' and '.join(missing)}; reinstall the kit: pip install -e .")
    from autograder.sandbox.judge import Sandbox

    limits = limits_of(args)
    sandbox = Sandbox.choose("off" if args.no_sandbox else "auto", limits)
    if args.sandbox_info:
        print("\n".join(sandbox.describe()))
        return 0
    if sandbox.bwrap is None and not args.no_sandbox:
        print(f"notice: no sandbox here ({sandbox.reason}); your code runs unisolated, with your own permissions",
              file=sys.stderr)

    root = resolve_root(args.path)
    missing = [name for name in ("project1", "project2") if not (root / name).is_dir()]
    if len(missing) == 2:
        raise CourseError(f"{root} holds neither project1/ nor project2/; give the folder that contains them "
                          "(like assignments/)")
    result = grade(root, task=args.task, visibility="all" if args.all else "public", verbose=args.verbose,
                   options=[*suite_options(limits, args.limit_scale, "auto" if sandbox.bwrap else "off"),
                            *seed_options(args.seed)],
                   bench=not args.no_bench)
    print(render(result))
    if args.report:
        write_json(args.report, result.to_json())
    full = all(t.points >= t.max_points for t in result.tasks)
    return 1 if args.require_full and not full else 0
