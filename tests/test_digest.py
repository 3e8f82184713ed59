"""The grading digest (autograder/batch/digest.py) changes when grading changes, and only then: a change to a report
page, a command or the student templates regrades nobody; a change to a probe, the suite or the rubric regrades
everyone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.batch import digest, runner
from course.submission import KIT_ROOT


@pytest.fixture(scope="module")
def kit_copy(tmp_path_factory) -> Path:
    """A copy of the kit's packages, to edit."""
    root = tmp_path_factory.mktemp("kit")
    for rel in digest.kit_files():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(KIT_ROOT / rel, root / rel)
    return root


def test_every_kit_file_is_classified_once():
    """A new module of autograder/ or course/ must be listed: graded or not (so it cannot be forgotten)."""
    files = digest.kit_files()
    unclassified = [f for f in files if not digest.matches(f, digest.GRADED) and not digest.matches(f, digest.NOT_GRADING)]
    both = [f for f in files if digest.matches(f, digest.GRADED) and digest.matches(f, digest.NOT_GRADING)]
    assert not unclassified, f"list these in GRADED or NOT_GRADING of autograder/batch/digest.py: {unclassified}"
    assert not both, f"listed as graded and as not grading: {both}"
    stale = [p for p in digest.GRADED + digest.NOT_GRADING if not any(digest.matches(f, (p,)) for f in files)]
    assert not stale, f"patterns that match no file: {stale}"


def test_every_module_the_grading_processes_import_is_graded():
    """The judge (the plugin, the suite, the benchmarks, the points), the worker with its probes and the nbgrader
    grading: every kit module they import is in GRADED."""
    script = r"""
import importlib, importlib.util, json, sys
from pathlib import Path
root = Path(sys.argv[1])
for name in ("autograder.plugin", "autograder.report", "autograder.bench", "autograder.sandbox.worker",
             "autograder.sandbox.probes.project1", "autograder.sandbox.probes.project2", "autograder.sandbox.notebook",
             "autograder.notebooks.execute", "autograder.notebooks.grading"):
    importlib.import_module(name)
for path in sorted((root / "autograder" / "suite").glob("*.py")):
    spec = importlib.util.spec_from_file_location(f"suite_{path.stem}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
files = set()
for module in list(sys.modules.values()):
    file = getattr(module, "__file__", None)
    if file and Path(file).is_absolute() and Path(file).resolve().is_relative_to(root):
        files.add(Path(file).resolve().relative_to(root).as_posix())
print(json.dumps(sorted(files)))
"""
    done = subprocess.run([sys.executable, "-c", script, str(KIT_ROOT)], capture_output=True, text=True, check=False,
                          cwd=str(KIT_ROOT), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = [f for f in json.loads(done.stdout.splitlines()[-1]) if f.startswith(digest.PACKAGE_DIRS)]
    assert "autograder/sandbox/probes/project1.py" in imported and "autograder/plugin.py" in imported
    missing = [f for f in imported if not digest.matches(f, digest.GRADED)]
    assert not missing, f"the grading processes import these, so they decide grades: add them to GRADED: {missing}"


def _edit(root: Path, rel: str):
    path = root / rel
    original = path.read_bytes()
    path.write_bytes(original + b"\n# an edit\n")
    return lambda: path.write_bytes(original)


@pytest.mark.parametrize("rel", ["autograder/batch/class_report.py", "autograder/batch/outputs.py",
                                 "autograder/commands/grade.py", "autograder/cli.py", "autograder/templates/README.md",
                                 "course/plots.py", "course/project1/cli.py"])
def test_a_change_that_does_not_grade_regrades_nobody(kit_copy, rel):
    before = digest.grading_digest([], kit_copy)
    undo = _edit(kit_copy, rel)
    try:
        assert digest.grading_digest([], kit_copy) == before
    finally:
        undo()


@pytest.mark.parametrize("rel", ["autograder/sandbox/probes/project1.py", "autograder/suite/test_project2.py",
                                 "autograder/rubric.py", "autograder/thresholds.py", "autograder/report.py",
                                 "course/project2/spec.py", "course/data.py", "course/handin.py"])
def test_a_change_to_grading_regrades_everyone(kit_copy, rel):
    before = digest.grading_digest([], kit_copy)
    undo = _edit(kit_copy, rel)
    try:
        assert digest.grading_digest([], kit_copy) != before
    finally:
        undo()
    assert digest.grading_digest([], kit_copy) == before


def test_a_new_probe_file_options_and_packages_count(kit_copy, monkeypatch):
    before = digest.grading_digest([], kit_copy)
    extra = kit_copy / "autograder" / "sandbox" / "probes" / "project3.py"
    extra.write_text("X = 1\n")
    try:
        assert digest.grading_digest([], kit_copy) != before
    finally:
        extra.unlink()
    assert digest.grading_digest(["--no-bench"], kit_copy) != before
    monkeypatch.setattr(digest, "package_version", lambda name: "0.0" if name == "torch" else "1.0")
    assert digest.grading_digest([], kit_copy) != before


def test_the_batch_uses_this_digest():
    assert runner.grading_digest is digest.grading_digest
    assert digest.grading_digest([]) == digest.grading_digest([], KIT_ROOT)
