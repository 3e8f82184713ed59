"""What a student hands in: the files a student writes, and which files of a folder are the submission.

One contract for every tool that takes a submission's files — the worker's private copy (``sandbox/judge.py``), the
batch's hash and Dask packing (``batch/intake.py``, ``batch/runner.py``), the nbgrader copies
(``notebooks/grading.py``, ``notebooks/execute.py``), the similarity texts and, for the kit's own trees, the release
and the Gradescope zip: :func:`tree_files` lists the regular files of a folder, relative and in a fixed order,
never following a symbolic link (a link a student hands in is not a file of theirs: it is left out, not read), and
skipping virtual environments, caches, version control, build folders and run outputs. Reading goes through
:func:`open_file` (which refuses a link swapped in since the listing); hashing and copying stream.

The table :data:`STUDENT_FILES` names the files a student writes, per project; the notebook is
``<project>.ipynb`` (:func:`notebook`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from course.submission import PROJECTS

# the files a student writes, per project (the notebook aside: see notebook())
STUDENT_FILES: dict[str, tuple[str, ...]] = {
    "project1": ("models.py", "train.py"),
    "project2": ("framework.py", "circle.py"),
}
# folders that are never part of a submission: caches, virtual environments, version control, builds, run outputs
SKIPPED_DIRS = frozenset({
    "__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox",
    ".venv", "venv", ".git", ".hg", ".svn", "build", "dist", "node_modules", "results", "out",
})
SKIPPED_DIR_SUFFIXES = (".egg-info",)
VENV_MARKER = "pyvenv.cfg"  # a folder holding it is a virtual environment, whatever its name
# files that are never part of a submission: compiled Python, editor and desktop droppings
SKIPPED_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
CHUNK = 1 << 16


def notebook(project: str) -> str:
    """The notebook of ``project`` (``project1.ipynb``)."""
    return f"{project}.ipynb"


def handed_in(project: str) -> tuple[str, ...]:
    """Every file a student hands in for ``project``: the ``.py`` files they write, then the notebook."""
    return (*STUDENT_FILES[project], notebook(project))


def _skipped_dir(name: str) -> bool:
    return name in SKIPPED_DIRS or name.endswith(SKIPPED_DIR_SUFFIXES)


def _skipped_file(name: str) -> bool:
    return name in SKIPPED_FILES or name.endswith(SKIPPED_SUFFIXES)


def tree_files(folder: str | Path) -> list[PurePosixPath]:
    """The regular files under ``folder``, relative to it, sorted; links are never followed nor listed, and the
    skipped folders (:data:`SKIPPED_DIRS`, any virtual environment) and files are left out. A folder that is missing,
    a link, or unreadable has no files."""
    found: list[PurePosixPath] = []

    def walk(directory: str, rel: PurePosixPath) -> None:
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            return
        if rel.parts and any(e.name == VENV_MARKER for e in entries):
            return  # a virtual environment, whatever its name
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not _skipped_dir(entry.name):
                        walk(entry.path, rel / entry.name)
                elif entry.is_file(follow_symlinks=False) and not _skipped_file(entry.name):
                    found.append(rel / entry.name)
            except OSError:
                continue

    folder = Path(folder)
    if folder.is_dir() and not folder.is_symlink():
        walk(str(folder), PurePosixPath())
    return sorted(found, key=str)


def submission_files(root: str | Path, projects: Iterable[str] = PROJECTS) -> list[PurePosixPath]:
    """The files of the submission in ``root`` (a folder laid out like ``assignments/``), relative to ``root``:
    those of :func:`tree_files` under each of ``projects`` (by default both), in a fixed order."""
    root = Path(root)
    return [PurePosixPath(project) / rel for project in projects for rel in tree_files(root / project)]


def open_file(root: str | Path, rel: str | PurePosixPath):
    """``root/rel`` opened for reading in binary, refusing a link (``OSError``) in its last component."""
    fd = os.open(Path(root) / rel, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    return os.fdopen(fd, "rb")


def copy_files(root: str | Path, files: Iterable[str | PurePosixPath], target: str | Path) -> list[PurePosixPath]:
    """Copy ``files`` (relative to ``root``) into ``target`` (created), streaming; a file that cannot be read (it
    vanished, turned into a link, or is not readable) is left out. Returns the files copied."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for rel in files:
        try:
            source = open_file(root, rel)
        except OSError:
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        with source, open(out, "wb") as sink:
            shutil.copyfileobj(source, sink, CHUNK)
        copied.append(PurePosixPath(rel))
    return copied


def hash_files(root: str | Path, files: Iterable[str | PurePosixPath], h=None):
    """``files`` (relative to ``root``) hashed into ``h`` (a new SHA-256 by default) as path, NUL, bytes, NUL, reading
    each file in chunks; a file that cannot be read counts by its path and a marker. Returns ``h``."""
    h = hashlib.sha256() if h is None else h
    for rel in files:
        h.update(str(PurePosixPath(rel)).encode() + b"\0")
        try:
            with open_file(root, rel) as source:
                while chunk := source.read(CHUNK):
                    h.update(chunk)
        except OSError:
            h.update(b"\0unreadable")
        h.update(b"\0")
    return h
