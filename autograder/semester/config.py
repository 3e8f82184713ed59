"""``course.toml``: the assignment, its deadline, the late policy and the extensions (docs/course-file.md).

Loaded with :mod:`tomllib` and checked key by key: a wrong or missing value is a :class:`CourseError` naming the key,
what it holds and what to write instead. The result is typed (:class:`CourseConfig`); nothing else reads the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomllib

from course.errors import CourseError

PERIODS = {"day": 1440, "hour": 60}


@dataclass(frozen=True)
class LatePolicy:
    """How lateness costs points (every figure a percentage of the maximum score, as Canvas counts them)."""

    grace_minutes: float = 0.0       # within the grace period a submission is on time
    penalty_percent: float = 0.0     # per started period (day or hour) after the deadline
    per: str = "day"                 # "day" | "hour"
    maximum_percent: float = 100.0   # the penalty never exceeds this
    minimum_percent: float = 0.0     # the late penalty never takes a score below this (a lower score stays)
    cutoff_hours: float | None = None  # later than this after the deadline: not accepted (score 0)
    late_days: int | None = None     # a budget of late days without penalty (the penalty applies beyond it)

    @property
    def period_minutes(self) -> int:
        return PERIODS[self.per]

    @property
    def window(self) -> timedelta | None:
        """How long after the deadline work still counts (None: forever)."""
        return timedelta(hours=self.cutoff_hours) if self.cutoff_hours is not None else None


@dataclass(frozen=True)
class CourseConfig:
    assignment: str
    deadline: datetime | None = None
    canvas_id: str = ""
    moodle_id: str = ""
    seed: int | None = None
    timezone: tzinfo | None = None   # for LMS stamps without a zone (Blackboard); default: the deadline's
    late: LatePolicy = LatePolicy()
    extensions: dict[str, datetime] = field(default_factory=dict)   # student id → their own deadline
    late_days_used: dict[str, int] = field(default_factory=dict)    # student id → late days spent earlier
    times: Path | None = None        # a CSV of submission times (lms_id or student, submitted_at)
    path: Path | None = None

    def deadline_of(self, student: str) -> datetime | None:
        return self.extensions.get(student, self.deadline)

    def limit_of(self, student: str) -> datetime | None:
        """The last moment work of ``student`` counts (their deadline plus the late window), None: no limit."""
        deadline = self.deadline_of(student)
        if deadline is None:
            return None
        if self.late.window is not None:
            return deadline + self.late.window
        return None if self.late.penalty_percent or self.late.late_days is not None else deadline

    @property
    def tz(self) -> tzinfo | None:
        return self.timezone or (self.deadline.tzinfo if self.deadline else None)


def _fail(where: str, key: str, problem: str) -> CourseError:
    return CourseError(f"{where}: [{key}] {problem}")


def parse_time(value, where: str, key: str, tz: tzinfo | None = None) -> datetime:
    """An ISO 8601 time with its zone (TOML's offset date-time, or a string); ``tz`` completes one without."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _fail(where, key, f"{value!r} is not an ISO 8601 time; write e.g. 2026-12-04T23:59:00+01:00") \
                from None
    if not isinstance(value, datetime):
        raise _fail(where, key, f"{value!r} is not a date and time; write e.g. 2026-12-04T23:59:00+01:00")
    if value.tzinfo is None:
        if tz is None:
            raise _fail(where, key, f"{value.isoformat()} has no time zone; add one, e.g. "
                                    f"{value.isoformat()}+01:00 (or Z for UTC)")
        value = value.replace(tzinfo=tz)
    return value


def _number(table: dict, key: str, where: str, name: str, default, *, low=0.0, high=None, integer=False):
    value = table.get(key, default)
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        kind = "a whole number" if integer else "a number"
        raise _fail(where, f"{name}.{key}", f"is {value!r}; write {kind}")
    if value < low or (high is not None and value > high):
        raise _fail(where, f"{name}.{key}", f"is {value}; it must lie between {low:g} and "
                                            f"{high if high is not None else 'any'}")
    return value


def _unknown(table: dict, known: set[str], where: str, name: str) -> None:
    extra = sorted(set(table) - known)
    if extra:
        raise _fail(where, f"{name}.{extra[0]}" if name else extra[0],
                    f"is not a key of course.toml here; the keys are {', '.join(sorted(known))} "
                    "(docs/course-file.md)")


def load(path: str | Path) -> CourseConfig:
    """The course file at ``path``, checked; a CourseError names the first problem."""
    path = Path(path).expanduser()
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourseError(f"{path} does not exist; give --config the course file (docs/course-file.md)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CourseError(f"{where} is not valid TOML ({exc}); see docs/course-file.md") from None
    _unknown(data, {"assignment", "late", "extensions", "late_days_used"}, where, "")
    a = data.get("assignment")
    if not isinstance(a, dict):
        raise _fail(where, "assignment", "is missing; the file starts with [assignment] and name = \"...\"")
    _unknown(a, {"name", "deadline", "timezone", "canvas_id", "moodle_id", "seed", "times"}, where, "assignment")
    name = a.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(where, "assignment.name", "is missing or empty; the assignment's name, as in the LMS")
    timezone = None
    if "timezone" in a:
        try:
            timezone = ZoneInfo(str(a["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise _fail(where, "assignment.timezone", f"{a['timezone']!r} is not a time zone; write e.g. "
                                                      "\"Europe/Zurich\"") from None
    deadline = parse_time(a["deadline"], where, "assignment.deadline") if "deadline" in a else None
    seed = _number(a, "seed", where, "assignment", None, integer=True)
    ids = {}
    for key in ("canvas_id", "moodle_id"):
        value = a.get(key, "")
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise _fail(where, f"assignment.{key}", f"is {value!r}; write the LMS's id of the assignment")
        ids[key] = str(value)
    times = None
    if "times" in a:
        times = (path.parent / str(a["times"])).resolve()
        if not times.is_file():
            raise _fail(where, "assignment.times", f"{times} does not exist; a CSV with lms_id (or student) and "
                                                  "submitted_at columns")
    late = _late(data.get("late", {}), where)
    if (late.penalty_percent or late.late_days is not None or late.cutoff_hours is not None) and deadline is None:
        raise _fail(where, "late", "needs a deadline: add deadline = 2026-12-04T23:59:00+01:00 to [assignment]")
    tz = timezone or (deadline.tzinfo if deadline else None)
    extensions = {}
    for student, value in data.get("extensions", {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if deadline is None:
                raise _fail(where, f"extensions.{student}", "is a number of hours, but there is no deadline")
            extensions[student] = deadline + timedelta(hours=value)
        else:
            extensions[student] = parse_time(value, where, f"extensions.{student}", tz)
    used = {}
    for student in data.get("late_days_used", {}):
        used[student] = _number(data["late_days_used"], student, where, "late_days_used", 0, integer=True)
    return CourseConfig(name.strip(), deadline, ids["canvas_id"], ids["moodle_id"], seed, timezone, late,
                        extensions, used, times, path.resolve())


def _late(table, where: str) -> LatePolicy:
    if not isinstance(table, dict):
        raise _fail(where, "late", "must be a table: [late]")
    _unknown(table, {"grace_minutes", "penalty_percent", "per", "maximum_percent", "minimum_percent",
                     "cutoff_hours", "late_days"}, where, "late")
    per = table.get("per", "day")
    if per not in PERIODS:
        raise _fail(where, "late.per", f"is {per!r}; write \"day\" or \"hour\"")
    late_days = _number(table, "late_days", where, "late", None, integer=True)
    if late_days is not None and per != "day":
        raise _fail(where, "late.per", "must be \"day\" with a late-day budget (late_days)")
    return LatePolicy(
        grace_minutes=_number(table, "grace_minutes", where, "late", 0.0),
        penalty_percent=_number(table, "penalty_percent", where, "late", 0.0, high=100),
        per=per,
        maximum_percent=_number(table, "maximum_percent", where, "late", 100.0, high=100),
        minimum_percent=_number(table, "minimum_percent", where, "late", 0.0, high=100),
        cutoff_hours=_number(table, "cutoff_hours", where, "late", None),
        late_days=late_days,
    )
