"""Grades changed by hand (``--overrides overrides.csv``), applied after every grading so that they survive a
regrade: ``student,task,points,reason,who,when``.

* ``task`` is a task id (``p1.shapes``) or ``total``;
* ``points`` is the new figure (``4``) or an adjustment (``+2``, ``-3``);
* a task's override corrects the grading: it changes that task's points (kept within 0 and the task's maximum),
  before the late penalty; a ``total`` override sets or adjusts the final total, after the late penalty;
* several rows for the same student apply in the file's order.
"""

from __future__ import annotations

import copy
import csv
from dataclasses import dataclass
from pathlib import Path

from autograder import rubric
from autograder.record import GradeReport
from course.errors import CourseError

COLUMNS = ("student", "task", "points", "reason", "who", "when")
TOTAL = "total"


@dataclass(frozen=True)
class Override:
    student: str
    task: str            # a task id, or "total"
    value: float
    relative: bool       # "+2"/"-3" (True) or a new figure (False)
    reason: str = ""
    who: str = ""
    when: str = ""
    line: int = 0

    def text(self) -> str:
        change = f"{self.value:+g}" if self.relative else f"set to {self.value:g}"
        by = ", ".join(x for x in (self.who, self.when) if x)
        return f"{self.task}: {change} — {self.reason or 'no reason given'}" + (f" ({by})" if by else "")

    def applied(self, before: float, low: float, high: float | None) -> float:
        after = before + self.value if self.relative else self.value
        return round(max(low, min(after, high)) if high is not None else max(low, after), 2)


def load(path: str | Path) -> list[Override]:
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CourseError(f"{path} does not exist; give --overrides a CSV with the columns "
                          f"{','.join(COLUMNS)}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("student", "task", "points") if c not in header]
    if missing:
        raise CourseError(f"{path}: no {', '.join(missing)} column (found: {', '.join(header) or 'nothing'}); "
                          f"the columns are {','.join(COLUMNS)}")
    found = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        student, task, points = row["student"], row["task"], row["points"].replace(" ", "")
        if not student:
            raise CourseError(f"{path}, line {line}: empty student")
        if task != TOTAL and task not in rubric.BY_ID:
            raise CourseError(f"{path}, line {line}: task {task!r} is not a task id or 'total'; "
                              "`python -m autograder.rubric` lists the ids")
        try:
            value = float(points)
        except ValueError:
            raise CourseError(f"{path}, line {line}: points {row['points']!r} is not a number (4) or an "
                              "adjustment (+2, -3)") from None
        found.append(Override(student, task, value, points.startswith(("+", "-")), row.get("reason", ""),
                              row.get("who", ""), row.get("when", ""), line))
    return found


def apply_tasks(report: GradeReport, overrides: list[Override]) -> GradeReport:
    """A copy of ``report`` with the task overrides applied to their tasks and the totals."""
    report = copy.deepcopy(report)
    for o in overrides:
        if o.task == TOTAL:
            continue
        task = report.task(o.task)
        if task is None:
            continue  # a task not graded in this run (--task): nothing to override
        before = task.points
        task.points = o.applied(before, 0.0, task.max_points)
        task.feedback = (task.feedback + "\n" if task.feedback else "") + f"[{o.task}] changed by hand: {o.text()}"
        if task.bonus:
            report.bonus = round(report.bonus + task.points - before, 2)
        else:
            report.score = round(report.score + task.points - before, 2)
    return report


def apply_total(total: float, overrides: list[Override]) -> float:
    for o in overrides:
        if o.task == TOTAL:
            total = o.applied(total, 0.0, None)
    return total
