"""Task scores from per-case results (``autograder.report.score``): points × passed cases / cases, a task that
did not run, the totals of core and bonus tasks over the selected ones, and a task's status when its cases end
differently (the most severe wins). Points come from the rubric, never restated here."""

from __future__ import annotations

import pytest

from autograder import rubric
from autograder.record import CaseResult, Status
from autograder.report import score

CORE = "p2.linear.forward"
OTHER = "p2.mse"
BONUS = "p2.bonus.adam"


def value(entry, name):
    return getattr(entry, name)


def label(status: Status) -> str:
    return status.label


def case(task: str, status: str, feedback: str = "") -> CaseResult:
    """A case from its status's label, as the report shows it."""
    return CaseResult(task=task, test=task, status=Status.from_label(status), feedback=feedback)


def task_of(report, task_id: str):
    return next(t for t in value(report, "tasks") if value(t, "task") == task_id)


def test_points_are_shared_by_the_passed_cases():
    points = rubric.BY_ID[CORE].points
    report = score([case(CORE, "passed"), case(CORE, "failed", "wrong"), case(CORE, "passed")], [CORE])
    entry = task_of(report, CORE)
    assert value(entry, "points") == round(points * 2 / 3, 2)
    assert (value(entry, "cases"), value(entry, "passed"), value(entry, "max_points")) == (3, 2, points)
    assert label(value(entry, "status")) == "failed" and value(entry, "feedback") == "wrong"


def test_every_case_passed_is_every_point_and_no_case_is_not_run():
    report = score([case(CORE, "passed"), case(CORE, "passed")], [CORE, OTHER])
    assert value(task_of(report, CORE), "points") == rubric.BY_ID[CORE].points
    assert label(value(task_of(report, CORE), "status")) == "passed"
    assert value(task_of(report, OTHER), "points") == 0 and label(value(task_of(report, OTHER), "status")) == "not run"
    assert value(report, "score") == rubric.BY_ID[CORE].points
    assert value(report, "max_score") == rubric.BY_ID[CORE].points + rubric.BY_ID[OTHER].points


def test_bonus_points_are_counted_apart_and_unselected_tasks_are_left_out():
    results = [case(CORE, "passed"), case(BONUS, "passed"), case(OTHER, "passed")]
    report = score(results, [CORE, BONUS])
    assert [value(t, "task") for t in value(report, "tasks")] == [CORE, BONUS]
    assert value(report, "score") == value(report, "max_score") == rubric.BY_ID[CORE].points
    assert value(report, "bonus") == value(report, "max_bonus") == rubric.BY_ID[BONUS].points


def test_the_same_feedback_is_shown_once():
    report = score([case(CORE, "failed", "same"), case(CORE, "failed", "same"), case(CORE, "failed", "other")], [CORE])
    assert value(task_of(report, CORE), "feedback") == "same\n\nother"


@pytest.mark.parametrize("severe", ["timed out", "ran out of memory"])
def test_the_most_severe_case_names_the_task(severe):
    """One case failed, one hit a limit: the task reports the limit (its flag depends on it), not "failed"."""
    report = score([case(CORE, "failed", "wrong"), case(CORE, severe, severe)], [CORE])
    assert label(value(task_of(report, CORE), "status")) == severe
