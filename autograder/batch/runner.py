"""Grading a class: each submission by the real suite (public and hidden tests), in its own grading process with
the sandbox, several at a time — on this machine (``jobs`` at a time) or on a Dask cluster (one Dask task per
submission; the results come back to this side, where the store is).

A grading process that outlives its command (the command was killed) notices its parent is gone and stops, taking
its sandboxed workers with it (``--exit-with-parent``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import autograder
from autograder.batch.digest import grading_digest
from autograder.grading import suite_command
from autograder.record import GradeReport
from autograder.sandbox import procs
from course.handin import open_file, submission_files


@dataclass
class Outcome:
    """What grading one submission gave: its report, or the problem that kept it from finishing."""

    report: GradeReport | None
    problem: str
    seconds: float


class Running:
    """The grading processes in flight on this machine, so that Ctrl-C can stop them all."""

    def __init__(self):
        self.procs: set[subprocess.Popen] = set()

    def kill_all(self) -> None:
        for proc in list(self.procs):
            procs.kill_group(proc)


def grade_folder(root: Path, options: list[str], *, timeout: float, running: Running | None = None) -> Outcome:
    """Grade the submission in ``root`` (every task, hidden ones too) in a fresh grading process."""
    start = time.monotonic()
    root = Path(root).resolve()  # the grading process runs in the kit's folder: a relative path would miss
    with tempfile.TemporaryDirectory(prefix="autograder-grade-") as tmp:
        report_path = Path(tmp) / "report.json"
        command = suite_command(root, report_path, visibility="all",
                                extra=(*options, "--exit-with-parent", str(os.getpid())))
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        proc = procs.start(command, cwd=str(Path(autograder.__file__).resolve().parent.parent), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        if running is not None:
            running.procs.add(proc)
        try:
            output, timed_out = procs.communicate(proc, timeout)
        finally:
            if running is not None:
                running.procs.discard(proc)
        if timed_out:
            return Outcome(None, f"the grader did not finish within {timeout:g} s", time.monotonic() - start)
        seconds = time.monotonic() - start
        try:
            report = GradeReport.from_json(json.loads(report_path.read_text())) if report_path.is_file() else None
        except (ValueError, KeyError, TypeError) as exc:
            return Outcome(None, f"the grading process wrote a report this kit cannot read ({exc})", seconds)
        if report is None or not report.complete:
            tail = "\n".join((output or "").strip().splitlines()[-15:])
            return Outcome(None, f"the grading process stopped before the end (exit status {proc.returncode})"
                                 + (f": {tail}" if tail else ""), seconds)
        return Outcome(report, "", seconds)


def pack(root: Path) -> dict[str, bytes]:
    """The graded files of a submission (:func:`course.handin.submission_files`), as ``{relative path: bytes}``, to
    send to a remote grader."""
    files = {}
    for rel in submission_files(root):
        try:
            with open_file(root, rel) as source:
                files[str(rel)] = source.read()
        except OSError:
            continue  # gone or turned into a link since the listing: not part of the submission
    return files


def grade_files(files: dict[str, bytes], options: list[str], timeout: float, kit: str | None = None) -> dict:
    """Grade a submission sent as :func:`pack` made it (on a Dask worker); return the :class:`Outcome` as a dict.

    ``kit``: the sender's :func:`grading_digest` of ``options``; a worker whose kit or torch differs grades nothing
    (its grades would not be the ones the store records) and says so.
    """
    if kit is not None and grading_digest(options) != kit:
        return {"report": None, "seconds": 0.0, "problem": (
            f"the Dask worker on {socket.gethostname()} runs another version of the kit or of torch than this "
            "machine: install the same commit of the kit (pip install -e .) and torch on every worker, then rerun")}
    tmp = Path(tempfile.mkdtemp(prefix="autograder-remote-"))
    try:
        for rel, data in files.items():
            target = tmp / rel
            if ".." in Path(rel).parts or Path(rel).is_absolute():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        outcome = grade_folder(tmp, options, timeout=timeout)
        report = outcome.report.to_json() if outcome.report is not None else None
        return {"report": report, "problem": outcome.problem, "seconds": outcome.seconds}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
