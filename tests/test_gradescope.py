"""The Gradescope autograder: the zip's contents, and run_autograder's grading of a temporary /autograder tree into
a results.json of the documented format — for the reference, a skeleton, a submission that does not import, and an
upload with nothing to grade."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import points_of, sandbox_args

from gradescope_format import validate

from autograder import rubric
from autograder.gradescope_build import build
from course import versions
from course.submission import KIT_ROOT

DEMO = KIT_ROOT / "examples" / "class"
TASKS = "p1.shapes,p2.linear,p1.hidden.pair_loss"  # one hidden task among them
SANDBOX = sandbox_args()


def test_the_zip_holds_setup_run_and_the_kit(tmp_path):
    path = build(tmp_path / "autograder.zip")
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in z.infolist()}
        setup, run = z.read("setup.sh").decode(), z.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "kit/pyproject.toml", "kit/autograder/suite/test_project1.py",
            "kit/course/data.py"} <= names
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert f"torch=={versions.TORCH}" in setup and "{{" not in setup and "whl/cpu" in setup
    assert "pip install -q /autograder/source/kit" in setup
    assert "python -m autograder.gradescope --root /autograder" in run
    assert not any("__pycache__" in n for n in names)


def run_autograder(root: Path, *extra: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "autograder.gradescope", "--root", str(root), *SANDBOX, *extra],
                          capture_output=True, text=True, timeout=900, cwd=KIT_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    validate(results)
    return results


def upload(tmp_path: Path, name: str, files: dict[str, Path]) -> Path:
    root = tmp_path / name
    for rel, source in files.items():
        (root / "submission" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / "submission" / rel)
    (root / "submission").mkdir(parents=True, exist_ok=True)
    return root


def test_the_reference_uploaded_flat_gets_every_point(tmp_path):
    files = {p.name: p for folder in ("project1", "project2") for p in (DEMO / "ada" / folder).glob("*.py")}
    results = run_autograder(upload(tmp_path, "ada", files), "--task", TASKS)
    assert results["score"] == points_of(TASKS) and all(t["status"] == "passed" for t in results["tests"])
    hidden = [t for t in results["tests"] if "hidden" in t["tags"]]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)


def test_a_skeleton_scores_zero(tmp_path):
    files = {f"{p.parent.name}/{p.name}": p for p in sorted((DEMO / "ines").rglob("*.py"))}
    results = run_autograder(upload(tmp_path, "ines", files), "--task", TASKS)
    assert results["score"] == 0 and {t["status"] for t in results["tests"]} == {"failed"}


def test_a_submission_that_does_not_import_says_so(tmp_path):
    files = {f"repo/{p.parent.name}/{p.name}": p for p in sorted((DEMO / "farid").rglob("*.py"))}
    results = run_autograder(upload(tmp_path, "farid", files), "--task", TASKS)
    # project 2, and the hidden pair_loss (train.py imports)
    assert results["score"] == points_of("p2.linear,p1.hidden.pair_loss")
    assert "models.py does not import" in results["output"] and "syntax error" in results["output"]


def test_an_upload_with_nothing_to_grade_gets_a_valid_result(tmp_path):
    root = upload(tmp_path, "empty", {"notes.txt": KIT_ROOT / "README.md"})
    results = run_autograder(root)
    assert results["score"] == 0 and results["tests"] == [] and "Upload your project files" in results["output"]


@pytest.mark.slow
def test_the_reference_gets_100_and_every_bonus(tmp_path):
    files = {f"{p.parent.name}/{p.name}": p for p in sorted((DEMO / "ada").rglob("*.py"))}
    results = run_autograder(upload(tmp_path, "ada", files))
    assert results["score"] == rubric.core_total() + rubric.bonus_total(), \
        [t["name"] for t in results["tests"] if t["status"] == "failed"]
