"""Grades back to the LMS: pure functions from the :class:`~autograder.semester.Final` rows to CSV rows, then one
writer (course.files' atomic writes).

* ``grades.csv``: the batch outputs' columns (:func:`autograder.batch.outputs.csv_rows`) with nbgrader export's
  ``raw_score`` (before), ``late_submission_penalty`` and ``score`` (after the penalty and overrides), plus
  ``submitted_at``, ``late_minutes``, the roster's and the LMS's fields; a row for every roster student;
* ``canvas.csv``: Canvas's gradebook import (``Student, ID, SIS User ID, SIS Login ID, Section,
  <assignment> (<id>)``), the grade being the total (score and bonus);
* ``moodle.csv``: the identifier columns Moodle maps (``Identifier`` as its grading worksheet writes it, ``Email
  address``, ``ID number``), the grade and the feedback together (a feedback column imported without its grade
  wipes the grades);
* ``feedback-moodle.zip``: each student's feedback page in the download's folder name (Moodle's "upload multiple
  feedback files in a zip"), for a Moodle download.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from autograder import rubric
from autograder.batch.outputs import csv_rows
from autograder.escape import file_stems
from autograder.record import Flag
from course.files import atomic_write

ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # entries' timestamps, so the same feedback gives the same zip


def _g(x: float) -> str:
    return f"{x:g}"


def grades_rows(finals) -> tuple[list[str], list[dict]]:
    columns, rows = csv_rows([f.record for f in finals if f.record is not None])
    by_student = {row["student_id"]: row for row in rows}
    columns = list(columns)
    columns.insert(columns.index("raw_score") + 1, "late_submission_penalty")
    columns += ["submitted_at", "late_minutes", "late", "name", "email", "section", "lms_id", "roster",
                "overrides"]
    out = []
    for f in finals:
        row = dict(by_student.get(f.key, {})) if f.record is not None else \
            {c: 0.0 for c in columns if c.startswith(("p1.", "p2."))}
        sub, st = f.submission, f.student
        row.update({
            "student_id": f.student_id, "raw_score": f.raw_score, "late_submission_penalty": f.penalty,
            "score": f.score, "bonus": f.bonus, "total": f.total, "max_score": f.max_score, "status": f.status,
            "submitted_at": f.submitted_at.isoformat() if f.submitted_at else "",
            "late_minutes": "" if f.lateness.minutes is None else max(0, round(f.lateness.minutes)),
            "late": f.lateness.why if f.lateness.late else "",
            "name": st.name if st is not None else (getattr(sub, "name", "") or ""),
            "email": st.email if st is not None else "", "section": st.section if st is not None else "",
            "lms_id": (getattr(sub, "lms_id", "") or "") or (st.lms_id if st is not None else ""),
            "roster": "" if not f.unmatched else "not on the roster",
            "overrides": "; ".join(o.text() for o in f.overrides)})
        row.setdefault("max_bonus", rubric.bonus_total())
        if f.unmatched:
            row["flags"] = ";".join(x for x in (str(row.get("flags", "")), "not_on_roster") if x)
        out.append(row)
    return columns, out


def canvas_rows(finals, semester) -> tuple[list[str], list[dict]]:
    config = semester.config
    column = f"{semester.assignment} ({config.canvas_id})" if config is not None and config.canvas_id \
        else semester.assignment
    columns = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]
    rows = []
    for f in finals:
        st, sub = f.student, f.submission
        canvas_id = (st.lms_id if st is not None else "") or (getattr(sub, "lms_id", "") or "")
        same = f" [{Flag.SAME_ID.value}]" if f.record is not None and f.record.same_id else ""
        rows.append({"Student": (st.name if st is not None else (getattr(sub, "name", "") or f.key)) + same,
                     "ID": canvas_id, "SIS User ID": st.student_id if st is not None else "",
                     "SIS Login ID": st.sis_login_id if st is not None else "",
                     "Section": st.section if st is not None else "", column: _g(f.total)})
    return columns, rows


def moodle_rows(finals, semester) -> tuple[list[str], list[dict]]:
    columns = ["Identifier", "Full name", "Email address", "ID number", "Grade", "Maximum Grade",
               "Feedback comments"]
    rows = []
    for f in finals:
        st, sub = f.student, f.submission
        participant = getattr(sub, "lms_id", "") if getattr(sub, "folder_name", "") else ""
        summary = f"{_g(f.total)} / {_g(f.max_score)} ({f.status})"
        if f.lateness.late:
            summary += f"; late: -{_g(f.penalty)}"
        if f.overrides:
            summary += "; changed by hand: " + "; ".join(o.text() for o in f.overrides)
        if f.record is not None and f.record.same_id:
            summary += f"; flagged {Flag.SAME_ID.value}: {f.key} has the same id as {', '.join(f.record.same_id)}"
        rows.append({"Identifier": f"Participant {participant}" if participant else "",
                     "Full name": st.name if st is not None else (getattr(sub, "name", "") or f.key),
                     "Email address": st.email if st is not None else "",
                     "ID number": st.student_id if st is not None else f.key,
                     "Grade": _g(f.total), "Maximum Grade": _g(f.max_score), "Feedback comments": summary})
    return columns, rows


def moodle_feedback_zip(finals, feedback: Path) -> bytes | None:
    """The feedback pages in the Moodle download's folder names; None when no student came from Moodle."""
    members = []
    stems = file_stems(f.key for f in finals if f.record is not None)  # the names publish.write_all gave them
    for f in finals:
        folder = getattr(f.submission, "folder_name", "")
        page = feedback / f"{stems.get(f.key, '')}.html"
        if folder and f.key in stems and page.is_file():
            members.append((f"{folder}/feedback.html", page.read_bytes()))
    if not members:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(members):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buffer.getvalue()


def csv_text(columns: list[str], rows: list[dict]) -> str:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def write_all(out: Path, finals, semester) -> list[Path]:
    """grades.csv (replacing the batch outputs' one), canvas.csv, moodle.csv and, for a Moodle download,
    feedback-moodle.zip; returns their paths."""
    out = Path(out)
    paths = [atomic_write(out / "grades.csv", csv_text(*grades_rows(finals))),
             atomic_write(out / "canvas.csv", csv_text(*canvas_rows(finals, semester))),
             atomic_write(out / "moodle.csv", csv_text(*moodle_rows(finals, semester)))]
    archive = moodle_feedback_zip(finals, out / "feedback")
    if archive is not None:
        paths.append(atomic_write(out / "feedback-moodle.zip", archive))
    return paths
