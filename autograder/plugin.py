"""The grading suite's pytest plugin: options, the student's workers, feedback and the grade report.

Options: ``--submission PATH`` (a folder laid out like ``assignments/``; default ``assignments``),
``--task ID[,ID…]`` (tasks or prefixes such as ``p2.linear``), ``--visibility public|all``,
``--grade-report FILE`` (JSON written atomically at the end of the session), ``--limit-scale X`` (every time
limit times X), ``--sandbox auto|require|off`` and the caps of :mod:`autograder.sandbox.limits`.

The plugin's state lives in ``config.stash[STATE]``: the sandbox, the submission's time budget, its workers,
each test's result, and the files that did not import (reported once, not once per task).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder import integrity, rubric, seeds
from autograder.expect import GradingFailure
from autograder.record import Benchmark, CaseResult, GradeReport, ImportProblem, Measure, Note, NoteKind, Status
from autograder.sandbox.judge import Budget, GraderError, Sandbox, StudentError, Worker
from autograder.sandbox.limits import add_limit_options, limits_from, task_timeout
from course.files import write_json
from course.project1 import spec as spec1
from course.project2 import spec as spec2

MODULES = {"project1": spec1.MODULES, "project2": spec2.MODULES}
DEFAULT_LIMIT = 20.0  # seconds per call into the student's code, unless the task says otherwise

@dataclass
class GradingState:
    sandbox: Sandbox | None = None
    budget: Budget | None = None
    workers: dict = field(default_factory=dict)
    results: list[CaseResult] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)
    import_errors: dict = field(default_factory=dict)  # (project, file) -> the full message, shown once
    benchmarks: list[Benchmark] = field(default_factory=list)  # the benchmark tasks' figures (autograder/bench.py)
    benchmarks_not_measured: list[Benchmark] = field(default_factory=list)
    integrity_notes: list[Note] = field(default_factory=list)  # autograder/integrity.py: flagged, grade unchanged
    data_seed: int | None = None  # the instructor's seed of the grading pairs, when one was given
    verdicts: dict = field(default_factory=dict)  # project -> integrity.Verdict | None: its points withheld
    started: float = field(default_factory=time.time)


STATE = pytest.StashKey[GradingState]()
MEASURE = pytest.StashKey[Measure]()  # a test's measure (record.Measure): the figure its verdict was decided on


def task(task_id: str, *, timeout: float = DEFAULT_LIMIT):
    """Mark a grading test as grading ``task_id``: the rubric's task, its own marker, and its time limit.

    ``timeout`` bounds each call into the student's code; pytest-timeout backs it up for the whole test.
    """
    if task_id not in rubric.BY_ID:
        raise KeyError(f"task {task_id!r} is not in autograder/rubric.py")
    marker = rubric.BY_ID[task_id].marker

    def decorate(fn):
        fn = pytest.mark.task(task_id, limit=timeout)(fn)
        return getattr(pytest.mark, marker)(fn)

    return decorate


def pytest_addoption(parser):
    group = parser.getgroup("autograder", "dl-miniprojects grading")
    group.addoption("--submission", default=None, help="submission folder laid out like assignments/")
    group.addoption("--task", default=None,
                    help="grade these tasks: ids or prefixes, comma-separated (p2.linear,p1.shapes)")
    group.addoption("--visibility", choices=("public", "all"), default="all",
                    help="public: the tests students see; all: public and hidden (the instructor's grade)")
    group.addoption("--grade-report", default=None, help="write the per-task results as JSON to this file")
    group.addoption("--limit-scale", type=float, default=1.0,
                    help="multiply every time limit (e.g. 2 on a slow machine; default 1)")
    group.addoption("--sandbox", choices=("auto", "require", "off"), default="auto",
                    help="run student code in bubblewrap: auto (where it runs), require (or stop), off")
    group.addoption("--exit-with-parent", type=int, default=None, metavar="PID",
                    help="stop grading (and every worker) once this process's parent is no longer PID")
    group.addoption("--seed", "--data-seed", dest="seed", type=seeds.parse, default=None, metavar="N",
                    help="the grading seed: draws project 1's training and test pairs and the nets' initialisation "
                         "(default: $AUTOGRADER_SEED, else $AUTOGRADER_DATA_SEED, else the kit's public, calibrated "
                         "seed); the instructor's own, never in the student bundle. --seed N replays calibration "
                         "seed N (scripts/calibrate_thresholds.py); --data-seed is its older name")
    group.addoption("--withhold", choices=("integrity", "none"), default="integrity",
                    help="integrity: a project whose files break the rules, or that trips the worker's tripwire, is "
                         "withheld (the default); none: graded anyway (the sandbox's own tests, whose attacks must "
                         "reach the worker)")
    add_limit_options(group.addoption)


def pytest_configure(config):
    config.addinivalue_line("markers", "task(id, limit): the rubric task a test grades (autograder/rubric.py)")
    for t in rubric.TASKS:
        config.addinivalue_line("markers", f"{t.marker}: {t.description}")
    config.stash[STATE] = GradingState()
    if config.getoption("--exit-with-parent", None):
        _watch_parent(config.stash[STATE], config.getoption("--exit-with-parent"))


def _watch_parent(state: GradingState, parent: int) -> None:
    """Stop every worker and exit once the parent process is no longer ``parent`` (the batch command was killed,
    perhaps even before this process got here)."""
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        for worker in list(state.workers.values()):
            worker.kill()  # every process of the submission first, at once
        for worker in list(state.workers.values()):
            worker.stop()
        os._exit(3)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _backstop(config, limit: float) -> float:
    """pytest-timeout's limit for a whole test (:func:`autograder.sandbox.limits.task_timeout`)."""
    return task_timeout(limits_from(lambda name: config.getoption(name)), limit, config.getoption("--limit-scale"))


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(config, items):
    """Keep the selected tasks; then, after every other plugin's ordering (the benchmarks last,
    :mod:`autograder.bench`), the hidden tasks after every public one, so that no public task's feedback can carry
    what a hidden call left in a worker (a stable sort)."""
    wanted = {t.id for t in rubric.select(config.getoption("--task"))}
    if config.getoption("--visibility") == "public":
        wanted -= {t.id for t in rubric.TASKS if t.visibility == "hidden"}
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("task")
        if marker is None:
            raise pytest.UsageError(f"{item.nodeid} has no @task(...) marker; every grading test needs one")
        if marker.args[0] in wanted:
            item.add_marker(pytest.mark.timeout(_backstop(config, marker.kwargs.get("limit", DEFAULT_LIMIT))))
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    config.stash[STATE].selected = sorted(wanted)
    yield
    items.sort(key=_hidden)


def _hidden(item) -> bool:
    marker = item.get_closest_marker("task")
    return marker is not None and rubric.BY_ID[marker.args[0]].visibility == "hidden"


def grading_seed(config) -> int | None:
    """The grading seed that replaces the kit's public one: ``--seed`` (alias ``--data-seed``), else
    ``$AUTOGRADER_SEED``, else ``$AUTOGRADER_DATA_SEED`` (the instructor's, kept out of the student bundle), else
    None. Recorded in the grade report (``data_seed``)."""
    chosen = config.getoption("seed", None)
    if chosen is None:
        try:
            chosen = seeds.from_env()
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[STATE].data_seed = chosen
    return chosen


def data_seed(config, public: int) -> int:
    """The seed project 1's grading pairs are drawn with: the grading seed (:func:`grading_seed`), else ``public``
    (the calibrated seed a student's check uses)."""
    chosen = grading_seed(config)
    return public if chosen is None else chosen


def init_seed(config, public: int) -> int:
    """The seed the nets are initialised with (it reaches the worker): ``public`` under the public seed, else one
    derived from the grading seed by a one-way hash, so that the worker never learns the seed of the pairs.
    :func:`seeds.derived_seed` is how the calibration script replays a grading seed."""
    chosen = grading_seed(config)
    return public if chosen is None else seeds.derived_seed(chosen)


# ------------------------------------------------------------------------------------------------------
# The student's code, behind the wall
# ------------------------------------------------------------------------------------------------------


def submission_root(config) -> Path:
    from course.submission import resolve_root

    return resolve_root(config.getoption("--submission") or os.environ.get("AUTOGRADER_SUBMISSION") or "assignments")


class Project:
    """A project of the submission as a test sees it: ``call(probe, **kwargs)`` within the test's limit."""

    def __init__(self, worker: Worker, root: Path, name: str, limit: float, hidden: bool = False, node=None):
        self.worker, self.root, self.name, self.limit, self.hidden = worker, root, name, limit, hidden
        self.node = node  # the test item: where measure() records its figure

    def measure(self, value: float, threshold: float, *, unit: str = "%", what: str = "test accuracy") -> Measure:
        """Record the judge's figure for this test (shown with its threshold, pass or fail): call it with a figure
        the judge computed itself, before the ``require`` that compares it with the threshold."""
        found = Measure(float(value), float(threshold), unit, what)
        if self.node is not None:
            self.node.stash[MEASURE] = found
        return found

    @property
    def folder(self) -> Path:
        return self.root / self.name

    def call(self, probe: str, **kwargs):
        """``probe(**kwargs)`` in the worker. A worker that served a hidden task serves no public one: it is
        restarted first (the order of the suite makes that rare: the hidden tasks run last)."""
        if self.hidden:
            self.worker.served_hidden = True
        elif self.worker.served_hidden:
            self.worker.stop()
            self.worker.served_hidden = False
        try:
            return self.worker.call(probe, timeout=self.limit, **kwargs)
        except (StudentError, GradingFailure):
            raise
        except BaseException:  # pytest-timeout, Ctrl-C, a grader error: the worker is mid-call, start afresh
            self.worker.stop()
            raise


@pytest.fixture(scope="session")
def _workers(request):
    config = request.config
    state = config.stash[STATE]
    scale = config.getoption("--limit-scale")
    try:
        limits = limits_from(lambda name: config.getoption(name)).scaled(scale)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    state.sandbox = Sandbox.choose(config.getoption("--sandbox"), limits)
    state.budget = Budget(limits.submission_seconds)
    root = submission_root(config)
    for name in ("project1", "project2"):
        shadows = integrity.shadowing(root / name)
        if shadows:
            state.integrity_notes.append(Note(NoteKind.INTEGRITY, integrity.shadowing_note(name, shadows), name))
        if config.getoption("--withhold") == "integrity":
            state.verdicts[name] = integrity.rules_verdict(root / name, name)
    state.workers = {name: Worker(root, name, sandbox=state.sandbox, modules=MODULES[name], budget=state.budget)
                     for name in ("project1", "project2")}
    yield root, state.workers
    for worker in state.workers.values():
        worker.close()  # before the report: what a worker's last moments fired is in its notes


def _project(request, name: str) -> Project:
    """The project's handle for this test; a project whose files break the rules (:mod:`autograder.rules`) runs no
    task but its rule task: the others are withheld (status ``integrity``) before any student code runs."""
    root, workers = request.getfixturevalue("_workers")
    marker = request.node.get_closest_marker("task")
    verdict = request.config.stash[STATE].verdicts.get(name)
    if verdict is None and workers[name].tripped:
        verdict = integrity.tripwire_verdict(name, workers[name].tripped)
    if integrity.withholds(verdict, marker.args[0]):
        raise StudentError(Status.INTEGRITY, verdict.message())
    scale = request.config.getoption("--limit-scale")
    return Project(workers[name], root, name, marker.kwargs.get("limit", DEFAULT_LIMIT) * scale,
                   hidden=rubric.BY_ID[marker.args[0]].visibility == "hidden", node=request.node)


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


def _details(exc: StudentError) -> list[str]:
    lines = []
    if exc.where:
        lines.append(f"  where: {exc.where}")
    for note in exc.notes:
        lines.append(f"  note: {note}")
    if exc.details:
        lines += ["  --- details ---", *("  " + line for line in exc.details.rstrip().splitlines())]
    if exc.output.strip():
        lines += ["  --- your program's last output ---", *("  " + line for line in exc.output.splitlines())]
    return lines


def import_block(exc: StudentError) -> str:
    """The one block that explains a file that does not import (file, line, the line, a caret)."""
    return "\n".join([exc.message, *_details(exc)])


def feedback(task_id: str, exc: BaseException, state: GradingState | None = None, *,
             timed_out: bool = False) -> tuple[Status, str]:
    """(status, text) for a failed test: the task, expected vs received, likely cause, then the details.

    A file that does not import is explained once (kept in ``state.import_errors``); each task it stops gets one
    line. A bonus part the student did not write is "not attempted". ``timed_out``: the test ran past its whole-test
    backstop (pytest-timeout stopped it).
    """
    task_ = rubric.BY_ID[task_id]
    header = f"[{task_id}] {task_.description}"
    if isinstance(exc, StudentError):
        status = exc.status
        if status is Status.NOT_IMPLEMENTED:
            return status, f"{header}\n  not implemented yet{f' ({exc.where})' if exc.where else ''}"
        if status is Status.MISSING and task_.bonus:
            return Status.NOT_ATTEMPTED, f"{header}\n  not attempted: {exc.message}"
        if status is Status.IMPORT:
            file = exc.file or "a file"
            if state is not None:
                state.import_errors.setdefault((task_.project, file), import_block(exc))
            how = "did not finish importing" if exc.limit is not None else "does not import"
            return status, f"[{task_id}] not graded: {file} of {task_.project} {how} (see above)"
        own_words = status in (Status.TIMEOUT, Status.CRASH, Status.MEMORY, Status.PROCESSES, Status.DISK,
                               Status.MISSING)
        first = exc.message if own_words else f"{status.label}: {exc.message}"
        return status, "\n".join([header, f"  {first}", *_details(exc)])
    if isinstance(exc, GradingFailure):
        return Status.FAILED, f"{header}\n" + "\n".join("  " + line for line in exc.render().splitlines())
    if timed_out:
        return Status.TIMEOUT, f"{header}\n  timed out: the test ran past its time limit"
    if isinstance(exc, GraderError):
        return Status.GRADER_ERROR, f"{header}\n  the grader could not run this task: {exc}"
    return Status.GRADER_ERROR, (f"{header}\n  the grader failed on this task ({type(exc).__name__}: {exc}); "
                                 "tell your instructor")


def _timed_out(item, report) -> bool:
    """Whether pytest-timeout's backstop stopped the test: it ran for (about) the backstop's limit."""
    marker = item.get_closest_marker("timeout")
    limit = marker.args[0] if marker is not None and marker.args else None
    return limit is not None and report.duration >= 0.95 * float(limit)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("task")
    if marker is None or report.when == "teardown" and report.passed:
        return
    task_id = marker.args[0]
    state = item.config.stash[STATE]
    if report.when == "call" or report.failed:
        status, text = Status.PASSED, ""
        if report.failed:
            exc = call.excinfo.value if call.excinfo is not None else None
            if exc is not None:
                status, text = feedback(task_id, exc, state, timed_out=_timed_out(item, report))
            else:
                status, text = Status.GRADER_ERROR, str(report.longrepr)
            if isinstance(exc, (StudentError, GradingFailure)):
                report.longrepr = text
            else:
                report.longrepr = f"{text}\n\n{report.longrepr}"
        elif report.skipped:
            status = Status.SKIPPED
        state.results.append(CaseResult(task=task_id, test=item.nodeid, status=status, feedback=text,
                                        seconds=round(report.duration, 2), measure=item.stash.get(MEASURE, None)))


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    path = config.getoption("--grade-report")
    state = config.stash.get(STATE, None)
    if not path or state is None or not state.selected:
        return
    from autograder.report import score

    try:
        root = str(submission_root(config))
    except Exception as exc:  # noqa: BLE001 - the report still gets written
        root = f"unresolved: {exc}"
    verdicts = {name: state.verdicts.get(name) or (integrity.tripwire_verdict(name, worker.tripped)
                                                    if worker.tripped else None)
                for name, worker in state.workers.items()}
    report: GradeReport = score(integrity.withhold_results(state.results, verdicts), state.selected)
    sandbox = state.sandbox
    report.complete = exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    report.submission, report.visibility = root, config.getoption("--visibility")
    report.seconds = round(time.time() - state.started, 1)
    report.import_errors = [ImportProblem(project, file, message)
                            for (project, file), message in sorted(state.import_errors.items())]
    report.sandbox = ("bubblewrap" if sandbox.bwrap else f"student uid (no bubblewrap: {sandbox.reason})"
                      if sandbox.user else f"none ({sandbox.reason})") if sandbox else "not started"
    report.notes = [Note(note.kind, note.text, name)
                    for name, worker in sorted(state.workers.items()) for note in worker.fired]
    report.notes += state.integrity_notes
    report.data_seed = state.data_seed
    report.benchmarks, report.benchmarks_not_measured = list(state.benchmarks), list(state.benchmarks_not_measured)
    write_json(path, report.to_json())
