"""A class as an LMS hands it over — a folder or the class archive itself — made into one folder per student.

  prepared = lms.prepare(path, "auto", staging, roster=roster, limit=limit, tz=tz)
  entries = intake.collect(prepared.folder, ...)        # the intake as before, on prepared.folder

:func:`detect` recognises the layout (:class:`Layout`): Canvas's "Download Submissions", Moodle's "Download all
submissions", Blackboard's attempts, a GitHub Classroom clone, or plain folders (one folder or archive per
student, what the intake has always read). Each reader (:mod:`.canvas`, :mod:`.moodle`, :mod:`.blackboard`,
:mod:`.github_classroom`) groups the files of one student, takes the ids the LMS gives, and stages one folder per
student with :func:`.staging.gather`; :class:`Submission` is what it learnt about each (typed, for the semester's
late policy, the roster and the LMS exports). Plain folders are not copied: the intake reads them where they are.

Every path is made absolute here, so the grading processes (which run in the kit's folder) find them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path

from autograder.lms.common import CHOICES, Context, Layout, Prepared, Roster, Submission, descend, visible
from course.errors import CourseError

__all__ = ["CHOICES", "Context", "Layout", "Prepared", "Roster", "Submission", "descend", "visible",
           "detect", "prepare"]


def detect(path: str | Path) -> Layout:
    """The layout of a class folder: the LMS whose naming most of its entries follow (at least half)."""
    from autograder.lms import blackboard, canvas, github_classroom, moodle

    folder = descend(Path(path))
    items = visible(folder)
    if not items:
        return Layout.FOLDERS
    for layout, module in ((Layout.GITHUB_CLASSROOM, github_classroom), (Layout.BLACKBOARD, blackboard),
                           (Layout.MOODLE, moodle), (Layout.CANVAS, canvas)):
        if 2 * sum(module.recognises(p) for p in items) >= len(items):
            return layout
    return Layout.FOLDERS


def _unpack_class(archive: Path, staging: Path) -> Path:
    from autograder.batch import intake

    target = staging / "download"
    shutil.rmtree(target, ignore_errors=True)
    try:
        intake.unpack(archive, target)
    except intake.ArchiveError as exc:
        raise CourseError(f"{archive}: {exc}; unpack it yourself and give the folder") from exc
    return target


def prepare(path: str | Path, lms: str = "auto", staging: str | Path = "staging", *, roster: Roster | None = None,
            limit: Callable[[str], datetime | None] | None = None, tz: tzinfo | None = None) -> Prepared:
    """The class at ``path`` (a folder, or the class archive) staged for the intake, as ``lms`` (or the layout
    :func:`detect` finds, for ``"auto"``) lays it out."""
    from autograder.batch.intake import ARCHIVES
    from autograder.lms import blackboard, canvas, folders, github_classroom, moodle

    if lms not in CHOICES:
        raise CourseError(f"--lms {lms!r} is not one of {', '.join(CHOICES)}")
    source = Path(path).expanduser().resolve()
    staging = Path(staging).expanduser().resolve()
    if not source.exists():
        raise CourseError(f"{path} does not exist; give the folder (or the archive) the LMS gave you")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if source.is_file():
        if not source.name.lower().endswith(ARCHIVES):
            raise CourseError(f"{path} is a file but not a .zip/.tar.gz archive; give the class folder or archive")
        source = _unpack_class(source, staging)
    folder = descend(source)
    layout = detect(folder) if lms == "auto" else Layout(lms)
    ctx = Context(staging, roster, limit or (lambda student: None), tz)
    reader = {Layout.CANVAS: canvas, Layout.MOODLE: moodle, Layout.BLACKBOARD: blackboard,
              Layout.GITHUB_CLASSROOM: github_classroom, Layout.FOLDERS: folders}[layout]
    submissions = reader.read(folder, ctx)
    staged = folder if layout is Layout.FOLDERS else staging / "class"
    staged.mkdir(parents=True, exist_ok=True)
    return Prepared(layout, staged, {s.key: s for s in submissions}, detected=lms == "auto")
