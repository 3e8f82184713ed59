"""Grading one submission: the grading suite (``autograder/suite/``) in a fresh pytest process, the judge, whose
results land in a JSON report. ``autograder check`` and the class grader (:mod:`autograder.batch.runner`) both
start it through :func:`suite_command`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder import seeds
from autograder.record import GradeReport
from course.errors import CourseError

SUITE = Path(__file__).resolve().parent / "suite"
KIT = SUITE.parent.parent


def suite_options(limits, limit_scale: float, sandbox: str) -> list[str]:
    """The pytest options that carry the sandbox mode, the caps (:class:`~autograder.sandbox.limits.Limits`) and the
    time scale to the grading process."""
    return ["--sandbox", sandbox, "--limit-scale", f"{limit_scale:g}", *limits.as_args()]


def seed_options(seed: int | None) -> list[str]:
    """``--seed N`` for the grading process: ``seed``, else ``$AUTOGRADER_SEED``, else ``$AUTOGRADER_DATA_SEED``;
    none without any (the kit's public seed). Passed explicitly, so that the seed enters the class's grading digest
    (a regrade under another seed is no cache hit) and reaches every grading process, Dask workers included."""
    if seed is None:
        try:
            seed = seeds.from_env()
        except ValueError as exc:
            raise CourseError(f"{exc} (the grading seed)") from None
    return [] if seed is None else ["--seed", str(seed)]


def suite_command(root: Path, report: Path, *, task: str | None = None, visibility: str = "public",
                  verbose: bool = False, extra=()) -> list[str]:
    """The command line of a grading process on ``root`` whose results land in ``report`` (JSON)."""
    command = [sys.executable, "-m", "pytest", str(SUITE), "--submission", str(root), "--visibility", visibility,
               "--grade-report", str(report), "-p", "no:cacheprovider", "-o", "addopts=", "-q",
               "--tb=no" if not verbose else "--tb=short", "-rN" if not verbose else "-ra", *extra]
    if task:
        command += ["--task", task]
    return command


def run_suite(root: Path, report: Path, *, task: str | None = None, visibility: str = "public",
              verbose: bool = False, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run the grading suite on ``root`` in a fresh pytest process; the results land in ``report`` (JSON)."""
    command = suite_command(root, report, task=task, visibility=visibility, verbose=verbose, extra=extra)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(command, cwd=str(KIT), env=env, text=True,
                          stdout=None if verbose else subprocess.PIPE, stderr=subprocess.STDOUT)


def grade(root: Path, *, task=None, visibility="public", verbose=False, options=(), bench=True) -> GradeReport:
    """The report (``autograder.report.score`` plus timing) of one submission; raises CourseError on failure.

    ``options`` are further pytest options for the grading process (:func:`suite_options`); ``bench=False`` leaves
    the benchmark tasks out.
    """
    from autograder import rubric

    if task and not rubric.select(task):
        raise CourseError(f"--task {task!r} matches no task; the ids are listed by `python -m autograder.rubric`")
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        report = Path(tmp) / "report.json"
        proc = run_suite(root, report, task=task, visibility=visibility, verbose=verbose,
                         extra=(*options, *(() if bench else ("-m", "not bench"))))
        if not report.is_file():
            tail = "\n".join((proc.stdout or "").strip().splitlines()[-25:])
            raise CourseError(f"the grading suite stopped before it could score {root} (pytest exit status "
                              f"{proc.returncode}). Its last output:\n{tail}")
        return GradeReport.from_json(json.loads(report.read_text()))
