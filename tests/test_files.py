"""Reports and results are whole files a course team can share: written atomically through course/files.py,
readable by the group and others (0644 under the usual umask 022), and written by nothing else."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys

import pytest

from course import files, plots
from course.protocol import write_results
from course.submission import KIT_ROOT

# modules that write files another way, and why
OTHER_WRITERS = {
    "course/files.py": "the one home of atomic writes",
    "autograder/release.py": "builds a whole tree in a temporary folder, then swaps it in with one rename",
    # working copies of submissions, not reports (on main, from the batch grading and similarity issues 13, 16)
    "autograder/batch/intake.py": "unpacks submitted archives into a staging folder",
    "autograder/batch/runner.py": "writes a submission it received into a temporary folder to grade it",
    "autograder/batch/similarity.py": "writes the code texts copydetect compares",
    "scripts/similarity_scale.py": "builds a synthetic class of submissions",
    "autograder/notebooks/course.py": "copies the course's source files into nbgrader's course folder",
    "autograder/notebooks/execute.py": "copies a notebook's assignment folder to execute it in the sandbox",
    "autograder/notebooks/grading.py": "copies a student's folder into nbgrader's submitted/",
    "autograder/gradescope.py": "arranges a flat upload into project folders in a temporary folder",
    "course/handin.py": "copies a submission's files into a private folder (the worker's copy, nbgrader's submitted/)",
    "autograder/lms/staging.py": "copies a student's files from an LMS download into a staging folder",
    "autograder/lms/github_classroom.py": "writes a repository's graded commit into a staging folder",
}
# calls that write a file: a method of any object, or a function of a module
WRITE_METHODS = {"write_text", "write_bytes", "savefig"}
WRITE_FUNCTIONS = {("np", "save"), ("np", "savez"), ("numpy", "save"), ("numpy", "savez"), ("torch", "save"),
                   ("json", "dump"), ("shutil", "copy"), ("shutil", "copy2"), ("shutil", "copyfile"),
                   ("shutil", "copytree")}


@pytest.fixture
def umask_022():
    before = os.umask(0o022)
    yield
    os.umask(before)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_writer_of_results_writes_shareable_files(tmp_path, umask_022):
    written = [files.write_json(tmp_path / "report.json", {"score": 1}),
               *write_results(tmp_path / "results", "run", {"rounds": 1}, [{"net": "baseline", "acc": 0.5}])]
    fig, ax = plots.plt.subplots()
    ax.plot([1, 2], [3, 4])
    written.append(plots.save(fig, tmp_path / "figure.png"))
    for path in written:
        assert _mode(path) == 0o644, f"{path.name} is {oct(_mode(path))}, not shareable"
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def test_atomic_write_respects_a_private_umask(tmp_path):
    before = os.umask(0o077)
    try:
        path = files.atomic_write(tmp_path / "private.txt", "x")
    finally:
        os.umask(before)
    assert _mode(path) == 0o600


def test_check_report_is_shareable(tmp_path, umask_022):
    report = tmp_path / "grades" / "alice.json"
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "check", "assignments", "--task", "p2.mse",
                           "--report", str(report)], cwd=KIT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _mode(report) == 0o644


def _file_writes(path):
    """(line, call) of every call in ``path`` whose name writes a file (``x.write_text(...)``, ``np.savez(...)``,
    ``open(..., "w")``)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        owner = getattr(getattr(node.func, "value", None), "id", None)
        if (name in WRITE_METHODS or (owner, name) in WRITE_FUNCTIONS) and not _into_memory(node):
            yield node.lineno, f"{owner}.{name}" if owner else name
        if name == "open" and any(isinstance(a, ast.Constant) and isinstance(a.value, str) and set(a.value) & set("wax")
                                  for a in node.args[1:2] + [k.value for k in node.keywords if k.arg == "mode"]):
            yield node.lineno, "open"


def _into_memory(call: ast.Call) -> bool:
    """A write into an in-memory buffer (its first argument is a name ending in ``buffer``), e.g. a figure rendered
    before :func:`course.files.atomic_write` writes it."""
    return bool(call.args) and isinstance(call.args[0], ast.Name) and call.args[0].id.endswith("buffer")


def test_no_module_writes_files_behind_course_files():
    offenders = []
    for folder in ("course", "autograder", "scripts"):
        for path in sorted((KIT_ROOT / folder).rglob("*.py")):
            rel = path.relative_to(KIT_ROOT).as_posix()
            if rel in OTHER_WRITERS or rel.startswith("autograder/sandbox/") or rel.startswith("autograder/templates/"):
                continue  # the sandbox exchanges messages in memory and logs to temporary files, never results
            offenders += [f"{rel}:{line} {call}(...)" for line, call in _file_writes(path)]
    assert not offenders, ("write reports and results with course.files (atomic, 0644): " + "; ".join(offenders))
