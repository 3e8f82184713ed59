"""Scores and reports from the suite's per-test results: points per task, totals, a table for the terminal."""

from __future__ import annotations

from autograder import escape, rubric
from autograder.record import CaseResult, GradeReport, Status, TaskResult

BENCH_TASKS = {t.id for t in rubric.TASKS if t.bench}  # no points: their figures have their own section


def benchmark_lines(report: GradeReport) -> list[str]:
    """The student benchmarks' section (figures of autograder/bench.py), before the table: one line per measured or
    unmeasured case; nothing without any."""
    rows = [(b.task, b.device, b.feedback) for b in (*report.benchmarks, *report.benchmarks_not_measured)]
    if not rows:
        return []
    width = max(len(task) for task, _, _ in rows)
    lines = ["Benchmarks (no points: a benchmark never takes points away)", "=" * 59]
    lines += [f" {task:<{width}}  {device.upper():<4}  {text}" for task, device, text in rows]
    return lines + [""]


def fix_first(report: GradeReport) -> list[TaskResult]:
    """The tasks that need feedback (not quiet), most points lost first; ties keep the rubric's order."""
    failed = [t for t in report.tasks if not t.status.quiet]
    return sorted(failed, key=lambda t: -t.points_lost)  # sorted() is stable: the rubric's order within a tie


def measure_lines(report: GradeReport) -> list[str]:
    """Every measured task's figure and threshold, passed or failed, with its near-miss warning; nothing without
    any."""
    measured = [t for t in report.tasks if t.measure is not None]
    if not measured:
        return []
    width = max(len(t.task) for t in measured)
    lines = ["Measured (each figure against its threshold)", "=" * 44]
    lines += [f" {t.status.symbol} {t.task:<{width}}  {t.measure.text()}" for t in measured]  # type: ignore[union-attr]
    return lines + [""]


def score(results: list[CaseResult], selected: list[str]) -> GradeReport:
    """Per-task points (``points × passed cases / cases``) and the totals over the selected tasks. A task's status
    is its most severe case's (``Status`` severity); a task with no case is "not run"."""
    by_task: dict[str, list[CaseResult]] = {}
    for r in results:
        by_task.setdefault(r.task, []).append(r)
    tasks, core, bonus, core_max, bonus_max = [], 0.0, 0.0, 0.0, 0.0
    for t in rubric.TASKS:
        if t.id not in selected:
            continue
        cases = by_task.get(t.id, [])
        passed = sum(r.status is Status.PASSED for r in cases)
        earned = round(t.points * passed / len(cases), 2) if cases else 0.0
        status = Status.worst(r.status for r in cases) if cases else Status.NOT_RUN
        measures = [r.measure for r in cases if r.measure is not None]
        tasks.append(TaskResult(task=t.id, points=earned, max_points=t.points, bonus=t.bonus,
                                visibility=t.visibility, status=status, description=t.description,
                                cases=len(cases), passed=passed,
                                feedback="\n\n".join(dict.fromkeys(r.feedback for r in cases if r.feedback)),
                                measure=min(measures, key=lambda m: m.margin, default=None)))
        if t.bonus:
            bonus, bonus_max = bonus + earned, bonus_max + t.points
        else:
            core, core_max = core + earned, core_max + t.points
    return GradeReport(score=round(core, 2), max_score=core_max, bonus=round(bonus, 2), max_bonus=bonus_max,
                       tasks=tasks)


def render(report: GradeReport, *, feedback: bool = True) -> str:
    """Failures first (task, expected vs received, likely cause), then the per-task table and the total."""
    lines: list[str] = []
    if feedback and report.import_errors:
        lines.append("Files that do not import\n========================")
        for entry in report.import_errors:
            lines += [f"{entry.project}/{entry.file}:", *("  " + line for line in entry.message.splitlines()), ""]
    failed = fix_first(report)
    if feedback and failed:
        lines.append("What to fix first\n=================")
        for t in failed:
            text = t.feedback or f"[{t.task}] {t.status.label}"
            if t.measure is not None:
                text += f"\n  measured: {t.measure.text()}"
            if "\n" in text and lines[-1] != "":
                lines.append("")
            lines.append(text)
            if "\n" in text:  # a block stands apart; one-line notes follow one another
                lines.append("")
        if lines[-1] != "":
            lines.append("")
    lines += benchmark_lines(report)
    lines += measure_lines(report)
    width = max([len(t.task) for t in report.tasks] + [4])
    lines += ["Score per task", "=============="]
    for t in report.tasks:
        pts = f"{t.points:g}/{t.max_points:g}" + (" bonus" if t.bonus else "")
        pts = "benchmark" if t.task in BENCH_TASKS else pts
        note = "" if t.status is Status.PASSED else f"  ({t.status.label})"
        lines.append(f" {t.status.symbol} {t.task:<{width}}  {pts:>10}{note}")
    if report.notes:
        lines += ["", "Caps that fired: " + "; ".join(str(n) for n in report.notes)]
    if report.data_seed is not None:
        lines += ["", f"Graded with seed {report.data_seed} (--seed), not the kit's public one"]
    lines.append(f"\nTotal: {report.score:g} / {report.max_score:g}"
                 + (f"   bonus: {report.bonus:g} / {report.max_bonus:g}" if report.max_bonus else "")
                 + (f"   ({report.seconds:g} s)" if report.seconds is not None else ""))
    return escape.control("\n".join(lines))  # the student's output and messages, shown on a terminal
