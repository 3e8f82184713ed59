"""What every LMS reader shares: the layouts, a student's submission as read from the download, the prepared class,
the reading context, and the small folder helpers (:mod:`autograder.lms` and its readers import this)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Protocol


class Layout(enum.Enum):
    CANVAS = "canvas"
    MOODLE = "moodle"
    BLACKBOARD = "blackboard"
    GITHUB_CLASSROOM = "github-classroom"
    FOLDERS = "folders"

    @property
    def label(self) -> str:
        return {Layout.CANVAS: "a Canvas download (Download Submissions)",
                Layout.MOODLE: "a Moodle download (Download all submissions)",
                Layout.BLACKBOARD: "a Blackboard download (attempts)",
                Layout.GITHUB_CLASSROOM: "a GitHub Classroom clone (one git repository per student)",
                Layout.FOLDERS: "plain folders (one folder or archive per student)"}[self]


CHOICES = ("auto", *(layout.value for layout in Layout))


@dataclass
class Submission:
    """What the LMS says about one student's entry."""

    key: str                      # the entry's id in the staging folder, the store and the outputs
    student: str = ""             # the roster's student_id it matched ("" when it matched nobody, or no roster)
    lms_id: str = ""              # the LMS's id: Canvas user id, Moodle participant id, Blackboard or GitHub username
    name: str = ""                # the name as the LMS wrote it
    source: str = ""              # what it came from (file or folder names in the download)
    submitted_at: datetime | None = None   # aware; None when the LMS does not say
    late: bool = False            # the LMS's own late flag (Canvas's _LATE)
    attempts: list[str] = field(default_factory=list)       # the attempts seen, the graded one first
    graded_commit: str = ""       # GitHub Classroom: the commit graded
    later_commits: list[str] = field(default_factory=list)  # GitHub Classroom: commits after the limit, not graded
    folder_name: str = ""         # Moodle: the download's folder name (the feedback zip reuses it)
    problem: str = ""             # what went wrong while staging it


@dataclass
class Prepared:
    """The class ready for the intake: ``folder`` (absolute) holds one entry per student."""

    layout: Layout
    folder: Path
    submissions: dict[str, Submission]
    detected: bool = True         # recognised by --lms auto (False: named by the instructor)

    def summary(self) -> str:
        how = "recognised" if self.detected else "read as"
        return f"{how} {self.layout.label}: {len(self.submissions)} student(s)"

    def explain(self, entries) -> None:
        """Put what staging found wrong first in an unusable entry's problem (the intake only sees the result)."""
        for entry in entries:
            sub = self.submissions.get(entry.student)
            if sub is not None and sub.problem and not entry.usable:
                entry.problem = f"{sub.problem}; {entry.problem}" if entry.problem else sub.problem


class Roster(Protocol):
    def match(self, lms_id: str = "", name: str = "", login: str = "") -> str | None: ...


@dataclass
class Context:
    """What a reader needs besides the folder: where to stage, who is who, and until when commits count."""

    staging: Path
    roster: Roster | None = None
    limit: Callable[[str], datetime | None] = lambda student: None
    tz: tzinfo | None = None
    keys: dict[str, Submission] = field(default_factory=dict)

    def add(self, sub: Submission, fallback: str, login: str = "") -> Submission:
        """Give ``sub`` its key: the roster's student id, else ``fallback`` (the LMS's id); never twice the same."""
        from autograder.batch.intake import student_id
        from autograder.escape import id_fold

        found = self.roster.match(sub.lms_id, sub.name, login) if self.roster is not None else None
        sub.student = found or ""
        key = student_id(found or fallback)
        folded = {id_fold(k): k for k in self.keys}
        if id_fold(key) in folded:  # the same key, or one a case-insensitive file system would take for it
            sub.problem = (f"a second submission for {key} ({self.keys[folded[id_fold(key)]].source} and "
                           f"{sub.source}); both listed, this one under its LMS id")
            key = student_id(f"{key}-{sub.lms_id or len(self.keys)}")
            while id_fold(key) in folded:
                key = student_id(f"{key}-{len(self.keys)}")
        sub.key = key
        self.keys[key] = sub
        return sub

    def entry(self, key: str) -> tuple[Path, Path]:
        """The staged entry's folder and a scratch folder for it."""
        return self.staging / "class" / key, self.staging / "raw" / key


def visible(folder: Path) -> list[Path]:
    from autograder.batch.intake import listed

    return listed(folder)


def descend(folder: Path) -> Path:
    """Down through folders that hold only one folder and nothing else (a class archive's top folder,
    ``<assignment>-submissions/``), stopping at a submission or a repository."""
    from autograder.lms.staging import holds_project

    for _ in range(3):
        items = visible(folder)
        if len(items) != 1 or not items[0].is_dir() or holds_project(folder) or (folder / ".git").exists():
            break
        only = items[0]
        if holds_project(only) or (only / ".git").exists():
            break
        folder = only
    return folder
