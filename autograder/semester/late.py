"""The late penalty, exactly as course.toml's ``[late]`` says (pure functions; docs/course-file.md).

1. A submission at or before the student's deadline (their extension, if any), or within ``grace_minutes`` after
   it, is on time. A submission with no known time is on time, unless the LMS flagged it late (Canvas's
   ``_LATE``): then it counts as late by one period.
2. Later than ``cutoff_hours`` after the deadline: not accepted, the score is 0.
3. Otherwise lateness counts in started periods (``per`` = day or hour) from the deadline: 1 minute late after the
   grace is one period.
4. With a late-day budget (``late_days``, less the days in ``[late_days_used]``), days within it cost nothing; each
   day beyond costs ``penalty_percent`` (or, without a penalty, the work is not accepted).
5. The penalty is ``penalty_percent`` of the maximum score per period charged, at most ``maximum_percent``, and it
   never takes the score below ``minimum_percent`` of the maximum (a score already below stays as it is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from autograder.semester.config import LatePolicy


@dataclass(frozen=True)
class Lateness:
    minutes: float | None    # after the student's deadline (negative: early; None: time unknown)
    late: bool               # counted late (after the grace period, or flagged by the LMS)
    periods: int = 0         # started periods after the deadline
    budget_days: int = 0     # late days taken from the budget
    percent: float = 0.0     # the penalty, in percent of the maximum score
    accepted: bool = True    # False: after the cutoff (or beyond the budget without a penalty)
    why: str = ""            # one line for the feedback


def late_minutes(submitted_at: datetime | None, deadline: datetime | None) -> float | None:
    if submitted_at is None or deadline is None:
        return None
    return (submitted_at - deadline).total_seconds() / 60


def assess(minutes: float | None, policy: LatePolicy, *, flagged: bool = False, days_used: int = 0) -> Lateness:
    """How late a submission is and what it costs, in percent of the maximum (rules 1-5 above)."""
    if minutes is None:
        if not flagged:
            return Lateness(None, False)
        periods, why = 1, "late according to the LMS (time unknown: counted as one period late)"
    elif minutes <= policy.grace_minutes:
        return Lateness(minutes, False)
    else:
        if policy.cutoff_hours is not None and minutes > policy.cutoff_hours * 60:
            return Lateness(minutes, True, math.ceil(minutes / policy.period_minutes), 0, 100.0, False,
                            f"submitted {_span(minutes)} after the deadline, past the {policy.cutoff_hours:g} h "
                            "cutoff: not accepted")
        periods, why = math.ceil(minutes / policy.period_minutes), f"submitted {_span(minutes)} after the deadline"
    charged, budget = periods, 0
    if policy.late_days is not None:
        budget = min(periods, max(0, policy.late_days - days_used))
        charged = periods - budget
        why += f"; {budget} late day(s) of the budget used"
        if charged and not policy.penalty_percent:
            return Lateness(minutes, True, periods, budget, 100.0, False,
                            why + f", {charged} day(s) beyond it: not accepted")
    percent = min(charged * policy.penalty_percent, policy.maximum_percent)
    if charged and policy.penalty_percent:
        why += f"; {charged} {policy.per}(s) × {policy.penalty_percent:g}%"
        why += f" (at most {policy.maximum_percent:g}%)" if percent < charged * policy.penalty_percent else ""
    return Lateness(minutes, True, periods, budget, percent, True, why)


def penalty(raw: float, max_score: float, lateness: Lateness, policy: LatePolicy) -> float:
    """The points taken off ``raw`` (out of ``max_score``) for ``lateness``."""
    if not lateness.accepted:
        return raw
    floor = min(raw, policy.minimum_percent / 100 * max_score)
    score = max(raw - lateness.percent / 100 * max_score, floor, 0.0)
    return round(raw - score, 2)


def _span(minutes: float) -> str:
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 2 * 1440:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"
