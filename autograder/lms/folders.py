"""Plain folders: one folder or archive per student, named by the student (what the intake has always read).

Nothing is staged: the intake reads the folder where it is. The entry's name is its id, and its key the intake's
(:func:`autograder.batch.intake.assign_ids`: entries whose ids fold alike are all kept, the others under
``<id>~<hex>``); a roster, when given, is matched on the key (student id, LMS id, login, GitHub username or name).
An entry that lost its plain id to another is matched to nobody: it is listed under its own key, flagged, never
merged into the roster row the plain entry matched.
"""

from __future__ import annotations

from pathlib import Path

from autograder.batch.intake import SAME_ID, assign_ids
from autograder.lms.common import Context, Submission, visible


def recognises(path: Path) -> bool:
    return True


def read(folder: Path, ctx: Context) -> list[Submission]:
    subs = []
    paths = visible(folder)
    keys = assign_ids(paths)
    for path in paths:
        key, _ = keys[path.name]
        found = ctx.roster.match(key, key, key) if ctx.roster is not None and SAME_ID not in key else None
        subs.append(Submission(key, student=found or "", source=path.name))
    return subs
