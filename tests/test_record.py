"""The typed grading record (autograder/record.py): statuses with a severity, flags derived from statuses and note
kinds, a task's status as its most severe case's, and the report's JSON with its schema version."""

from __future__ import annotations

import pytest

from autograder import rubric
from autograder.record import (SCHEMA, Benchmark, CaseResult, Flag, GradeReport, ImportProblem, Note, NoteKind,
                               NotebookGrade, SchemaError, Status, migrate_v0)
from autograder.report import render, score


def case(task: str, status: Status, feedback: str = "") -> CaseResult:
    return CaseResult(task=task, test=f"{task}[{status.code}]", status=status, feedback=feedback)


def test_every_status_has_a_distinct_code_label_and_severity():
    statuses = list(Status)
    assert len({s.code for s in statuses}) == len({s.label for s in statuses}) == len({s.severity for s in statuses})
    assert Status.worst([]) is Status.PASSED
    assert Status.GRADER_ERROR is max(statuses), "a grader failure outranks everything the student's code did"
    assert Status.FAILED > Status.NOT_IMPLEMENTED and Status.TIMEOUT > Status.FAILED and Status.MEMORY > Status.TIMEOUT


@pytest.mark.parametrize("other", [Status.TIMEOUT, Status.MEMORY, Status.PROCESSES, Status.CRASH, Status.DISK])
def test_a_task_reports_its_most_severe_case_and_keeps_its_flag(other):
    """One failed case and one case stopped by a limit: the task says the limit (not "failed", which sorts first
    alphabetically), and the submission keeps the flag the limit raises."""
    task = next(t for t in rubric.TASKS if t.id == "p2.mse")
    report = score([case(task.id, Status.FAILED, "wrong"), case(task.id, other, "stopped"),
                    case(task.id, Status.PASSED)], [task.id])
    (result,) = report.tasks
    assert result.status is other and result.passed == 1 and result.cases == 3
    assert result.points == round(task.points / 3, 2)
    assert other.flag in report.flags()


def test_points_are_the_share_of_passed_cases_and_a_task_without_cases_is_not_run():
    a, b = rubric.TASKS[0], rubric.TASKS[1]
    report = score([case(a.id, Status.PASSED), case(a.id, Status.FAILED)], [a.id, b.id])
    first, second = report.tasks
    assert first.points == round(a.points / 2, 2) and first.status is Status.FAILED
    assert second.points == 0 and second.status is Status.NOT_RUN and second.cases == 0
    assert report.score == first.points and report.max_score == a.points + b.points


def test_a_worker_cannot_claim_a_grader_error_or_any_status_of_the_judge():
    """The worker runs student code: its error reply may name only the student's own failures."""
    assert Status.from_worker("not_implemented") is Status.NOT_IMPLEMENTED
    assert Status.from_worker("memory") is Status.MEMORY
    for forged in ("grader_error", "passed", "timeout", "crash", "no such status"):
        assert Status.from_worker(forged) is Status.EXCEPTION


def test_flags_come_from_statuses_notes_rules_and_notebooks_in_flag_order():
    tasks = [t for t in rubric.TASKS if not t.bench and not t.id.endswith(".rules")]
    rules = next(t for t in rubric.TASKS if t.id.endswith(".rules"))
    report = score([case(rules.id, Status.FAILED), case(tasks[0].id, Status.CRASH)], [rules.id, tasks[0].id])
    report.notes = [Note(NoteKind.OUTPUT, "printed more than 1 MB; the rest was cut", "project2")]
    report.notebooks = {"project1": NotebookGrade(flags=["a test cell was deleted"])}
    assert report.flags() == [Flag.RULE_VIOLATION, Flag.CRASH, Flag.OUTPUT_CUT, Flag.NOTEBOOK]
    report.complete = False
    assert report.grader_failed and report.flags()[0] is Flag.GRADER_ERROR


def test_the_report_round_trips_through_json_with_its_schema():
    task = rubric.TASKS[0]
    report = score([case(task.id, Status.TIMEOUT, "slow")], [task.id])
    report.import_errors = [ImportProblem("project1", "models.py", "SyntaxError")]
    report.notes = [Note(NoteKind.MEMORY, "ran out of memory (limit 4 GiB)", "project1")]
    report.benchmarks = [Benchmark(task="p2.bench.circle", name="circle", device="cpu", feedback="f", ratio=0.4)]
    report.benchmarks_not_measured = [Benchmark(task="p2.bench.conv", name="conv", device="cpu", feedback="n",
                                                reason="r")]
    report.notebooks = {"project2": NotebookGrade(score=6.0, max_score=10.0, needs_manual_grade=True)}
    data = report.to_json()
    assert data["schema"] == SCHEMA and data["tasks"][0]["status"] == "timeout"
    assert GradeReport.from_json(data) == report
    assert render(GradeReport.from_json(data)) == render(report)


def test_a_schema_0_report_is_migrated_from_its_sentences():
    old = {"score": 0.0, "max_score": 5, "bonus": 0.0, "max_bonus": 0,
           "tasks": [{"task": "p2.mse", "points": 0.0, "max_points": 5, "bonus": False, "visibility": "public",
                      "status": "ran out of memory", "description": "d", "cases": 1, "passed": 0, "feedback": ""}],
           "notes": ["project2: ran out of memory (limit 4 GiB)"],
           "benchmarks": [{"task": "p2.bench.circle", "name": "c", "device": "cpu", "feedback": "f", "ratio": 0.5,
                           "extra": 1}]}
    report = GradeReport.from_json(old)
    assert report.tasks[0].status is Status.MEMORY and report.notes == [
        Note(NoteKind.MEMORY, "ran out of memory (limit 4 GiB)", "project2")]
    assert report.benchmarks[0].ratio == 0.5
    assert migrate_v0({"tasks": [{"status": "error"}]})["tasks"][0]["status"] == Status.GRADER_ERROR.code
    with pytest.raises(SchemaError):
        GradeReport.from_json({**old, "schema": SCHEMA + 1})
