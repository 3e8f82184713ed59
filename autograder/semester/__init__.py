"""A semester's rules on top of the grading: the course file (deadline, late policy, extensions), the roster and
the overrides, applied after every run so that a regrade keeps them (docs/course-file.md).

  semester = load(args.config, args.roster, args.overrides)       # each optional
  finals = apply(records, prepared, semester, store)              # one Final per student: roster ∪ entries
  exports.write_all(out, finals, semester)                       # grades.csv, canvas.csv, moodle.csv, ...

Nothing here grades: the stored reports stay as the grader wrote them, and every figure is recomputed from them
and these files at each run.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import rubric
from autograder.lms import Submission
from autograder.semester import exports  # noqa: F401  (semester.exports.write_all)
from autograder.semester import late as late_rules
from autograder.semester import overrides as ov
from autograder.semester.config import CourseConfig, LatePolicy, parse_time
from autograder.semester.config import load as load_config
from autograder.semester.roster import Roster, Student
from autograder.semester.roster import load as load_roster
from course.errors import CourseError

if TYPE_CHECKING:  # the store imports nothing of the semester's, but the record is only named here, never built
    from autograder.batch.store import Record

DEFAULT_CONFIG = "course.toml"
MISSING = "missing"
ON_TIME = late_rules.Lateness(None, False)


@dataclass
class Semester:
    config: CourseConfig | None = None
    roster: Roster | None = None
    overrides: list[ov.Override] = field(default_factory=list)
    times: dict[str, datetime] = field(default_factory=dict)   # lms id or student id → submitted at

    @property
    def policy(self) -> LatePolicy:
        return self.config.late if self.config is not None else LatePolicy()

    def limit(self, student: str) -> datetime | None:
        """For GitHub Classroom: the last commit time that counts for ``student``."""
        return self.config.limit_of(student) if self.config is not None else None

    @property
    def tz(self):
        return self.config.tz if self.config is not None else None

    @property
    def assignment(self) -> str:
        return self.config.assignment if self.config is not None else "Mini-projects"


def load(config: str | None = None, roster: str | None = None, overrides: str | None = None) -> Semester:
    """The semester's files; ``config`` None means ``course.toml`` in the current folder if there is one."""
    if config is None and Path(DEFAULT_CONFIG).is_file():
        config = DEFAULT_CONFIG
    semester = Semester(load_config(config) if config else None, load_roster(roster) if roster else None,
                        ov.load(overrides) if overrides else [])
    if semester.config is not None and semester.config.times is not None:
        semester.times = load_times(semester.config.times, semester.tz)
    return semester


def load_times(path: Path, tz) -> dict[str, datetime]:
    """The times CSV: ``lms_id`` (or ``student``) and ``submitted_at`` (ISO 8601; the course's zone if none)."""
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    found = {}
    for line, row in enumerate(rows, start=2):
        who = (row.get("lms_id") or row.get("student") or "").strip()
        if not who or not (row.get("submitted_at") or "").strip():
            raise CourseError(f"{path}, line {line}: needs lms_id (or student) and submitted_at")
        found[who] = parse_time(row["submitted_at"], f"{path}, line {line}", "submitted_at", tz)
    return found


@dataclass
class Final:
    """One student's grade after the semester's rules: what the exports write."""

    key: str                         # the entry's id (the store's), or the roster id of a student with no entry
    student: Student | None          # their roster row (None: no roster, or the submission matched nobody)
    submission: Submission | None    # what the LMS said (None: nothing came)
    record: Record | None            # the store's Record, task overrides applied (None: nothing came)
    status: str                      # graded | unusable | grader_error | missing
    raw_score: float = 0.0
    penalty: float = 0.0
    score: float = 0.0
    bonus: float = 0.0
    total: float = 0.0
    max_score: float = 0.0
    lateness: late_rules.Lateness = ON_TIME
    submitted_at: datetime | None = None
    overrides: list[ov.Override] = field(default_factory=list)
    unmatched: bool = False          # a roster was given and this submission matched nobody on it

    @property
    def student_id(self) -> str:
        return self.student.student_id if self.student is not None else self.key


def apply(records, prepared, semester: Semester, store=None) -> list[Final]:
    """Every student's :class:`Final`: the entries' records (task overrides applied to copies of their reports,
    the feedback's adjustments set) and every roster student without an entry (``missing``)."""
    subs = prepared.submissions if prepared is not None else {}
    roster = semester.roster
    finals, seen = [], set()
    for record in records:
        sub = subs.get(record.student)
        sid = sub.student if sub is not None and sub.student else (
            roster.match(record.student, record.student, record.student) if roster is not None else None)
        student = roster.by_id.get(sid) if roster is not None and sid else None
        seen.add(sid or record.student)
        finals.append(_final(record.student, student, sub, record, semester, store))
    if roster is not None:
        for student in roster.students:
            if student.student_id not in seen:
                finals.append(_final(student.student_id, student, None, None, semester, store))
    known = {f.student_id for f in finals} | {f.key for f in finals}
    for o in semester.overrides:
        if o.student not in known:
            print(f"warning: overrides line {o.line}: no student {o.student!r} in the class or the roster; "
                  "this override applies to nobody", file=sys.stderr)
    return sorted(finals, key=lambda f: f.student_id)


def _final(key, student, sub, record, semester: Semester, store) -> Final:
    sid = student.student_id if student is not None else key
    mine = [o for o in semester.overrides if o.student in (sid, key)]
    max_score = rubric.core_total()
    final = Final(key, student, sub, None, record.status.value if record is not None else MISSING,
                  max_score=max_score, overrides=mine, unmatched=semester.roster is not None and student is None)
    report = record.report if record is not None else None
    if report is not None:
        report = ov.apply_tasks(report, mine)
        final.raw_score, final.bonus = report.score, report.bonus
    if sub is not None:
        final.submitted_at = semester.times.get(sub.lms_id) or semester.times.get(sid) or sub.submitted_at
    deadline = semester.config.deadline_of(sid) if semester.config is not None else None
    if record is not None:
        final.lateness = late_rules.assess(late_rules.late_minutes(final.submitted_at, deadline), semester.policy,
                                           flagged=bool(sub is not None and sub.late),
                                           days_used=semester.config.late_days_used.get(sid, 0)
                                           if semester.config is not None else 0)
        final.penalty = late_rules.penalty(final.raw_score, max_score, final.lateness, semester.policy) \
            if final.lateness.late else 0.0
    final.score = round(final.raw_score - final.penalty, 2)
    final.total = round(final.score + final.bonus, 2)
    adjusted = ov.apply_total(final.total, mine)
    final.score = round(final.score + adjusted - final.total, 2)
    final.total = adjusted
    if record is not None:
        final.record = replace(record, report=report, adjustments=adjustments(final, deadline))
    if store is not None:
        for o in mine:
            store.log(sid, "override", {"task": o.task, "points": o.value, "relative": o.relative,
                                        "reason": o.reason, "who": o.who, "when": o.when})
        if final.penalty:
            store.log(sid, "late", {"minutes": None if final.lateness.minutes is None
                                    else round(final.lateness.minutes), "percent": final.lateness.percent,
                                    "penalty": final.penalty, "raw_score": final.raw_score})
    return final


def adjustments(final: Final, deadline: datetime | None) -> str:
    """The feedback's section on what the semester's rules changed (empty when nothing did)."""
    lines = []
    if final.lateness.late:
        lines.append(f"Late: {final.lateness.why}" + (f" (deadline {deadline.isoformat()})" if deadline else "")
                     + f": -{final.penalty:g} points")
    lines += [f"Changed by hand: {o.text()}" for o in final.overrides]
    sub = final.submission
    if sub is not None and sub.graded_commit:
        lines.append(f"Graded commit: {sub.graded_commit[:10]}"
                     + (f"; {len(sub.later_commits)} later commit(s) not graded" if sub.later_commits else ""))
        lines += [f"  not graded: {commit}" for commit in sub.later_commits]
    if not lines:
        return ""
    lines.append(f"Score: {final.raw_score:g} - {final.penalty:g} late = {final.score:g} / {final.max_score:g}"
                 f"; bonus {final.bonus:g}; total {final.total:g}")
    return "Grade adjustments\n=================\n" + "\n".join(lines)
