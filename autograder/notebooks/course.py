"""An nbgrader course directory for the kit's two notebooks, made by nbgrader itself.

``autograder nbgrader DIR`` writes ``DIR/nbgrader_config.py`` and ``DIR/source/<project>/`` — the solution notebook
(nbgrader's source format: solution and hidden-test regions, grade cells) beside the released skeleton ``.py``
files — then runs nbgrader's own ``nbgrader generate_assignment`` for each project, which fills the gradebook
(``DIR/gradebook.db``) and writes ``DIR/release/``. The released notebooks must equal the kit's own release in
``assignments/``: one source, two tools, one result (checked after every generation).

The configuration keeps the students' ``.py`` files when autograding (``exclude_overwriting``: the notebooks import
them), and executes notebooks inside the kit's sandbox (:mod:`.execute`). nbgrader's commands and its formgrader
work on the folder unchanged: ``cd DIR && nbgrader autograde project1``, ``jupyter lab`` → Formgrader.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.templating import render
from course.errors import CourseError
from course.files import atomic_write
from course.handin import STUDENT_FILES
from course.submission import KIT_ROOT, PROJECTS

COURSE_ID = "dl-miniprojects"

# the kit's own folders (a kit test checks that git tracks no other): nbgrader writes its configuration, gradebook
# and folders into the course folder, and one inside solutions/ would ship with the next `autograder release`
KIT_FOLDERS = (".ci", "assignments", "autograder", "benchmarks", "course", "docs", "examples", "scripts", "solutions",
               "tests")


def check_destination(folder: Path) -> None:
    """Refuse a course folder that is the kit's root, lies inside one of its folders, or holds the kit."""
    folder = Path(folder).expanduser().resolve()
    inside = next((name for name in KIT_FOLDERS if folder == KIT_ROOT / name or KIT_ROOT / name in folder.parents),
                  None)
    if inside is not None or folder == KIT_ROOT or folder in KIT_ROOT.parents:
        where = f"inside the kit's {inside}/" if inside else "the kit's root" if folder == KIT_ROOT else \
            "a folder that holds the kit"
        raise CourseError(f"{folder} is {where}: nbgrader would write its configuration and gradebook among the "
                          f"kit's files; choose a folder of its own for the nbgrader course, such as "
                          f"{KIT_ROOT / 'course-nb'}")


def nbgrader(folder: Path, *args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run an ``nbgrader`` command in the course folder (its configuration applies), with ``python -P``: no folder
    of the course (nor of a submission in it) on its ``sys.path``, so nbgrader and the kit come from the kit."""
    return subprocess.run([sys.executable, "-P", "-m", "nbgrader", *args], cwd=str(folder), capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env} if env else None)


def write_config(folder: Path, *, sandbox: str = "require", cell_timeout: int = 60, notebook_timeout: float = 300,
                 memory: str = "4G") -> Path:
    exclude = {p: list(STUDENT_FILES[p]) for p in PROJECTS}
    text = render("nbgrader_config.py.j2", course_id=COURSE_ID, exclude=exclude, sandbox=sandbox,
                  cell_timeout=int(cell_timeout), notebook_timeout=float(notebook_timeout), memory=memory)
    return atomic_write(folder / "nbgrader_config.py", text)


def _notebook_cells(path: Path) -> list:
    return json.loads(path.read_text())["cells"]


def make_course(folder: str | Path, **config) -> Path:
    """Write (or refresh) the course in ``folder`` and generate both assignments with nbgrader; returns the folder.

    A CourseError names what failed: nbgrader's own message, or a released notebook that differs from the kit's.
    """
    folder = Path(folder).expanduser().resolve()
    check_destination(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_config(folder, **config)
    for project in PROJECTS:
        source = folder / "source" / project
        source.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(KIT_ROOT / "solutions" / project / f"{project}.ipynb", source / f"{project}.ipynb")
        for name in STUDENT_FILES[project]:  # the skeletons: nbgrader copies .py files to its release unchanged
            shutil.copyfile(KIT_ROOT / "assignments" / project / name, source / name)
        done = nbgrader(folder, "generate_assignment", project, "--force")
        if done.returncode != 0:
            raise CourseError(f"nbgrader generate_assignment {project} failed:\n{(done.stdout + done.stderr)[-3000:]}")
        released = folder / "release" / project / f"{project}.ipynb"
        kit = KIT_ROOT / "assignments" / project / f"{project}.ipynb"
        if _notebook_cells(released) != _notebook_cells(kit):
            raise CourseError(f"nbgrader's release of {project} differs from the kit's assignments/{project}: run "
                              "`autograder release`, then this command again")
    return folder
