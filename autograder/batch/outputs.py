"""The class's outputs, regenerated from the store after every run: ``grades.csv``, ``feedback/<id>.md`` and
``.html``, ``gradescope/<id>/results.json`` (and ``report.html``, see :mod:`.class_report`).

What students see never includes a hidden test's details: a hidden task that fails says "hidden test failed:
<task> (<what it checks>)" and nothing more, unless the instructor asks for ``--reveal-hidden``.
"""

from __future__ import annotations

import copy
import csv
import html
import io
from pathlib import Path

from autograder import escape, rubric
from autograder.batch.store import Record
from autograder.report import render
from course.files import atomic_write, write_json

FLAGS = {  # flag -> the task statuses that raise it
    "timeout": ("timed out",),
    "crash": ("the Python process died",),
    "memory_cap": ("ran out of memory",),
    "process_cap": ("too many processes",),
}


def student_view(report: dict, reveal_hidden: bool = False) -> dict:
    """The report as a student may see it: hidden tasks that fail say only which task failed."""
    view = copy.deepcopy(report)
    if reveal_hidden:
        return view
    for t in view["tasks"]:  # a file that does not import says so: that reveals nothing of the hidden test
        if t["visibility"] == "hidden" and t["status"] not in ("passed", "not run", "the file does not import"):
            t["feedback"] = f"[{t['task']}] hidden test failed: {t['task']} ({t['description']})"
    return view


def flags(record: Record) -> list[str]:
    """Why a course team should look at this submission: rule violation, timeout, crash, caps, import errors…"""
    if record.status == "unusable":
        return ["unusable"]
    if record.report is None:
        return ["grader_error"]
    report, found = record.report, []
    statuses = {t["status"] for t in report["tasks"]}
    if any(t["task"].endswith(".rules") and t["status"] == "failed" for t in report["tasks"]):
        found.append("rule_violation")
    if report.get("import_errors"):
        found.append("import_error")
    found += [flag for flag, names in FLAGS.items() if statuses & set(names)]
    if any("printed more than" in note for note in report.get("notes", [])):
        found.append("output_cut")
    if any(nb.get("flags") for nb in notebooks(record).values()):
        found.append("notebook")
    return found


def notebooks(record: Record) -> dict:
    """project → the notebook's points from nbgrader (``score``, ``max_score``, ``needs_manual_grade``, ``flags``),
    when the class was graded with ``--nbgrader``."""
    return dict((record.report or {}).get("notebooks") or {})


def notebook_text(record: Record) -> str:
    """The notebooks' part of the feedback: points, what awaits manual grading, and the problems found."""
    lines = []
    for project, nb in sorted(notebooks(record).items()):
        state = "written answers to be graded by hand" if nb.get("needs_manual_grade") else "graded"
        lines.append(f"{project}.ipynb: {nb.get('score', 0):g} / {nb.get('max_score', 0):g} ({state})")
        lines += [f"  note: {flag}" for flag in nb.get("flags", [])]
    return ("Notebooks (nbgrader)\n====================\n" + "\n".join(lines)) if lines else ""


def benchmarks(record: Record) -> list[dict]:
    """The benchmark figures of a graded submission (``report["benchmarks"]``), if any were measured."""
    return list((record.report or {}).get("benchmarks") or [])


def total(record: Record) -> float:
    report = record.report or {}
    return round(report.get("score", 0.0) + report.get("bonus", 0.0), 2)


# ------------------------------------------------------------------------------------------------ grades.csv


def csv_rows(records: list[Record]) -> tuple[list[str], list[dict]]:
    """Columns and rows: nbgrader export's names where they overlap (student_id, raw_score, score, max_score)."""
    bench_names = sorted({b["name"] for r in records for b in benchmarks(r)})
    projects = sorted({p for r in records for p in notebooks(r)})
    notebook_columns = [c for p in projects for c in (f"nb:{p}", f"nb:{p}:max", f"nb:{p}:manual")]
    columns = (["student_id", "raw_score", "score", "max_score", "bonus", "max_bonus", "total", "status"]
               + [t.id for t in rubric.TASKS] + [f"bench:{name}" for name in bench_names] + notebook_columns
               + ["flags", "notebook_flags", "seconds", "problem", "graded_at"])
    max_score, max_bonus = rubric.core_total(), rubric.bonus_total()
    lookalikes = escape.lookalikes(r.student for r in records)
    rows = []
    for r in records:
        report = r.report or {}
        row = {"student_id": r.student, "raw_score": report.get("score", 0.0), "score": report.get("score", 0.0),
               "max_score": max_score, "bonus": report.get("bonus", 0.0), "max_bonus": max_bonus,
               "total": total(r), "status": r.status if r.report or r.status == "unusable" else "error",
               "flags": ";".join(flags(r)), "seconds": round(r.seconds, 1), "problem": r.problem,
               "graded_at": r.graded_at}
        if r.student in lookalikes:  # two ids that read the same: both rows say so
            same = ", ".join(lookalikes[r.student])
            row["problem"] = "; ".join(filter(None, [r.problem, f"id looks like {same}: check who is who"]))
        points = {t["task"]: t["points"] for t in report.get("tasks", [])}
        row.update({t.id: points.get(t.id, 0.0) for t in rubric.TASKS})
        row.update({f"bench:{b['name']}": b.get("ratio", "") for b in benchmarks(r)})
        for project, nb in notebooks(r).items():
            row.update({f"nb:{project}": nb.get("score", 0.0), f"nb:{project}:max": nb.get("max_score", 0.0),
                        f"nb:{project}:manual": "pending" if nb.get("needs_manual_grade") else "done"})
        row["notebook_flags"] = "; ".join(f for nb in notebooks(r).values() for f in nb.get("flags", []))
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
        why = "could not be graded" if record.status != "unusable" else "was not graded"
        return f"Your submission {why}: {record.problem}\nAsk your instructor if this is unexpected."
    text = render(student_view(record.report, reveal_hidden))
    extra = notebook_text(record)
    return f"{text}\n\n{extra}" if extra else text


def headline(record: Record) -> str:
    report = record.report
    if report is None:
        return f"{record.student}: not graded"
    bonus = f" (+{report['bonus']:g} bonus)" if report.get("bonus") else ""
    return f"{record.student}: {report['score']:g} / {report['max_score']:g}{bonus}"


def write_feedback(folder: Path, record: Record, reveal_hidden: bool = False) -> list[Path]:
    """feedback/<id>.md and .html: the text escaped (no control character), in a Markdown fence longer than any
    backtick run of the text, so nothing the student's code printed can close it."""
    text = escape.control(feedback_text(record, reveal_hidden))
    title = escape.control(headline(record))
    fence = escape.fence(text)
    md = f"# {title}\n\n{fence}text\n{text}\n{fence}\n"
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
            "pre{background:#f6f8fa;padding:1em;overflow-x:auto;white-space:pre-wrap}</style></head>\n"
            f"<body><h1>{html.escape(title)}</h1>\n<pre>{html.escape(text)}</pre>\n"
            "<p><a href=\"../report.html\">class report</a></p></body></html>\n")
    return [atomic_write(folder / f"{record.student}.md", md), atomic_write(folder / f"{record.student}.html", page)]


# ------------------------------------------------------------------------------------------------ Gradescope


def gradescope_results(record: Record, reveal_hidden: bool = False) -> dict:
    """Gradescope's ``results.json``: top-level score (core + bonus), execution time, output, one test per task
    (hidden ones ``after_published``), and the benchmark figures as leaderboard entries."""
    if record.report is None:
        return {"score": 0.0, "execution_time": round(record.seconds), "output": feedback_text(record),
                "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
    view = student_view(record.report, reveal_hidden)
    tests = []
    for t in view["tasks"]:
        if t["max_points"] == 0:
            continue  # a benchmark task: its figure is a leaderboard entry
        tags = [rubric.BY_ID[t["task"]].project] + (["bonus"] if t["bonus"] else []) + \
               (["hidden"] if t["visibility"] == "hidden" else [])
        output = t["feedback"] or ("passed" if t["status"] == "passed" else t["status"])
        tests.append({"name": f"{t['task']}: {t['description']}", "number": t["task"], "score": t["points"],
                      "max_score": t["max_points"], "status": "passed" if t["points"] >= t["max_points"] else "failed",
                      "output": output, "tags": tags,
                      "visibility": "after_published" if t["visibility"] == "hidden" else "visible"})
    for project, nb in sorted(notebooks(record).items()):
        pending = " (written answers: graded by hand later)" if nb.get("needs_manual_grade") else ""
        tests.append({"name": f"{project}.ipynb: autograded answers{pending}", "number": f"{project}.ipynb",
                      "score": nb.get("score", 0.0), "max_score": nb.get("max_score", 0.0),
                      "status": "passed" if nb.get("score", 0.0) >= nb.get("max_score", 0.0) else "failed",
                      "output": "\n".join(nb.get("flags", [])) or "graded by nbgrader", "tags": [project, "notebook"],
                      "visibility": "visible"})
    summary = [headline(record)] + [f"{e['project']}/{e['file']}: {e['message']}" for e in view.get("import_errors", [])]
    results = {"score": total(record), "execution_time": round(record.seconds), "output": "\n".join(summary),
               "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}
    board = [{"name": b["name"], "value": round(float(b["ratio"]), 4), "order": "asc"}
             for b in benchmarks(record) if isinstance(b.get("ratio"), (int, float))]
    if board:
        results["leaderboard"] = board
    return results


def write_gradescope(folder: Path, record: Record, reveal_hidden: bool = False) -> Path:
    return write_json(folder / record.student / "results.json", gradescope_results(record, reveal_hidden))


def write_all(out: Path, records: list[Record], *, reveal_hidden: bool = False) -> list[Path]:
    """Every output of the class into ``out``; returns the main paths."""
    from autograder.batch.class_report import write_report

    out = Path(out)
    paths = [write_csv(out / "grades.csv", records)]
    for record in records:
        write_feedback(out / "feedback", record, reveal_hidden)
        write_gradescope(out / "gradescope", record, reveal_hidden)
    paths += [out / "feedback", out / "gradescope"]
    paths.append(write_report(out, records))
    return paths
