"""`autograder similarity`: a renamed copy is the top pair, far above every honest pair; the untouched skeletons
score about 0 against each other; independent correct solutions stay below the flag; the output is deterministic."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.batch import intake
from autograder.batch.similarity import THRESHOLD, compare, read_pairs
from course.submission import KIT_ROOT

pytest.importorskip("copydetect")

SOLUTIONS, ASSIGNMENTS = KIT_ROOT / "solutions", KIT_ROOT / "assignments"
PLAIN = KIT_ROOT / "tests" / "fixtures" / "plain"
RENAMES = {"branch": "tower", "features": "feats", "head": "comparator", "total": "running_sum", "history": "log",
           "optimizer": "opt", "target_logits": "scores", "digit_logits": "digit_scores", "loss": "objective",
           "epoch": "ep", "batch": "idx", "first": "left", "second": "right", "net": "body"}


def disguise(source: str) -> str:
    """What a copier does: rename the variables, rewrite every comment and docstring."""
    for old, new in RENAMES.items():
        source = re.sub(rf"\b{old}\b", new, source)
    source = re.sub(r'"""(.|\n)*?"""', '"""My own implementation."""', source)
    return re.sub(r"#.*", "# see my notes", source)


def make_class(root: Path) -> Path:
    def project(student, name, source):
        shutil.copytree(source / name, root / student / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.ipynb", "README.md"))

    project("reference", "project1", SOLUTIONS)
    project("plain", "project1", PLAIN)
    project("copier", "project1", PLAIN)
    for path in (root / "copier" / "project1").glob("*.py"):
        path.write_text(disguise(path.read_text()))
    for student in ("skeleton1", "skeleton2"):
        for name in ("project1", "project2"):
            project(student, name, ASSIGNMENTS)
    (root / "empty").mkdir()
    return root


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = make_class(tmp_path_factory.mktemp("class"))
    out = tmp_path_factory.mktemp("similarity")
    entries = intake.collect(root, out / ".staging")
    return compare(entries, out, against_solutions=True), out, entries


def pair(found, a, b, project="project1"):
    return next(p for p in found if p.project == project and {p.a, p.b} == {a, b})


def test_a_renamed_copy_is_the_top_pair_far_above_honest_ones(pairs):
    found, _, _ = pairs
    students = [p for p in found if "(reference solution)" not in (p.a, p.b)]
    top = students[0]
    assert {top.a, top.b} == {"plain", "copier"} and top.project == "project1" and top.flagged, top
    honest = [p for p in students[1:] if p.project == "project1"]
    assert top.similarity > 0.9 and all(top.similarity > p.similarity + 0.5 for p in honest), honest[:3]


def test_skeletons_and_independent_solutions_are_not_flagged(pairs):
    found, _, _ = pairs
    for project in ("project1", "project2"):
        assert pair(found, "skeleton1", "skeleton2", project).similarity < 0.05  # the handout never counts
    honest = pair(found, "reference", "plain")
    assert honest.similarity < THRESHOLD and not honest.flagged, honest
    leak = pair(found, "reference", "(reference solution)")
    assert leak.flagged and leak.similarity > 0.9, "--against-solutions finds a copied solution"


def test_outputs_are_written_and_deterministic(pairs, tmp_path):
    found, out, entries = pairs
    assert [(p.a, p.b, p.project, round(p.similarity, 4)) for p in read_pairs(out / "pairs.csv")] == \
        [(p.a, p.b, p.project, round(p.similarity, 4)) for p in found]
    for name in ("project1.html", "heatmap_project1.png", "heatmap_project2.png"):
        assert (out / name).stat().st_size > 1000, name
    again = tmp_path / "again"
    compare(entries, again, against_solutions=True)
    assert (again / "pairs.csv").read_bytes() == (out / "pairs.csv").read_bytes()


def test_the_command_names_unusable_entries(tmp_path):
    root = make_class(tmp_path / "class")
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "similarity", str(root), "--out", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=300, cwd=KIT_ROOT)
    assert done.returncode == 0, done.stderr
    assert "empty: not compared: empty" in done.stderr and "plain ~ copier" in done.stderr.replace("copier ~ plain",
                                                                                                    "plain ~ copier")
    bad = subprocess.run([sys.executable, "-m", "autograder.cli", "similarity", str(root), "--threshold", "2"],
                         capture_output=True, text=True, timeout=120, cwd=KIT_ROOT)
    assert bad.returncode == 2 and "--threshold must be between 0 and 1" in bad.stderr
