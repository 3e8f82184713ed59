"""The grading record: the typed facts that cross modules — a case's status, a task's result, a benchmark figure,
a note, one submission's grade report, and the JSON it is stored as.

Every module that reads a grade reads it through these types: statuses are an enum with an explicit severity (a
task's status is its most severe case's), flags are derived from statuses and note kinds (never from text), and the
JSON carries ``"schema": SCHEMA`` so that an old report is migrated or refused, never misread.

This module imports nothing of the kit: the judge, the plugin, the batch store and the outputs all depend on it.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = 2  # the version of the report JSON written by GradeReport.to_json (2: tasks carry their measure)
READS = (0, 1, 2)  # the schemas GradeReport.from_json reads (0 migrated; 1 is 2 without measures)


class SchemaError(ValueError):
    """A stored report (or store) written by another version of the kit, which this version cannot read."""


class Flag(enum.Enum):
    """Why a course team should look at a submission. The order is the order they are listed in."""

    UNUSABLE = "unusable"
    GRADER_ERROR = "grader_error"
    # several entries of the class folder read as the same id (case, width, spaces, an archive beside a folder):
    # all kept under distinct keys (autograder/batch/intake.py: assign_ids), each row flagged for the instructor
    SAME_ID = "same_id"
    INTEGRITY = "integrity"
    RULE_VIOLATION = "rule_violation"
    IMPORT_ERROR = "import_error"
    TIMEOUT = "timeout"
    CRASH = "crash"
    MEMORY_CAP = "memory_cap"
    PROCESS_CAP = "process_cap"
    DISK_CAP = "disk_cap"
    OUTPUT_CUT = "output_cut"
    NOTEBOOK = "notebook"


class Status(enum.Enum):
    """The outcome of one case (a test) or one task: a stable code (the enum's value, stored in JSON), the label
    students read, a severity (a task's status is the most severe of its cases'), and the flag it raises.

    The severities order what a course team must know first: a grader failure above everything (the grade is not
    trustworthy), then the caps and crashes (the code never finished), then the code's own failures, then the
    quiet statuses of work not done yet.
    """

    PASSED = ("passed", "passed", 0)
    SKIPPED = ("skipped", "skipped", 1)
    NOT_RUN = ("not_run", "not run", 2)
    NOT_ATTEMPTED = ("not_attempted", "not attempted", 3)
    NOT_IMPLEMENTED = ("not_implemented", "not implemented", 4)
    FAILED = ("failed", "failed", 10)
    MISSING = ("missing", "missing", 11)
    INVALID = ("invalid", "returned something that is not plain data", 12)
    EXCEPTION = ("exception", "your code raised an exception", 13)
    IMPORT = ("import", "the file does not import", 20, Flag.IMPORT_ERROR)
    TIMEOUT = ("timeout", "timed out", 30, Flag.TIMEOUT)
    PROCESSES = ("processes", "too many processes", 31, Flag.PROCESS_CAP)
    DISK = ("disk", "ran out of disk", 32, Flag.DISK_CAP)
    MEMORY = ("memory", "ran out of memory", 33, Flag.MEMORY_CAP)
    CRASH = ("crash", "the Python process died", 34, Flag.CRASH)
    # the grade cannot be trusted as the code earned it (a rule of autograder/rules.py broken, or the worker's
    # tripwire fired): points withheld for the instructor's review (autograder/integrity.py)
    INTEGRITY = ("integrity", "withheld for review (integrity)", 40, Flag.INTEGRITY)
    GRADER_ERROR = ("grader_error", "grader error", 50, Flag.GRADER_ERROR)

    def __new__(cls, code: str, label: str, severity: int, flag: Flag | None = None):
        member = object.__new__(cls)
        member._value_ = code
        member.label, member.severity, member.flag = label, severity, flag
        return member

    label: str
    severity: int
    flag: Flag | None

    def __lt__(self, other: Status) -> bool:
        if not isinstance(other, Status):
            return NotImplemented
        return self.severity < other.severity

    @property
    def code(self) -> str:
        return self._value_

    @property
    def quiet(self) -> bool:
        """Needs no feedback block: passed, or work not done yet (a stub, a bonus not attempted, a task not run)."""
        return self in (Status.PASSED, Status.SKIPPED, Status.NOT_RUN, Status.NOT_ATTEMPTED, Status.NOT_IMPLEMENTED)

    @property
    def symbol(self) -> str:
        return {Status.PASSED: "✔", Status.NOT_IMPLEMENTED: "·", Status.NOT_ATTEMPTED: "·",
                Status.NOT_RUN: "-"}.get(self, "✘")

    @classmethod
    def of(cls, code: str) -> Status:
        """The member whose code is ``code`` (``Status(code)`` does this at run time, but the custom ``__new__``
        makes type checkers read that call as a construction); an unknown code raises ValueError as it would."""
        try:
            return cls._value2member_map_[code]  # type: ignore[return-value]
        except KeyError:
            raise ValueError(f"{code!r} is not a valid {cls.__name__}") from None

    @classmethod
    def worst(cls, statuses) -> Status:
        """The most severe of ``statuses`` (PASSED for none)."""
        return max(statuses, default=cls.PASSED)

    @classmethod
    def from_worker(cls, code: str) -> Status:
        """The status a worker's error reply names. The worker runs student code, so its word is trusted only for
        the student's own failures: anything else (an unknown code, a grader error) reads as an exception."""
        try:
            status = cls.of(code)
        except ValueError:
            return cls.EXCEPTION
        return status if status in WORKER_STATUSES else cls.EXCEPTION

    @classmethod
    def from_label(cls, label: str) -> Status:
        """A status from its label (reports of schema 0 stored labels); an unknown label is a grader error."""
        return _BY_LABEL.get(label, {"error": cls.GRADER_ERROR}.get(label, cls.GRADER_ERROR))


WORKER_STATUSES = frozenset({Status.NOT_IMPLEMENTED, Status.MISSING, Status.IMPORT, Status.EXCEPTION, Status.INVALID,
                             Status.MEMORY, Status.PROCESSES, Status.DISK})
_BY_LABEL = {s.label: s for s in Status}


class NoteKind(enum.Enum):
    """A cap that fired while the worker ran (the report's ``notes``), with the flag it raises."""

    MEMORY = ("memory", Flag.MEMORY_CAP)
    PROCESSES = ("processes", Flag.PROCESS_CAP)
    DISK = ("disk", Flag.DISK_CAP)
    OUTPUT = ("output", Flag.OUTPUT_CUT)
    INTEGRITY = ("integrity", Flag.INTEGRITY)  # the submission ships something the grader ignores (a kit package)

    def __new__(cls, code: str, flag: Flag):
        member = object.__new__(cls)
        member._value_ = code
        member.flag = flag
        return member

    flag: Flag

    @classmethod
    def of(cls, code: str) -> NoteKind:
        """The member whose code is ``code`` (the value lookup ``NoteKind(code)`` makes, typed: see Status.of)."""
        try:
            return cls._value2member_map_[code]  # type: ignore[return-value]
        except KeyError:
            raise ValueError(f"{code!r} is not a valid {cls.__name__}") from None


@dataclass(frozen=True)
class Note:
    """A cap that fired for a project's worker: what it was and the sentence that says so."""

    kind: NoteKind
    text: str
    project: str = ""

    def __str__(self) -> str:
        return f"{self.project}: {self.text}" if self.project else self.text


NEAR_MISS = 0.03  # a measure within 3 points of its threshold (either side) is a near miss: luck may have decided it


@dataclass(frozen=True)
class Measure:
    """The figure a task's verdict was decided on, and its threshold: the judge's own measurement (an accuracy of
    the student's net on the test pairs, as a fraction), never a number the student's code reported.

    ``margin`` is ``value - threshold`` (negative: below it); a ``near_miss`` is within :data:`NEAR_MISS` of it,
    passed or failed, so that a student learns a verdict was close. ``unit`` is how the figures read: ``"%"``
    shows fractions as percentages and the margin in points."""

    value: float
    threshold: float
    unit: str = "%"
    what: str = "test accuracy"

    @property
    def margin(self) -> float:
        return self.value - self.threshold

    @property
    def near_miss(self) -> bool:
        return abs(self.margin) < NEAR_MISS

    @property
    def passed(self) -> bool:
        return self.value >= self.threshold

    def show(self, x: float) -> str:
        return f"{100 * x:.1f}%" if self.unit == "%" else f"{x:.4g}{self.unit}"

    def text(self) -> str:
        """One line: the figure, the threshold, the margin, and a warning on a near miss."""
        points = f"{100 * self.margin:+.1f} points" if self.unit == "%" else f"{self.margin:+.4g}{self.unit}"
        line = f"{self.what} {self.show(self.value)} (threshold {self.show(self.threshold)}, margin {points})"
        if self.near_miss:
            line += (" - near miss: passed by less than 3 points, another seed may fail it" if self.passed else
                     " - near miss: less than 3 points short")
        return line

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Measure | None:
        return None if data is None else cls(float(data["value"]), float(data["threshold"]),
                                             str(data.get("unit", "%")), str(data.get("what", "test accuracy")))


class _Measured:
    """The margin and near miss of a result's measure (none without one)."""

    measure: Measure | None

    @property
    def margin(self) -> float | None:
        return None if self.measure is None else self.measure.margin

    @property
    def near_miss(self) -> bool:
        return self.measure is not None and self.measure.near_miss


@dataclass
class CaseResult(_Measured):
    """One grading test's outcome (a task has one or more cases), with the judge's measure if it has one."""

    task: str
    test: str
    status: Status
    feedback: str = ""
    seconds: float = 0.0
    measure: Measure | None = None


@dataclass
class TaskResult(_Measured):
    """A task's points and status over its cases."""

    task: str
    points: float
    max_points: float
    bonus: bool
    visibility: str
    status: Status
    description: str
    cases: int
    passed: int
    feedback: str = ""
    measure: Measure | None = None  # the case's measure closest to (or furthest below) its threshold

    @property
    def points_lost(self) -> float:
        return round(self.max_points - self.points, 2)


@dataclass
class Benchmark:
    """A benchmark task's figure (no points), or why it was not measured (``ratio`` None, ``reason`` set)."""

    task: str
    name: str
    device: str
    feedback: str
    ratio: float | None = None
    student_median_s: float | None = None
    torch_median_s: float | None = None
    rounds: int | None = None
    student_iqr_s: float | None = None
    torch_iqr_s: float | None = None
    timer: str = ""
    reason: str = ""

    @property
    def measured(self) -> bool:
        return self.ratio is not None


@dataclass
class ImportProblem:
    """A file of a project that does not import, explained once."""

    project: str
    file: str
    message: str


@dataclass
class NotebookGrade:
    """A notebook's points from nbgrader, when a class is graded with ``--nbgrader``."""

    score: float = 0.0
    max_score: float = 0.0
    needs_manual_grade: bool = False
    flags: list[str] = field(default_factory=list)
    graded: bool = True  # False: the notebook could not be autograded (its flags say why)
    cells: list[dict[str, Any]] = field(default_factory=list)  # each graded cell's scores, from the gradebook
    # what the submission did to the grading of its notebook (a package named like the kit's, a forged capture):
    # each is also a sentence in flags, and raises Flag.INTEGRITY
    integrity: list[str] = field(default_factory=list)

    def update(self, found: dict[str, Any]) -> None:
        """Take the gradebook's figures (``score``, ``max_score``, ``needs_manual_grade``, ``cells``)."""
        for key in ("score", "max_score", "needs_manual_grade", "cells"):
            if key in found:
                setattr(self, key, found[key])


@dataclass
class GradeReport:
    """One submission's grade: the tasks, the totals, and what happened on the way."""

    score: float
    max_score: float
    bonus: float
    max_bonus: float
    tasks: list[TaskResult]
    complete: bool = True
    submission: str = ""
    visibility: str = "all"
    seconds: float | None = None
    import_errors: list[ImportProblem] = field(default_factory=list)
    sandbox: str = ""
    notes: list[Note] = field(default_factory=list)
    benchmarks: list[Benchmark] = field(default_factory=list)
    benchmarks_not_measured: list[Benchmark] = field(default_factory=list)
    notebooks: dict[str, NotebookGrade] = field(default_factory=dict)
    # the grading seed (--seed, alias --data-seed; $AUTOGRADER_SEED or $AUTOGRADER_DATA_SEED) that replaced the
    # kit's public one for project 1's pairs and nets (None: the public, calibrated seed)
    data_seed: int | None = None

    @property
    def total(self) -> float:
        return round(self.score + self.bonus, 2)

    def task(self, task_id: str) -> TaskResult | None:
        return next((t for t in self.tasks if t.task == task_id), None)

    @property
    def grader_failed(self) -> bool:
        """The grader itself failed on some task (or did not finish): this grade must not be trusted as it is."""
        return not self.complete or any(t.status is Status.GRADER_ERROR for t in self.tasks)

    def flags(self) -> list[Flag]:
        """Every flag the report raises, in :class:`Flag` order: statuses, notes, rules, notebooks."""
        found = {t.status.flag for t in self.tasks if t.status.flag is not None}
        found |= {note.kind.flag for note in self.notes}
        if self.import_errors:
            found.add(Flag.IMPORT_ERROR)
        if any(t.task.endswith(".rules") and t.status is Status.FAILED for t in self.tasks):
            found.add(Flag.RULE_VIOLATION)
        if any(nb.flags for nb in self.notebooks.values()):
            found.add(Flag.NOTEBOOK)
        if any(nb.integrity for nb in self.notebooks.values()):
            found.add(Flag.INTEGRITY)
        if self.grader_failed:
            found.add(Flag.GRADER_ERROR)
        return [f for f in Flag if f in found]

    # ------------------------------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = SCHEMA
        for task in data["tasks"]:
            task["status"] = task["status"].code
        data["notes"] = [{"kind": n.kind.value, "text": n.text, "project": n.project} for n in self.notes]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GradeReport:
        """A report from its JSON; a report of schema 0 (status labels, notes as sentences) is migrated."""
        version = data.get("schema", 0)
        if version == 0:
            data = migrate_v0(data)
        elif version not in READS:
            raise SchemaError(f"this grade report has schema {version}, and this kit reads schema {SCHEMA} (and "
                              "migrates 0 and 1): grade again with this kit (autograder grade ... --regrade), or use "
                              "the kit that wrote it")
        tasks = [TaskResult(**{**t, "status": Status.of(t["status"]), "measure": Measure.from_json(t.get("measure"))})
                 for t in data.get("tasks", [])]
        return cls(
            score=data["score"], max_score=data["max_score"], bonus=data.get("bonus", 0.0),
            max_bonus=data.get("max_bonus", 0.0), tasks=tasks, complete=data.get("complete", True),
            submission=data.get("submission", ""), visibility=data.get("visibility", "all"),
            seconds=data.get("seconds"),
            import_errors=[ImportProblem(**e) for e in data.get("import_errors", [])],
            sandbox=data.get("sandbox", ""),
            notes=[Note(NoteKind.of(n["kind"]), n["text"], n.get("project", "")) for n in data.get("notes", [])],
            benchmarks=[Benchmark(**b) for b in data.get("benchmarks", [])],
            benchmarks_not_measured=[Benchmark(**b) for b in data.get("benchmarks_not_measured", [])],
            notebooks={p: NotebookGrade(**nb) for p, nb in (data.get("notebooks") or {}).items()},
            data_seed=data.get("data_seed"),
        )


# ---------------------------------------------------------------------------------------------- schema 0

_V0_NOTES = (("printed more than", NoteKind.OUTPUT), ("ran out of memory", NoteKind.MEMORY),
             ("too many processes", NoteKind.PROCESSES), ("ran out of disk", NoteKind.DISK))
_BENCH_FIELDS = set(Benchmark.__dataclass_fields__)


def migrate_v0(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-0 report (written before the typed record: statuses as labels, notes as "project: sentence") as
    schema 1. The only place that reads the old sentences, once, when an old store is opened."""
    data = dict(data)
    tasks = []
    for t in data.get("tasks", []):
        t = dict(t)
        t["status"] = Status.from_label(t.get("status", "")).code
        tasks.append(t)
    data["tasks"] = tasks
    notes = []
    for text in data.get("notes", []):
        project, _, sentence = str(text).partition(": ")
        kind = next((k for prefix, k in _V0_NOTES if sentence.startswith(prefix)), NoteKind.OUTPUT)
        notes.append({"kind": kind.value, "text": sentence, "project": project})
    data["notes"] = notes
    for key in ("benchmarks", "benchmarks_not_measured"):
        data[key] = [{k: v for k, v in b.items() if k in _BENCH_FIELDS} for b in data.get(key, [])]
    data["schema"] = SCHEMA
    return data
