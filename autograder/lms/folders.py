"""Plain folders: one folder or archive per student, named by the student (what the intake has always read).

Nothing is staged: the intake reads the folder where it is. The entry's name is its id; a roster, when given,
is matched on it (student id, LMS id, login, GitHub username or name).
"""

from __future__ import annotations

from pathlib import Path

from autograder.batch.intake import student_id
from autograder.lms.common import Context, Submission, visible


def recognises(path: Path) -> bool:
    return True


def read(folder: Path, ctx: Context) -> list[Submission]:
    subs = []
    for path in visible(folder):
        key = student_id(path.name)
        found = ctx.roster.match(key, key, key) if ctx.roster is not None else None
        subs.append(Submission(key, student=found or "", source=path.name))
    return subs
