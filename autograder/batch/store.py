"""The class's results, kept in SQLite in the output folder (``grades.sqlite``), one row per student.

A row is written in one transaction when a submission's grading finishes, so a run killed at any moment loses only
the submissions in flight. Each row carries the hash of the graded files and the hash of the grading (what decides a
grade besides the submission): a rerun grades again exactly the rows whose hashes differ, and every row whose grading
failed (``grader_error``).

The store is versioned (``meta.store_version``): a store of an older kit is migrated when it is opened (in one
transaction), a store of a newer kit is refused with a message, never misread.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.record import GradeReport, SchemaError

STORE_VERSION = 2  # 1: no meta table, reports of schema 0 and status "error"; 2: typed reports (autograder.record)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key       TEXT PRIMARY KEY,
    value     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    student   TEXT PRIMARY KEY,
    digest    TEXT NOT NULL,   -- the graded files (autograder.batch.intake.digest)
    grading   TEXT NOT NULL,   -- what decides a grade besides them (autograder.batch.runner.grading_digest)
    status    TEXT NOT NULL,   -- RowStatus: graded | unusable | grader_error
    problem   TEXT NOT NULL,   -- why an unusable entry was not graded, or what failed in the grader
    report    TEXT,            -- the grade report (GradeReport.to_json), for a graded entry
    seconds   REAL NOT NULL,   -- wall-clock seconds of its grading
    source    TEXT NOT NULL,   -- the entry's name in the class folder
    graded_at TEXT NOT NULL
);
"""
COLUMNS = ("student", "digest", "grading", "status", "problem", "report", "seconds", "source", "graded_at")


class RowStatus(enum.Enum):
    """A row's state: graded (a report), unusable (the entry could not be graded: its problem says why), or
    grader_error (the grader failed: retried by the next run, never shown as a real 0)."""

    GRADED = "graded"
    UNUSABLE = "unusable"
    GRADER_ERROR = "grader_error"


@dataclass
class Record:
    student: str
    digest: str
    grading: str
    status: RowStatus
    problem: str = ""
    report: GradeReport | None = None
    seconds: float = 0.0
    source: str = ""
    graded_at: str = ""

    @property
    def final(self) -> bool:
        """Nothing to do again for the same files and grading (a grader error is retried)."""
        return self.status is not RowStatus.GRADER_ERROR


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._open()
        except BaseException:
            self.db.close()
            raise

    def _open(self) -> None:
        tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" in tables:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()
            version = int(row[0]) if row else 0
        else:
            version = 1 if "results" in tables else STORE_VERSION
        if version > STORE_VERSION or version < 1:
            raise SchemaError(f"{self.path} was written by another version of the kit (store version {version}; "
                              f"this kit reads {STORE_VERSION} and migrates older ones): grade into a new --out "
                              "folder, or use the kit that wrote it")
        with self.db:
            self.db.executescript(SCHEMA) if version == STORE_VERSION else self._migrate_v1()
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('store_version', ?)", (str(STORE_VERSION),))

    def _migrate_v1(self) -> None:
        """Version 1 → 2, inside the caller's transaction: reports to the typed schema, "error" rows to grader_error."""
        rows = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM results").fetchall()
        self.db.execute("ALTER TABLE results RENAME TO results_v1")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                self.db.execute(statement)
        for row in rows:
            values = dict(zip(COLUMNS, row))
            if values["report"]:
                values["report"] = json.dumps(GradeReport.from_json(json.loads(values["report"])).to_json())
            if values["status"] not in {s.value for s in RowStatus}:
                values["status"] = RowStatus.GRADER_ERROR.value
            self._insert(values)
        self.db.execute("DROP TABLE results_v1")

    def _insert(self, values: dict) -> None:
        self.db.execute(f"INSERT OR REPLACE INTO results ({', '.join(COLUMNS)}) "
                        f"VALUES ({', '.join('?' for _ in COLUMNS)})", tuple(values[c] for c in COLUMNS))

    def put(self, record: Record) -> None:
        """Insert or replace ``record``, in one transaction."""
        record.graded_at = record.graded_at or time.strftime("%Y-%m-%dT%H:%M:%S%z")
        values = {"student": record.student, "digest": record.digest, "grading": record.grading,
                  "status": record.status.value, "problem": record.problem,
                  "report": json.dumps(record.report.to_json()) if record.report is not None else None,
                  "seconds": record.seconds, "source": record.source, "graded_at": record.graded_at}
        with self.db:
            self._insert(values)

    def get(self, student: str) -> Record | None:
        row = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM results WHERE student = ?", (student,)).fetchone()
        return self._record(row) if row else None

    def all(self) -> dict[str, Record]:
        rows = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM results ORDER BY student")
        return {row[0]: self._record(row) for row in rows}

    @staticmethod
    def _record(row) -> Record:
        v = dict(zip(COLUMNS, row))
        report = GradeReport.from_json(json.loads(v["report"])) if v["report"] else None
        return Record(v["student"], v["digest"], v["grading"], RowStatus(v["status"]), v["problem"], report,
                      v["seconds"], v["source"], v["graded_at"])

    def close(self) -> None:
        self.db.close()
