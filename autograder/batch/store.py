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

STORE_VERSION = 3  # 1: no meta table, reports of schema 0 and status "error"; 2: typed reports (autograder.record);
#                   3: a history table (overrides and late penalties applied, kept across regrades)

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
CREATE TABLE IF NOT EXISTS history (
    id        INTEGER PRIMARY KEY,
    student   TEXT NOT NULL,
    kind      TEXT NOT NULL,   -- "override" | "late": what was applied on top of the grading
    detail    TEXT NOT NULL,   -- JSON: what it was (the override's row, or the lateness and the penalty)
    at        TEXT NOT NULL,   -- when this kit first applied it
    UNIQUE (student, kind, detail)
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
    adjustments: str = ""  # not stored: the semester's late penalty and overrides, for the feedback (a run's view)
    same_id: tuple[str, ...] = ()  # not stored: the keys of the entries whose ids fold alike (a run's view)

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
            # version 2 → 3 only adds the history table (CREATE TABLE IF NOT EXISTS)
            self._migrate_v1() if version == 1 else self.db.executescript(SCHEMA)
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

    def log(self, student: str, kind: str, detail: dict) -> bool:
        """Keep in the history that ``kind`` (``detail``) applied to ``student``; False if it was already kept."""
        text = json.dumps(detail, sort_keys=True, ensure_ascii=False)
        with self.db:
            cursor = self.db.execute("INSERT OR IGNORE INTO history (student, kind, detail, at) VALUES (?, ?, ?, ?)",
                                     (student, kind, text, time.strftime("%Y-%m-%dT%H:%M:%S%z")))
        return cursor.rowcount == 1

    def history(self, student: str | None = None) -> list[tuple[str, str, dict, str]]:
        """(student, kind, detail, at) in the order they were first applied."""
        query = "SELECT student, kind, detail, at FROM history" + (" WHERE student = ?" if student else "")
        rows = self.db.execute(query + " ORDER BY id", (student,) if student else ())
        return [(s, k, json.loads(d), a) for s, k, d, a in rows]

    def close(self) -> None:
        self.db.close()
