"""The class list (``--roster roster.csv``): ``student_id`` required; ``name``, ``email``, ``lms_id``,
``sis_login_id``, ``section``, ``github`` optional. It maps what an LMS calls a student (Canvas or Moodle id,
login, GitHub username, name) to the course's student id; every student on it gets a row in the outputs.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from course.errors import CourseError

COLUMNS = ("student_id", "name", "email", "lms_id", "sis_login_id", "section", "github")


@dataclass(frozen=True)
class Student:
    student_id: str
    name: str = ""
    email: str = ""
    lms_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    github: str = ""


def _folded(name: str) -> str:
    """A name compared loosely: letters and digits only, lower case, accents dropped."""
    text = unicodedata.normalize("NFKD", name)
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in text if not unicodedata.combining(c)).lower())


def name_keys(name: str) -> set[str]:
    """``Ada Lovelace`` as Canvas (``lovelaceada``) and others write it: first-last, last-first, "Last, First"."""
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first} {last}"
    words = name.split()
    if not words:
        return set()
    return {_folded("".join(words)), _folded(words[-1] + "".join(words[:-1]))}


class Roster:
    def __init__(self, students: list[Student], path: Path | None = None):
        self.students = students
        self.path = path
        self.by_id = {s.student_id: s for s in students}
        self._exact: dict[str, str] = {}
        self._names: dict[str, set[str]] = {}
        for s in students:
            for value in (s.student_id, s.lms_id, s.sis_login_id, s.github.lower(), s.email.lower(),
                          s.email.split("@")[0].lower()):
                if value:
                    self._exact.setdefault(value, s.student_id)
            for key in name_keys(s.name):
                self._names.setdefault(key, set()).add(s.student_id)

    def match(self, lms_id: str = "", name: str = "", login: str = "") -> str | None:
        """The student id of the roster student an LMS's fields name: by id or login first, then by name when
        exactly one student has it."""
        for value in (lms_id, login, login.lower()):
            if value and value in self._exact:
                return self._exact[value]
        for key in name_keys(name) | ({_folded(name)} if name else set()):
            found = self._names.get(key, set())
            if len(found) == 1:
                return next(iter(found))
        return None


def load(path: str | Path) -> Roster:
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CourseError(f"{path} does not exist; give --roster a CSV with a student_id column") from None
    except UnicodeDecodeError:
        raise CourseError(f"{path} is not UTF-8 text; save the roster as CSV UTF-8") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if "student_id" not in header:
        raise CourseError(f"{path}: no student_id column (found: {', '.join(header) or 'nothing'}); the roster "
                          f"needs student_id, and may have {', '.join(COLUMNS[1:])}")
    students, seen = [], set()
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        sid = row.get("student_id", "")
        if not sid:
            raise CourseError(f"{path}, line {line}: empty student_id; every row needs one")
        if sid in seen:
            raise CourseError(f"{path}, line {line}: student_id {sid} appears twice; keep one row per student")
        seen.add(sid)
        students.append(Student(**{c: row.get(c, "") for c in COLUMNS}))
    return Roster(students, path.resolve())
