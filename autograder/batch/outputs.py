"""The class's outputs, regenerated from the store after every run: ``grades.csv``, ``feedback/<id>.md`` and
``.html``, ``gradescope/<id>/results.json`` (:mod:`.publish` writes them all, and ``report.html``).

What students see never includes a hidden test's details: a hidden task that fails says "hidden test failed:
<task> (<what it checks>)" and nothing more, unless the instructor asks for ``--reveal-hidden``.
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path

from autograder import escape, rubric
from autograder.batch.store import Record, RowStatus
from autograder.record import Benchmark, Flag, GradeReport, NotebookGrade, Status
from autograder.report import render
from autograder.templating import render as render_template
from course.files import atomic_write, write_json

# a hidden task's status that a student may read in full: it reveals nothing of the hidden test
HIDDEN_SHOWN = (Status.PASSED, Status.NOT_RUN, Status.IMPORT)


def student_view(report: GradeReport, reveal_hidden: bool = False) -> GradeReport:
    """The report as a student may see it: hidden tasks that fail say only which task failed."""
    view = copy.deepcopy(report)
    if reveal_hidden:
        return view
    for t in view.tasks:
        if t.visibility == "hidden" and t.status not in HIDDEN_SHOWN:
            t.feedback = f"[{t.task}] hidden test failed: {t.task} ({t.description})"
            t.measure = None
    return view


def flags(record: Record) -> list[str]:
    """Why a course team should look at this submission (:class:`autograder.record.Flag`, in its order): rule
    violation, timeout, crash, caps, import errors, a grader error, another entry with the same id…"""
    if record.status is RowStatus.UNUSABLE:
        found = [Flag.UNUSABLE]
    elif record.report is None:
        found = [Flag.GRADER_ERROR]
    else:
        found = record.report.flags()
        if record.status is RowStatus.GRADER_ERROR and Flag.GRADER_ERROR not in found:
            found = [Flag.GRADER_ERROR, *found]
    if record.same_id:
        found = [*found, Flag.SAME_ID]
    return [f.value for f in Flag if f in found]


def same_id_text(record: Record) -> str:
    """For the course team: which entry this row is and the other rows read as the same id ("" when none)."""
    if not record.same_id:
        return ""
    return (f"entry {record.source!r} has the same id as {', '.join(record.same_id)}: all are kept and graded; "
            "check which one counts")


def problem_text(record: Record) -> str:
    """The row's problem for the course team: why it was not graded, and the entries read as the same id."""
    return "; ".join(filter(None, [record.problem, same_id_text(record)]))


def same_id_note(record: Record) -> str:
    """For the student: their entry was read as an id another entry has too (the others are not named)."""
    if not record.same_id:
        return ""
    return (f"Note: your entry {record.source!r} (graded as {record.student}) reads as the same id as "
            f"{len(record.same_id)} other entr{'y' if len(record.same_id) == 1 else 'ies'} of the class; your "
            "instructor will check which one counts.")


def notebooks(record: Record) -> dict[str, NotebookGrade]:
    """project → the notebook's points from nbgrader, when the class was graded with ``--nbgrader``."""
    return dict(record.report.notebooks) if record.report is not None else {}


def notebook_text(record: Record) -> str:
    """The notebooks' part of the feedback: points, what awaits manual grading, and the problems found."""
    lines = []
    for project, nb in sorted(notebooks(record).items()):
        state = "written answers to be graded by hand" if nb.needs_manual_grade else "graded"
        lines.append(f"{project}.ipynb: {nb.score:g} / {nb.max_score:g} ({state})")
        lines += [f"  note: {flag}" for flag in nb.flags]
    return ("Notebooks (nbgrader)\n====================\n" + "\n".join(lines)) if lines else ""


def benchmarks(record: Record) -> list[Benchmark]:
    """The benchmark figures of a graded submission, if any were measured."""
    return list(record.report.benchmarks) if record.report is not None else []


def total(record: Record) -> float:
    return record.report.total if record.report is not None else 0.0


# ------------------------------------------------------------------------------------------------ grades.csv


def csv_rows(records: list[Record]) -> tuple[list[str], list[dict]]:
    """Columns and rows: nbgrader export's names where they overlap (student_id, raw_score, score, max_score)."""
    bench_names = sorted({b.name for r in records for b in benchmarks(r)})
    projects = sorted({p for r in records for p in notebooks(r)})
    notebook_columns = [c for p in projects for c in (f"nb:{p}", f"nb:{p}:max", f"nb:{p}:manual")]
    columns = (["student_id", "raw_score", "score", "max_score", "bonus", "max_bonus", "total", "status"]
               + [t.id for t in rubric.TASKS] + [f"bench:{name}" for name in bench_names] + notebook_columns
               + ["flags", "notebook_flags", "seconds", "problem", "graded_at"])
    max_score, max_bonus = rubric.core_total(), rubric.bonus_total()
    lookalikes = escape.lookalikes(r.student for r in records)
    rows = []
    for r in records:
        report = r.report
        earned = report.score if report is not None else 0.0
        row = {"student_id": r.student, "raw_score": earned, "score": earned,
               "max_score": max_score, "bonus": report.bonus if report is not None else 0.0, "max_bonus": max_bonus,
               "total": total(r), "status": r.status.value,
               "flags": ";".join(flags(r)), "seconds": round(r.seconds, 1), "problem": problem_text(r),
               "graded_at": r.graded_at}
        if r.student in lookalikes:  # two ids that read the same: both rows say so
            same = ", ".join(lookalikes[r.student])
            row["problem"] = "; ".join(filter(None, [str(row["problem"]), f"id looks like {same}: check who is who"]))
        points = {t.task: t.points for t in report.tasks} if report is not None else {}
        row.update({t.id: points.get(t.id, 0.0) for t in rubric.TASKS})
        row.update({f"bench:{b.name}": b.ratio if b.ratio is not None else "" for b in benchmarks(r)})
        for project, nb in notebooks(r).items():
            row.update({f"nb:{project}": nb.score, f"nb:{project}:max": nb.max_score,
                        f"nb:{project}:manual": "pending" if nb.needs_manual_grade else "done"})
        row["notebook_flags"] = "; ".join(f for nb in notebooks(r).values() for f in nb.flags)
        rows.append(row)
    return columns, rows


def write_csv(path: Path, records: list[Record]) -> Path:
    """grades.csv, every text cell escaped: no control character, no cell a spreadsheet would run as a formula."""
    columns, rows = csv_rows(records)
    rows = [{k: escape.csv_cell(v) for k, v in row.items()} for row in rows]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write(path, text.getvalue())


# ------------------------------------------------------------------------------------------------ feedback


def feedback_text(record: Record, reveal_hidden: bool = False) -> str:
    """What ``autograder check`` prints for this submission (or why it was not graded)."""
    if record.report is None:
        why = "could not be graded" if record.status is not RowStatus.UNUSABLE else "was not graded"
        text = f"Your submission {why}: {record.problem}\nAsk your instructor if this is unexpected."
        extra = "\n\n".join(x for x in (same_id_note(record), record.adjustments) if x)
        return f"{text}\n\n{extra}" if extra else text
    text = render(student_view(record.report, reveal_hidden))
    extra = "\n\n".join(x for x in (notebook_text(record), same_id_note(record), record.adjustments) if x)
    return f"{text}\n\n{extra}" if extra else text


def measure_rows(record: Record, reveal_hidden: bool = False) -> list[dict]:
    """The measured tasks of the student's view (figure, threshold, margin, near-miss warning), as the page shows
    them; a hidden task that failed shows nothing."""
    if record.report is None:
        return []
    view = student_view(record.report, reveal_hidden)
    rows = []
    for t in view.tasks:
        m = t.measure
        if m is None:
            continue
        margin = f"{100 * m.margin:+.1f} points" if m.unit == "%" else f"{m.margin:+.4g}{m.unit}"
        rows.append({"task": t.task, "value": m.show(m.value), "threshold": m.show(m.threshold), "margin": margin,
                     "warning": ("near miss" + (": passed by less than 3 points" if m.passed else
                                                ": less than 3 points short")) if m.near_miss else ""})
    return rows


def headline(record: Record) -> str:
    report = record.report
    if report is None:
        return f"{record.student}: not graded"
    bonus = f" (+{report.bonus:g} bonus)" if report.bonus else ""
    return f"{record.student}: {report.score:g} / {report.max_score:g}{bonus}"


def write_feedback(folder: Path, record: Record, reveal_hidden: bool = False, stem: str | None = None) -> list[Path]:
    """feedback/<stem>.md and .html (the stem: :func:`autograder.escape.file_stems`, the id itself for the
    intake's keys): the text escaped (no control character), in a Markdown fence longer than any backtick run of
    the text, so nothing the student's code printed can close it."""
    stem = stem or escape.file_stems([record.student])[record.student]
    text = escape.control(feedback_text(record, reveal_hidden))
    title = escape.control(headline(record))
    fence = escape.fence(text)
    md = f"# {title}\n\n{fence}text\n{text}\n{fence}\n"
    page = render_template("feedback.html.j2", title=title, text=text, measures=measure_rows(record, reveal_hidden))
    return [atomic_write(folder / f"{stem}.md", md), atomic_write(folder / f"{stem}.html", page)]


# ------------------------------------------------------------------------------------------------ Gradescope


def gradescope_results(record: Record, reveal_hidden: bool = False) -> dict:
    """Gradescope's ``results.json``: top-level score (core + bonus), execution time, output, one test per task
    (hidden ones ``after_published``), and the benchmark figures as leaderboard entries."""
    if record.report is None:
        return {"score": 0.0, "execution_time": round(record.seconds), "output": feedback_text(record),
                "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
    view = student_view(record.report, reveal_hidden)
    tests = []
    for t in view.tasks:
        if t.max_points == 0:
            continue  # a benchmark task: its figure is a leaderboard entry
        tags = [rubric.BY_ID[t.task].project] + (["bonus"] if t.bonus else []) + \
               (["hidden"] if t.visibility == "hidden" else [])
        output = t.feedback or t.status.label
        if t.measure is not None:
            output += f"\nmeasured: {t.measure.text()}"
        tests.append({"name": f"{t.task}: {t.description}", "number": t.task, "score": t.points,
                      "max_score": t.max_points, "status": "passed" if t.points >= t.max_points else "failed",
                      "output": output, "tags": tags,
                      "visibility": "after_published" if t.visibility == "hidden" else "visible"})
    for project, nb in sorted(notebooks(record).items()):
        pending = " (written answers: graded by hand later)" if nb.needs_manual_grade else ""
        tests.append({"name": f"{project}.ipynb: autograded answers{pending}", "number": f"{project}.ipynb",
                      "score": nb.score, "max_score": nb.max_score,
                      "status": "passed" if nb.score >= nb.max_score else "failed",
                      "output": "\n".join(nb.flags) or "graded by nbgrader", "tags": [project, "notebook"],
                      "visibility": "visible"})
    summary = [headline(record)] + [f"{e.project}/{e.file}: {e.message}" for e in view.import_errors] \
        + [x for x in (same_id_note(record),) if x]
    results = {"score": total(record), "execution_time": round(record.seconds), "output": "\n".join(summary),
               "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}
    board = [{"name": b.name, "value": round(float(b.ratio), 4), "order": "asc"}
             for b in benchmarks(record) if b.ratio is not None]
    if board:
        results["leaderboard"] = board
    return results


def write_gradescope(folder: Path, record: Record, reveal_hidden: bool = False, stem: str | None = None) -> Path:
    """gradescope/<stem>/results.json (the stem as for :func:`write_feedback`)."""
    stem = stem or escape.file_stems([record.student])[record.student]
    return write_json(folder / stem / "results.json", gradescope_results(record, reveal_hidden))

