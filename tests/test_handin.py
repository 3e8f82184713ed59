"""course/handin.py: one answer to "which files are the submission", used to copy, hash, pack and compare; and one
table of the files a student writes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

import pytest

from course import handin
from course.handin import (
    STUDENT_FILES,
    copy_files,
    hash_files,
    submission_files,
    tree_files,
)
from course.project1 import spec as spec1
from course.project2 import spec as spec2
from course.submission import KIT_ROOT, PROJECTS


def _write(root: Path, files: dict[str, bytes | str]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


@pytest.fixture
def messy(tmp_path) -> Path:
    """A submission with everything a student's folder may hold besides their files: caches, a venv under any
    name, version control, build output, results, links out of the folder and into it."""
    root = _write(tmp_path / "sub", {
        "project1/models.py": "M = 1\n", "project1/train.py": "T = 1\n", "project1/project1.ipynb": "{}",
        "project1/data/extra.csv": "1,2\n",
        "project1/__pycache__/models.cpython-311.pyc": b"\0", "project1/models.pyc": b"\0",
        "project1/venv/lib/site.py": "x", "project1/myenv/pyvenv.cfg": "home = /usr\n",
        "project1/myenv/lib/python3.11/site-packages/torch.py": "x",
        "project1/.git/HEAD": "ref", "project1/build/lib/models.py": "x", "project1/results/run.json": "{}",
        "project1/pkg.egg-info/PKG-INFO": "x", "project1/.DS_Store": b"\0", "project1/notes.txt~": "x",
        "project2/framework.py": "F = 1\n",
        "README.md": "not in a project",
    })
    secret = _write(tmp_path / "outside", {"secret.txt": "do not read", "dir/secret.py": "x"})
    (root / "project1" / "link.py").symlink_to(secret / "secret.txt")
    (root / "project1" / "linkdir").symlink_to(secret / "dir")
    (root / "project1" / "inner.py").symlink_to(root / "project1" / "models.py")
    return root


def test_submission_files_are_the_regular_files_of_the_projects_in_a_fixed_order(messy):
    assert [str(p) for p in submission_files(messy)] == [
        "project1/data/extra.csv", "project1/models.py", "project1/project1.ipynb", "project1/train.py",
        "project2/framework.py"]
    assert [str(p) for p in submission_files(messy, ("project2",))] == ["project2/framework.py"]
    assert all(isinstance(p, PurePosixPath) for p in submission_files(messy))


def test_a_project_folder_that_is_a_link_has_no_files(tmp_path, messy):
    root = tmp_path / "linked"
    root.mkdir()
    (root / "project1").symlink_to(messy / "project1")
    assert submission_files(root) == [] and tree_files(root / "project1") == []
    assert tree_files(tmp_path / "missing") == []


def test_copy_and_hash_stream_and_never_follow_a_link(tmp_path, messy, monkeypatch):
    files = submission_files(messy)
    copied = copy_files(messy, files, tmp_path / "copy")
    assert copied == files and submission_files(tmp_path / "copy") == files
    assert (tmp_path / "copy" / "project1" / "models.py").read_text() == "M = 1\n"

    expected = hashlib.sha256()
    for rel in files:
        expected.update(str(rel).encode() + b"\0" + (messy / rel).read_bytes() + b"\0")
    reads = []
    real_open = handin.open_file

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, size=-1):
            assert 0 < size <= handin.CHUNK, "a whole file read into memory"
            reads.append(size)
            return self.f.read(size)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(handin, "CHUNK", 3)
    monkeypatch.setattr(handin, "open_file", lambda root, rel: Counting(real_open(root, rel)))
    assert hash_files(messy, files).hexdigest() == expected.hexdigest()
    assert len(reads) > len(files)  # several chunks per file

    # a file turned into a link after the listing is neither read nor copied
    monkeypatch.undo()
    (messy / "project1" / "train.py").unlink()
    (messy / "project1" / "train.py").symlink_to(tmp_path / "outside" / "secret.txt")
    assert PurePosixPath("project1/train.py") not in copy_files(messy, files, tmp_path / "copy2")
    assert not (tmp_path / "copy2" / "project1" / "train.py").exists()
    assert hash_files(messy, files).hexdigest() != expected.hexdigest()


def test_every_tool_takes_the_same_files(tmp_path, messy):
    """The batch's hash and Dask packing, the worker's private copy and similarity all see submission_files."""
    from autograder.batch import intake, runner, similarity
    from autograder.sandbox.judge import Worker

    entry = intake.Entry("s", messy, messy)
    assert sorted(runner.pack(messy)) == [str(p) for p in submission_files(messy)]
    assert intake.digest(entry) == hash_files(messy, submission_files(messy)).hexdigest()
    before = intake.digest(entry)
    _write(messy, {"project1/venv/more.py": "y", "project1/myenv/x.py": "y", "project1/__pycache__/a.pyc": "y"})
    assert intake.digest(entry) == before, "caches and virtual environments are not the submission"

    worker = Worker(messy, "project1")
    try:
        worker._command(0)
        copy = worker.copy
        assert [str(p) for p in tree_files(copy)] == [str(p) for p in submission_files(messy, ("project1",))]
        assert not any(p.is_symlink() for p in copy.rglob("*"))
    finally:
        worker.stop()
    assert "do not read" not in similarity.code_text(messy / "project1")
    assert "M = 1" in similarity.code_text(messy / "project1")


def test_one_table_of_student_files():
    """The files a student writes are named once (course/handin.py): the handout holds exactly them and the
    notebook, and the files the suite imports are among them."""
    assert tuple(STUDENT_FILES) == PROJECTS
    for project in PROJECTS:
        released = sorted(p.name for p in (KIT_ROOT / "assignments" / project).iterdir() if p.is_file())
        assert released == sorted(handin.handed_in(project)), project
    for project, modules in (("project1", spec1.MODULES), ("project2", spec2.MODULES)):
        assert {f"{m}.py" for m in modules} <= set(STUDENT_FILES[project])


def test_no_other_module_spells_the_student_files():
    """Outside course/handin.py, no module of the kit lists the student's files (docstrings and messages may
    name one)."""
    import ast

    names = {n for files in STUDENT_FILES.values() for n in files}
    offenders = []
    for folder in ("course", "autograder"):
        for path in sorted((KIT_ROOT / folder).rglob("*.py")):
            if path == Path(handin.__file__):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
                    items = node.keys if isinstance(node, ast.Dict) else node.elts
                    found = {i.value for i in items if isinstance(i, ast.Constant) and i.value in names}
                    if len(found) >= 2:
                        offenders.append(f"{path.relative_to(KIT_ROOT)}:{node.lineno}")
    assert not offenders, f"list the student files with course.handin.STUDENT_FILES: {offenders}"


def test_release_skips_what_a_submission_skips(tmp_path):
    from autograder import release

    _write(tmp_path / "src", {"project1/a.py": "A = 1\n", "project1/.venv/x.py": "x", "project1/b.pyc": "x"})
    os.symlink(tmp_path / "src" / "project1" / "a.py", tmp_path / "src" / "project1" / "link.py")
    assert [str(p) for p in release.source_files(tmp_path / "src")] == ["project1/a.py"]


def test_a_flat_gradescope_upload_takes_the_student_files_and_no_link(tmp_path):
    from autograder.gradescope import FLAT, arrange

    assert set(FLAT) == {name for project in PROJECTS for name in handin.handed_in(project)}
    upload = _write(tmp_path / "upload", {"train.py": "T = 1\n", "sub/framework.py": "F = 1\n", "other.py": "x"})
    _write(tmp_path, {"secret.txt": "do not read"})
    (upload / "models.py").symlink_to(tmp_path / "secret.txt")
    root, problem = arrange(upload, tmp_path / "arranged")
    assert problem == "" and root is not None
    assert [str(p) for p in submission_files(root)] == ["project1/train.py", "project2/framework.py"]
