"""Self-check: run the public grading tests on a working copy and print the score of every task.

  autograder check                        grade assignments/ (your working copy)
  autograder check path/to/folder         any folder laid out like assignments/ (project1/, project2/)
  autograder check --task p2.linear       one task, or every task under a prefix
  autograder check --require-full         exit 1 unless every selected task earns all its points
  autograder check --no-bench             without the benchmark tasks (no points; they time your framework)

The suite runs in its own pytest process; your code runs in a third one, so a crash, an endless loop or a
syntax error in one project costs that project's tasks only. The table lists every task; failures come first,
each with what was expected, what came back and the likely cause.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from course.errors import CourseError
from course.files import write_json
from course.submission import resolve_root

SUITE = Path(__file__).resolve().parent.parent / "suite"
KIT = SUITE.parent.parent


def add_arguments(parser) -> None:
    parser.add_argument("path", nargs="?", default="assignments",
                        help="submission folder holding project1/ and project2/ (default: assignments)")
    parser.add_argument("--task", default=None, help="a task id (p2.linear.backward) or a prefix (p2.linear, p1)")
    parser.add_argument("--all", action="store_true",
                        help="hidden tasks too (instructors; the student bundle has no hidden tests)")
    parser.add_argument("--report", default=None, help="also write the per-task results as JSON to this file")
    parser.add_argument("--require-full", action="store_true",
                        help="exit status 1 unless every selected task earns all its points")
    parser.add_argument("--no-bench", action="store_true",
                        help="skip the benchmark tasks (p2.bench.*: no points, a few seconds of timing)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output as it runs")


def run_suite(root: Path, report: Path, *, task: str | None = None, visibility: str = "public",
              verbose: bool = False, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run the grading suite on ``root`` in a fresh pytest process; the results land in ``report`` (JSON)."""
    command = [sys.executable, "-m", "pytest", str(SUITE), "--submission", str(root), "--visibility", visibility,
               "--grade-report", str(report), "-p", "no:cacheprovider", "-o", "addopts=", "-q",
               "--tb=no" if not verbose else "--tb=short", "-rN" if not verbose else "-ra", *extra]
    if task:
        command += ["--task", task]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(command, cwd=str(KIT), env=env, text=True,
                          stdout=None if verbose else subprocess.PIPE, stderr=subprocess.STDOUT)


def grade(root: Path, *, task=None, visibility="public", verbose=False, bench=True) -> dict:
    """The report (``autograder.report.score`` plus timing) of one submission; raises CourseError on failure."""
    from autograder import rubric

    if task and not rubric.select(task):
        raise CourseError(f"--task {task!r} matches no task; the ids are listed by `python -m autograder.rubric`")
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        report = Path(tmp) / "report.json"
        proc = run_suite(root, report, task=task, visibility=visibility, verbose=verbose,
                         extra=() if bench else ("-m", "not bench"))
        if not report.is_file():
            tail = "\n".join((proc.stdout or "").strip().splitlines()[-25:])
            raise CourseError(f"the grading suite stopped before it could score {root} (pytest exit status "
                              f"{proc.returncode}). Its last output:\n{tail}")
        return json.loads(report.read_text())


def run(args) -> int:
    import importlib.util

    from autograder.report import render

    missing = [name for name in ("pytest", "pytest_timeout") if importlib.util.find_spec(name) is None]
    if missing:
        raise CourseError(f"the grading suite needs {' and '.join(missing)}; reinstall the kit: pip install -e .")

    root = resolve_root(args.path)
    missing = [name for name in ("project1", "project2") if not (root / name).is_dir()]
    if len(missing) == 2:
        raise CourseError(f"{root} holds neither project1/ nor project2/; give the folder that contains them "
                          "(like assignments/)")
    result = grade(root, task=args.task, visibility="all" if args.all else "public", verbose=args.verbose,
                   bench=not args.no_bench)
    print(render(result))
    if args.report:
        write_json(args.report, result)
    full = all(t["points"] >= t["max_points"] for t in result["tasks"])
    return 1 if args.require_full and not full else 0
