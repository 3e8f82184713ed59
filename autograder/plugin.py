"""The grading suite's pytest plugin: options, the student's workers, feedback and the grade report.

Options: ``--submission PATH`` (a folder laid out like ``assignments/``; default ``assignments``),
``--task ID`` (one task or a prefix such as ``p2.linear``), ``--visibility public|all``,
``--grade-report FILE`` (JSON written atomically at the end of the session) and ``--limit-scale X``
(every per-task time limit times X).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from autograder import rubric
from autograder.expect import GradingFailure
from autograder.sandbox.judge import StudentError, Worker
from course.files import write_json

CAUSE_BY_KIND = {
    "not_implemented": "not implemented yet",
    "import": "the file does not import",
    "timeout": "timed out",
    "crash": "the Python process died",
    "invalid": "returned something that is not plain data",
    "exception": "your code raised an exception",
}


def task(task_id: str, *, timeout: float = 20.0):
    """Mark a grading test as grading ``task_id``: the rubric's task, its own marker, and its time limit.

    ``timeout`` bounds each call into the student's code; pytest-timeout backs it up for the whole test.
    """
    if task_id not in rubric.BY_ID:
        raise KeyError(f"task {task_id!r} is not in autograder/rubric.py")
    marker = rubric.BY_ID[task_id].marker

    def decorate(fn):
        fn = pytest.mark.task(task_id, limit=timeout)(fn)
        fn = getattr(pytest.mark, marker)(fn)
        return pytest.mark.timeout(timeout * 3 + 30)(fn)

    return decorate


def pytest_addoption(parser):
    group = parser.getgroup("autograder", "dl-miniprojects grading")
    group.addoption("--submission", default=None, help="submission folder laid out like assignments/")
    group.addoption("--task", default=None, help="grade one task, or every task under a prefix (p2.linear)")
    group.addoption("--visibility", choices=("public", "all"), default="all",
                    help="public: the tests students see; all: public and hidden (the instructor's grade)")
    group.addoption("--grade-report", default=None, help="write the per-task results as JSON to this file")
    group.addoption("--limit-scale", type=float, default=1.0,
                    help="multiply every task's time limit (e.g. 2 on a slow machine; default 1)")


def pytest_configure(config):
    config.addinivalue_line("markers", "task(id, limit): the rubric task a test grades (autograder/rubric.py)")
    for t in rubric.TASKS:
        config.addinivalue_line("markers", f"{t.marker}: {t.description}")
    config._grade_results = []
    config._grade_started = time.time()


def pytest_collection_modifyitems(config, items):
    wanted = {t.id for t in rubric.select(config.getoption("--task"))}
    if config.getoption("--visibility") == "public":
        wanted -= {t.id for t in rubric.TASKS if t.visibility == "hidden"}
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("task")
        if marker is None:
            raise pytest.UsageError(f"{item.nodeid} has no @task(...) marker; every grading test needs one")
        (keep if marker.args[0] in wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    config._grade_selected = sorted(wanted)


# ------------------------------------------------------------------------------------------------------
# The student's code, behind the wall
# ------------------------------------------------------------------------------------------------------


def submission_root(config) -> Path:
    from course.submission import resolve_root

    return resolve_root(config.getoption("--submission") or os.environ.get("AUTOGRADER_SUBMISSION") or "assignments")


class Project:
    """A project of the submission as a test sees it: ``call(probe, **kwargs)`` within the test's limit."""

    def __init__(self, worker: Worker, root: Path, name: str, limit: float):
        self.worker, self.root, self.name, self.limit = worker, root, name, limit

    @property
    def folder(self) -> Path:
        return self.root / self.name

    def call(self, probe: str, **kwargs):
        return self.worker.call(probe, timeout=self.limit, **kwargs)


@pytest.fixture(scope="session")
def _workers(request):
    root = submission_root(request.config)
    workers = {name: Worker(root, name) for name in ("project1", "project2")}
    yield root, workers
    for worker in workers.values():
        worker.close()


def _project(request, name: str) -> Project:
    root, workers = request.getfixturevalue("_workers")
    marker = request.node.get_closest_marker("task")
    scale = request.config.getoption("--limit-scale")
    return Project(workers[name], root, name, marker.kwargs.get("limit", 20.0) * scale)


@pytest.fixture
def p1(request) -> Project:
    """Project 1 of the submission (digit pairs)."""
    return _project(request, "project1")


@pytest.fixture
def p2(request) -> Project:
    """Project 2 of the submission (the framework)."""
    return _project(request, "project2")


# ------------------------------------------------------------------------------------------------------
# Feedback
# ------------------------------------------------------------------------------------------------------


def feedback(task_id: str, exc: BaseException) -> tuple[str, str]:
    """(status, text) for a failed test: the task, expected vs received, likely cause, then the details."""
    header = f"[{task_id}] {rubric.BY_ID[task_id].description}"
    if isinstance(exc, StudentError):
        status = "not implemented" if exc.kind == "not_implemented" else CAUSE_BY_KIND.get(exc.kind, "error")
        if exc.kind == "not_implemented":
            return status, f"{header}\n  not implemented yet{f' ({exc.where})' if exc.where else ''}"
        lines = [header, f"  {CAUSE_BY_KIND.get(exc.kind, 'error')}: {exc.message}"]
        if exc.where:
            lines.append(f"  where: {exc.where}")
        if exc.details:
            lines += ["  --- details ---", *("  " + line for line in exc.details.rstrip().splitlines())]
        if exc.output.strip():
            lines += ["  --- your program's last output ---", *("  " + line for line in exc.output.splitlines())]
        return status, "\n".join(lines)
    if isinstance(exc, GradingFailure):
        return "failed", f"{header}\n" + "\n".join("  " + line for line in exc.render().splitlines())
    if "Timeout" in type(exc).__name__ or "Timeout" in str(exc)[:40]:
        return "timed out", f"{header}\n  timed out: the test ran past its time limit"
    return "error", f"{header}\n  the grader failed on this task ({type(exc).__name__}: {exc}); tell your instructor"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("task")
    if marker is None or report.when == "teardown" and report.passed:
        return
    task_id = marker.args[0]
    if report.when == "call" or report.failed:
        status, text = "passed", ""
        if report.failed:
            exc = call.excinfo.value if call.excinfo is not None else None
            status, text = feedback(task_id, exc) if exc is not None else ("error", str(report.longrepr))
            if isinstance(exc, (StudentError, GradingFailure)):
                report.longrepr = text
            else:
                report.longrepr = f"{text}\n\n{report.longrepr}"
        elif report.skipped:
            status = "skipped"
        item.config._grade_results.append({"task": task_id, "test": item.nodeid, "status": status,
                                           "feedback": text, "seconds": round(report.duration, 2)})


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    path = config.getoption("--grade-report")
    if not path or not hasattr(config, "_grade_selected"):
        return
    from autograder.report import score

    try:
        root = str(submission_root(config))
    except Exception as exc:  # noqa: BLE001 - the report still gets written
        root = f"unresolved: {exc}"
    result = score(config._grade_results, config._grade_selected)
    result.update({"submission": root, "visibility": config.getoption("--visibility"),
                   "seconds": round(time.time() - config._grade_started, 1)})
    result.update(_benchmark_fields(config))
    write_json(path, result)


def _benchmark_fields(config) -> dict:
    """The student benchmarks' figures for the report (autograder/bench.py; empty when its plugin is not loaded)."""
    if not config.pluginmanager.has_plugin("autograder.bench"):
        return {"benchmarks": [], "benchmarks_not_measured": []}
    from autograder.bench import report_fields

    return report_fields(config)
