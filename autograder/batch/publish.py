"""Every output of a graded class, regenerated from the store after every run: ``grades.csv``, the feedback and
Gradescope files (:mod:`.outputs`) and ``report.html`` with its figures (:mod:`.class_report`)."""

from __future__ import annotations

from pathlib import Path

from autograder.batch.class_report import write_report
from autograder.batch.outputs import write_csv, write_feedback, write_gradescope
from autograder.batch.store import Record
from autograder.escape import file_stems


def write_all(out: Path, records: list[Record], *, reveal_hidden: bool = False) -> list[Path]:
    """Every output of the class into ``out``; returns the main paths."""
    out = Path(out)
    paths = [write_csv(out / "grades.csv", records)]
    stems = file_stems(r.student for r in records)  # never two alike on a case-insensitive file system
    for record in records:
        write_feedback(out / "feedback", record, reveal_hidden, stems[record.student])
        write_gradescope(out / "gradescope", record, reveal_hidden, stems[record.student])
    paths += [out / "feedback", out / "gradescope"]
    paths.append(write_report(out, records))
    return paths
