"""What the student controls (output, messages, names) cannot break an output: Markdown fences hold, control
characters are shown as escapes in the terminal table, .md, .html, JSON and CSV, spreadsheet formulas are
neutralised, and look-alike ids are flagged on both rows."""

from __future__ import annotations

import csv
import re

from autograder import rubric
from autograder.batch import intake, outputs
from autograder.batch.store import Record, RowStatus
from autograder.record import CaseResult, GradeReport, Status
from autograder.report import render, score
from autograder.sandbox.judge import StudentError

HOSTILE = "printed:\n```\n</pre><script>alert(1)</script>\n\x1b[2J\x1b]52;c;ZXZpbA==\x07 evil \u202egnp.exe\r"


def report(feedback: str = HOSTILE) -> GradeReport:
    task = rubric.TASKS[0]
    result = score([CaseResult(task=task.id, test=task.id, status=Status.EXCEPTION, feedback=feedback)], [task.id])
    result.seconds = 1.0
    return result


def no_control(text: str) -> bool:
    return not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)


def test_the_student_s_text_is_escaped_at_the_source():
    exc = StudentError("exception", "boom \x1b[2J", where="models.py, line 1\x1b]0;x\x07",
                       details="tb \x9b", output=HOSTILE)
    for text in (exc.message, exc.where, exc.details, exc.output):
        assert no_control(text), repr(text)
    assert "\\x1b[2J" in exc.message


def test_the_terminal_table_shows_escapes():
    text = render(report())
    assert no_control(text) and "\\x1b]52" in text


def test_markdown_feedback_cannot_be_broken_out_of(tmp_path):
    record = Record("alice", "d", "g", RowStatus.GRADED, report=report(HOSTILE + "\n````` five\n"))
    md, page = outputs.write_feedback(tmp_path, record)
    text = md.read_text()
    fences = re.findall(r"^(`{3,})", text, flags=re.MULTILINE)
    assert fences[0] == fences[-1] and len(fences[0]) > 5, fences  # opened and closed by the same, longer fence
    assert text.count(fences[0]) == 2, "the student's text contains the fence"
    assert no_control(text) and no_control(page.read_text()) and "<script>" not in page.read_text()


def test_csv_cells_are_no_formulas_and_lookalike_ids_are_flagged(tmp_path):
    records = [Record("+1+2", "d", "g", RowStatus.GRADED, report=report()),
               Record("@A1", "d", "g", RowStatus.UNUSABLE, problem="=cmd|' -C calc'!A0.zip: corrupt"),
               Record("alice", "d", "g", RowStatus.GRADED, report=report()),
               Record("\u0430lice", "d", "g", RowStatus.GRADED, report=report())]  # Cyrillic а
    path = outputs.write_csv(tmp_path / "grades.csv", records)
    rows = list(csv.DictReader(path.open(newline="")))
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")) and no_control(value), row
    by_id = {row["student_id"].lstrip("'"): row for row in rows}
    assert "looks like \u0430lice" in by_id["alice"]["problem"], by_id["alice"]
    assert "looks like alice" in by_id["\u0430lice"]["problem"], by_id["\u0430lice"]


def test_ids_are_unicode_normalised():
    assert intake.student_id("\uff41\uff4c\uff49\uff43\uff45.zip") == "alice"  # full-width letters
