"""The class's results, kept in SQLite in the output folder (``grades.sqlite``), one row per student.

A row is written in one transaction when a submission's grading finishes, so a run killed at any moment loses only
the submissions in flight. Each row carries the hash of the graded files and the hash of the grading (the kit's
grading code and the options that change a grade): a rerun grades again exactly the rows whose hashes differ.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    student   TEXT PRIMARY KEY,
    digest    TEXT NOT NULL,   -- the graded files (autograder.batch.intake.digest)
    grading   TEXT NOT NULL,   -- the grading code and options (autograder.batch.runner.grading_digest)
    status    TEXT NOT NULL,   -- graded | unusable
    problem   TEXT NOT NULL,   -- why an unusable entry was not graded
    report    TEXT,            -- the grade report (JSON), for a graded entry
    seconds   REAL NOT NULL,   -- wall-clock seconds of its grading
    source    TEXT NOT NULL,   -- the entry's name in the class folder
    graded_at TEXT NOT NULL
)
"""


@dataclass
class Record:
    student: str
    digest: str
    grading: str
    status: str
    problem: str = ""
    report: dict | None = None
    seconds: float = 0.0
    source: str = ""
    graded_at: str = ""


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(SCHEMA)
        self.db.commit()

    def put(self, record: Record) -> None:
        """Insert or replace ``record``, in one transaction."""
        record.graded_at = record.graded_at or time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.student, record.digest, record.grading, record.status, record.problem,
                 json.dumps(record.report) if record.report is not None else None, record.seconds, record.source,
                 record.graded_at))

    def get(self, student: str) -> Record | None:
        row = self.db.execute("SELECT * FROM results WHERE student = ?", (student,)).fetchone()
        return self._record(row) if row else None

    def all(self) -> dict[str, Record]:
        return {row[0]: self._record(row) for row in self.db.execute("SELECT * FROM results ORDER BY student")}

    @staticmethod
    def _record(row) -> Record:
        student, digest, grading, status, problem, report, seconds, source, graded_at = row
        return Record(student, digest, grading, status, problem, json.loads(report) if report else None, seconds,
                      source, graded_at)

    def close(self) -> None:
        self.db.close()
