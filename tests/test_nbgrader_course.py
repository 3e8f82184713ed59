"""The notebooks graded through nbgrader: a course made by nbgrader itself whose release equals assignments/, the
checks that turn a missing, broken or tampered notebook into a flag, the sandboxed execution, and points equal to
what plain `nbgrader autograde` gives (slow: five submissions)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import sandbox_args

from autograder.notebooks import grading
from autograder.notebooks.course import COURSE_ID, make_course, nbgrader
from autograder.notebooks.execute import merge_outputs
from course.submission import KIT_ROOT, PROJECTS

pytest.importorskip("nbgrader")
DEMO = KIT_ROOT / "examples" / "class"
ASSIGNMENTS = KIT_ROOT / "assignments"
SANDBOX = "off" if sandbox_args() else "require"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course") / "nbgrader", sandbox=SANDBOX)


def test_the_course_is_nbgraders_and_its_release_is_the_kits(course):
    assert (course / "nbgrader_config.py").is_file() and (course / "gradebook.db").is_file()
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        assert {a.name: a.max_score for a in gb.assignments} == {"project1": 10.0, "project2": 10.0}
    for project in PROJECTS:
        for path in (ASSIGNMENTS / project).iterdir():
            if path.suffix in (".py", ".ipynb"):
                released = course / "release" / project / path.name
                kit, theirs = path.read_text(), released.read_text()
                if path.suffix == ".ipynb":
                    kit, theirs = json.loads(kit)["cells"], json.loads(theirs)["cells"]
                assert kit == theirs, f"nbgrader's release of {path.name} differs from assignments/"


@pytest.mark.parametrize("student,project,words", [
    ("ada", "project1", None), ("chloe", "project2", "is missing"), ("farid", "project2", "not a valid notebook"),
    ("dmitri", "project1", "cell p1-test-params was deleted"),
    ("hugo", "project2", "locked cell p2-test-disk was changed")])
def test_a_notebook_is_checked_against_the_release(student, project, words):
    gradable, flags = grading.check(DEMO / student / project / f"{project}.ipynb",
                                    ASSIGNMENTS / project / f"{project}.ipynb")
    if words is None:
        assert gradable and not flags
    else:
        assert any(words in flag for flag in flags), flags
        assert gradable == (words not in ("is missing", "not a valid notebook"))


def test_only_outputs_come_back_from_the_sandbox():
    trusted = nbformat.read(str(ASSIGNMENTS / "project2" / "project2.ipynb"), as_version=4)
    executed = nbformat.read(str(ASSIGNMENTS / "project2" / "project2.ipynb"), as_version=4)
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.source = "forged = True"
            cell.metadata["nbgrader"] = {"grade": True, "points": 100}
            cell.outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    merged = merge_outputs(copy.deepcopy(trusted), executed, "")
    for before, after in zip(trusted.cells, merged.cells):
        assert after.source == before.source and after.metadata == before.metadata
        if after.cell_type == "code":
            assert after.outputs[0]["text"] == "ran\n"
    executed.cells.pop()
    failed = merge_outputs(trusted, executed, "")
    graded = [c for c in failed.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(c.outputs[0]["output_type"] == "error" for c in graded)


def test_a_students_notebooks_are_autograded_in_the_sandbox(course):
    results = grading.grade(course, "ada", DEMO / "ada", sandbox=SANDBOX)
    assert {p: (r.score, r.max_score, r.needs_manual_grade) for p, r in results.items()} == \
        {"project1": (4.0, 10.0, True), "project2": (6.0, 10.0, True)}
    assert (course / "autograded" / "ada" / "project2" / "project2.ipynb").is_file()
    assert grading.scores(course, ["ada"])["ada"]["project2"]["score"] == 6.0  # the formgrader's database


@pytest.mark.slow
def test_points_equal_plain_nbgraders_and_the_gradebook_holds_them(course, tmp_path):
    """The reference, the skeleton and three faulty notebooks (a wrong answer, a deleted test, a changed locked cell):
    `autograder grade --nbgrader` reports what nbgrader's own autograde gives in a course with nbgrader's default
    execution, and the formgrader's gradebook holds those points."""
    students = ("ada", "ines", "emma", "dmitri", "hugo")
    cls = tmp_path / "class"
    for student in students:
        shutil.copytree(DEMO / student, cls / student)
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(cls), "--out", str(tmp_path / "out"),
                           "--nbgrader", str(course), "--task", "p2.linear.forward", "--no-progress",
                           *([] if SANDBOX == "require" else ["--no-sandbox"])],
                          capture_output=True, text=True, timeout=3000, cwd=KIT_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    import csv

    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        ours = {r["student_id"]: {p: float(r[f"nb:{p}"]) for p in PROJECTS} for r in csv.DictReader(f)}

    plain = make_course(tmp_path / "plain", sandbox="off")
    config = plain / "nbgrader_config.py"
    config.write_text(config.read_text().split("# nbgrader's autograde, with")[0])  # nbgrader's own Execute
    for student in students:
        for project in PROJECTS:
            shutil.copytree(cls / student / project, plain / "submitted" / student / project)
    for project in PROJECTS:
        assert nbgrader(plain, "autograde", project, timeout=3000).returncode == 0
    theirs = grading.scores(plain, list(students))
    held = grading.scores(course, list(students))
    for student in students:
        for project in PROJECTS:
            assert ours[student][project] == theirs[student][project]["score"] == held[student][project]["score"], \
                (student, project)
