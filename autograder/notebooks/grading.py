"""Grading a student's notebooks with nbgrader, as part of ``autograder grade --nbgrader DIR``.

For each project, the student's folder is copied into ``DIR/submitted/<id>/<project>/`` and nbgrader's own
``nbgrader autograde <project> --student <id>`` runs in the course folder (its configuration executes the notebook
in the sandbox). The points come back through nbgrader's gradebook API, which also holds the written answers'
scores once they are graded in the formgrader: reading them again (:func:`scores`) merges the manual grades
without grading anything again.

Before nbgrader sees a notebook it is checked against the release, and each problem becomes a flag on the student,
never a crash: a missing notebook (0 points), one that is not valid JSON (0 points), a deleted graded cell, a
changed locked cell (nbgrader restores it from the source before grading).

Integrity (issue 25): the test cells are checked outside the student's kernel (:mod:`.checks`), nbgrader and the
notebook runner start with ``python -P``, so nothing of the submission replaces them; a project folder that ships a
package named like the kit's or the notebook machinery's (``autograder/``, ``course/``, ``nbgrader/``,
``ipykernel_launcher.py``…), and a capture record that no capture cell wrote, are flagged: typed in
:attr:`NotebookGrade.integrity` (flag ``integrity``), and as a sentence in the flags.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

from autograder.integrity import KIT_NAMES, module_name
from autograder.notebooks.checks import REPORT_ENV
from autograder.notebooks.course import COURSE_ID, nbgrader
from autograder.record import NotebookGrade
from course import handin
from course.handin import copy_files, tree_files
from course.submission import PROJECTS

# what nbgrader, its runner and the kernel import before any cell runs, besides the kit's own packages
NOTEBOOK_NAMES = KIT_NAMES | {"nbgrader", "nbformat", "nbclient", "nbconvert", "jupyter_client", "jupyter_core",
                              "ipykernel", "ipykernel_launcher", "IPython", "traitlets", "zmq", "tornado", "sqlalchemy"}
LOCK = threading.Lock()  # nbgrader's gradebook is one SQLite file: one autograde at a time from this process


def is_course(folder: Path) -> bool:
    return (folder / "nbgrader_config.py").is_file() and (folder / "gradebook.db").is_file()


def check(notebook: Path, released: Path) -> tuple[bool, list[str]]:
    """``(gradable, flags)`` of a submitted notebook compared with the released one."""
    import nbformat
    from nbgrader.utils import compute_checksum

    if not notebook.is_file():
        return False, [f"{notebook.name} is missing"]
    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook
        return False, [f"{notebook.name} is not a valid notebook ({type(exc).__name__}: {str(exc)[:120]})"]
    ref = nbformat.read(str(released), as_version=4)
    submitted = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    flags = []
    for cell in ref.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not grade_id or not (meta.get("grade") or meta.get("solution") or meta.get("locked")):
            continue
        if grade_id not in submitted:
            flags.append(f"{notebook.name}: cell {grade_id} was deleted")
        elif meta.get("locked") and compute_checksum(submitted[grade_id]) != meta.get("checksum"):
            flags.append(f"{notebook.name}: locked cell {grade_id} was changed (restored from the source for grading)")
    return True, flags


def shadowing(folder: Path) -> list[str]:
    """The entries of a project folder named like a package the notebook's grading relies on, sorted."""
    if not folder.is_dir():
        return []
    return sorted(entry.name + ("/" if entry.is_dir() else "") for entry in folder.iterdir()
                  if module_name(entry) in NOTEBOOK_NAMES)


def autograde(course: Path, project: str, student: str, sandbox: str, timeout: float) -> tuple[str, list[str]]:
    """nbgrader's autograde of one notebook: ``(a problem, or "", the signs of forged captures)``."""
    fd, report = tempfile.mkstemp(prefix="autograder-notebook-", suffix=".jsonl")
    os.close(fd)
    try:
        with LOCK:
            done = nbgrader(course, "autograde", project, "--student", student, "--force",
                            f"--SandboxedExecute.sandbox={sandbox}", timeout=timeout, env={REPORT_ENV: report})
        forged = [sign for line in Path(report).read_text().splitlines() if line.strip()
                  for sign in json.loads(line).get("forged", [])]
    finally:
        os.unlink(report)
    problem = ""
    if done.returncode != 0:
        tail = " ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        problem = f"nbgrader autograde of {handin.notebook(project)} failed: {tail[:300]}"
    return problem, forged


def grade(course: Path, student: str, root: Path, *, sandbox: str = "require", timeout: float = 900) -> dict:
    """Autograde every project's notebook of ``student`` (their folder ``root``); returns :func:`scores`' entry with
    the flags found on the way."""
    results: dict[str, NotebookGrade] = {}
    for project in PROJECTS:
        target = course / "submitted" / student / project
        shutil.rmtree(target, ignore_errors=True)
        copy_files(root / project, tree_files(root / project), target)
        notebook = target / handin.notebook(project)
        gradable, flags = check(notebook, course / "release" / project / handin.notebook(project))
        integrity = []
        shadows = shadowing(target)
        if shadows:
            integrity.append(f"{project} ships {', '.join(shadows)}, named like a package the notebook's grading "
                             "uses: nbgrader and the kit never loaded it (python -P); flagged for review")
        if not gradable:
            notebook.unlink(missing_ok=True)
        else:
            problem, forged = autograde(course, project, student, sandbox, timeout)
            if problem:
                flags.append(problem)
            if forged:
                integrity.append(f"{notebook.name}: a cell wrote capture records of its own ({'; '.join(forged[:3])})"
                                 "; those test cells scored 0")
        results[project] = NotebookGrade(flags=flags + integrity, graded=gradable, integrity=integrity)
    merged = scores(course, [student]).get(student, {})
    for project, grade in results.items():
        grade.update(merged.get(project, {"score": 0.0, "max_score": max_score(course, project),
                                          "needs_manual_grade": False, "cells": []}))
    return results


def max_score(course: Path, project: str) -> float:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        try:
            return float(gb.find_assignment(project).max_score)
        except MissingEntry:
            return 0.0


def scores(course: Path, students: list[str]) -> dict[str, dict]:
    """student → project → points from nbgrader's gradebook: ``score`` (auto + manual), ``max_score``,
    ``needs_manual_grade`` and each graded cell's scores."""
    from nbgrader.api import Gradebook, MissingEntry

    found: dict[str, dict] = {}
    with LOCK, Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        for student in students:
            for project in PROJECTS:
                try:
                    sub = gb.find_submission(project, student)
                except MissingEntry:
                    continue
                cells = [{"cell": g.name, "auto_score": g.auto_score, "manual_score": g.manual_score,
                          "score": float(g.score), "max_score": float(g.max_score),
                          "needs_manual_grade": bool(g.needs_manual_grade)}
                         for nb in sub.notebooks for g in nb.grades]
                found.setdefault(student, {})[project] = {
                    "score": float(sub.score), "max_score": float(sub.max_score),
                    "needs_manual_grade": bool(sub.needs_manual_grade), "cells": cells}
    return found
