"""autograder release: nbgrader's stripping applied to .py files and notebooks, marker errors with file and line,
determinism, atomicity, the committed assignments/ staying equal to a fresh release, importable skeletons, and a
student bundle that leaks nothing from the solutions or the hidden tests."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import points_of

from autograder import cli, release
from course import versions
from course.submission import KIT_ROOT, load_module

SOLUTIONS = KIT_ROOT / "solutions"
ASSIGNMENTS = KIT_ROOT / "assignments"
BEGIN_SOL, END_SOL = release.delimiters()["solution"]
BEGIN_HID, END_HID = release.delimiters()["hidden tests"]
MARKERS = (BEGIN_SOL, END_SOL, BEGIN_HID, END_HID)

MODULE = textwrap.dedent(f'''\
    """A fixture module."""


    class Layer:
        """A layer."""

        def __init__(self, n):
            self.n = n

        def forward(self, x):
            """Forward pass."""
            ### {BEGIN_SOL}
            hidden_secret_forward = x * self.n
            return hidden_secret_forward
            ### {END_SOL}


    def helper(a, b=2):
        """Add."""
        c = a
        ### {BEGIN_SOL}
        solution_only_line_of_code = c + b
        return solution_only_line_of_code
        ### {END_SOL}


    def test_helper():
        assert helper(1) == 3
        ### {BEGIN_HID}
        assert helper(10, 5) == 15  # hidden_assertion_text
        ### {END_HID}
    ''')


def _notebook(cells) -> str:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"}})
    nb.cells = cells
    return nbformat.writes(nb)


def _nbg(grade_id, *, solution=False, grade=False, points=None, locked=False):
    meta = {"schema_version": 3, "grade_id": grade_id, "solution": solution, "grade": grade, "locked": locked}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _fixture_notebook() -> str:
    answer = nbformat.v4.new_code_cell(
        f"### {BEGIN_SOL}\nanswer_value_secret = 6 * 7\n### {END_SOL}", id="answer",
        metadata=_nbg("answer", solution=True), execution_count=3,
        outputs=[nbformat.v4.new_output("stream", text="secret output\n")])
    test = nbformat.v4.new_code_cell(
        f"assert answer_value_secret > 0\n### {BEGIN_HID}\nassert answer_value_secret == 42\n### {END_HID}",
        id="test-answer", metadata=_nbg("test-answer", grade=True, points=2, locked=True))
    written = nbformat.v4.new_markdown_cell("The written analysis explains everything in detail.", id="analysis",
                                            metadata=_nbg("analysis", solution=True, grade=True, points=3))
    return _notebook([nbformat.v4.new_markdown_cell("# Title", id="title"), answer, test, written])


@pytest.fixture
def src(tmp_path):
    root = tmp_path / "src"
    (root / "project1").mkdir(parents=True)
    (root / "project1" / "mod.py").write_text(MODULE)
    (root / "project1" / "plain.py").write_text("VALUE = 1\n")
    (root / "project1" / "nb.ipynb").write_text(_fixture_notebook())
    (root / "project1" / "data.bin").write_bytes(bytes(range(256)))
    for skipped in ("__pycache__/mod.cpython-311.pyc", "results/figure.png", ".ipynb_checkpoints/nb-checkpoint.ipynb"):
        (root / "project1" / skipped).parent.mkdir(parents=True, exist_ok=True)
        (root / "project1" / skipped).write_text("skip me")
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------------------- .py stripping

def test_python_stub_is_nbgraders_and_keeps_indentation():
    from nbgrader.preprocessors import ClearSolutions

    out = release.strip_python(MODULE, "mod.py")
    stub = ClearSolutions().code_stub["python"].split("\n")
    assert "\n".join("        " + line for line in stub) in out, "stub inside a method keeps the method's indent"
    assert "\n".join("    " + line for line in stub) in out
    assert "    c = a\n" in out, "code around a solution region is kept"
    assert "solution_only_line_of_code" not in out and "hidden_secret_forward" not in out
    assert "hidden_assertion_text" not in out and "assert helper(1) == 3" in out
    assert not any(marker in out for marker in MARKERS)
    ast.parse(out)  # still valid Python


def test_python_without_markers_is_unchanged():
    text = 'def f():\n    """Doc."""\n    return 1\n'
    assert release.strip_python(text) == text


@pytest.mark.parametrize("body, line, words", [
    (f"x = 1\n### {BEGIN_SOL}\ny = 2\n", 2, "never closed"),
    (f"### {BEGIN_SOL}\n### {BEGIN_SOL}\n### {END_SOL}\n", 2, "nested"),
    (f"### {BEGIN_SOL}\n### {BEGIN_HID}\n### {END_HID}\n### {END_SOL}\n", 2, "nested"),
    (f"x = 1\n\n### {END_SOL}\n", 3, "never opened"),
    (f"### {BEGIN_HID}\nassert 1\n### {END_SOL}\n", 3, "never opened"),
])
def test_bad_markers_name_file_and_line(src, tmp_path, body, line, words):
    (src / "project1" / "broken.py").write_text(body)
    with pytest.raises(release.ReleaseError, match=rf"project1/broken\.py, line {line}\b.*{words}"):
        release.release(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------------------- notebooks

def test_notebook_is_cleared_by_nbgrader(src, tmp_path):
    release.release(src, tmp_path / "out")
    text = (tmp_path / "out" / "project1" / "nb.ipynb").read_text()
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    cells = {cell.id: cell for cell in nb.cells}
    assert cells["answer"].source == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert cells["answer"].outputs == [] and cells["answer"].execution_count is None
    assert cells["test-answer"].source.strip() == "assert answer_value_secret > 0"
    assert cells["analysis"].source == "YOUR ANSWER HERE"
    assert cells["test-answer"].metadata["editable"] is False, "grade cells are locked"
    assert all("checksum" in cells[i].metadata["nbgrader"] for i in ("answer", "test-answer", "analysis"))
    assert "6 * 7" not in text and "== 42" not in text and "secret output" not in text
    assert "written analysis" not in text and not any(marker in text for marker in MARKERS)


def test_notebook_region_outside_a_solution_cell_names_the_cell(src, tmp_path):
    cell = nbformat.v4.new_code_cell(f"### {BEGIN_SOL}\nx = 1\n### {END_SOL}", id="loose")
    (src / "project1" / "nb.ipynb").write_text(_notebook([cell]))
    with pytest.raises(release.ReleaseError, match=r"project1/nb\.ipynb, cell 1 \(id loose\).*solution cell"):
        release.release(src, tmp_path / "out")


def test_notebook_bad_marker_names_cell_and_line(src, tmp_path):
    cell = nbformat.v4.new_code_cell(f"x = 1\n### {BEGIN_SOL}\ny = 2", id="open", metadata=_nbg("open", solution=True))
    (src / "project1" / "nb.ipynb").write_text(_notebook([cell]))
    with pytest.raises(release.ReleaseError, match=r"nb\.ipynb, cell 1 \(id open\), line 2"):
        release.release(src, tmp_path / "out")


# ----------------------------------------------------------------------------------------- trees

def test_tree_is_released_copied_and_skipped(src, tmp_path):
    count = release.release(src, tmp_path / "out")
    tree = _tree(tmp_path / "out")
    assert sorted(tree) == ["project1/data.bin", "project1/mod.py", "project1/nb.ipynb",
                            "project1/plain.py"] and count == 4
    assert tree["project1/data.bin"] == bytes(range(256))
    assert tree["project1/plain.py"] == b"VALUE = 1\n"


def test_release_is_deterministic(src, tmp_path):
    release.release(src, tmp_path / "a")
    release.release(src, tmp_path / "b")
    first = _tree(tmp_path / "a")
    assert first == _tree(tmp_path / "b")
    release.release(src, tmp_path / "a")  # over an existing release
    assert _tree(tmp_path / "a") == first


def test_failed_release_leaves_destination_untouched(src, tmp_path):
    out = tmp_path / "out"
    release.release(src, out)
    before = _tree(out)
    (src / "project1" / "zz_broken.py").write_text(f"### {BEGIN_SOL}\n")  # fails after the other files are written
    with pytest.raises(release.ReleaseError):
        release.release(src, out)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"], "no temporary folder is left behind"


@pytest.mark.parametrize("dest", ["src", "src/project1/inner", "."])
def test_dangerous_destinations_are_refused(src, tmp_path, dest):
    with pytest.raises(release.ReleaseError):
        release.release(src, tmp_path / dest)


def test_git_repository_is_never_replaced(src, tmp_path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    with pytest.raises(release.ReleaseError, match="git repository"):
        release.release(src, tmp_path / "repo")
    assert (tmp_path / "repo" / ".git").is_dir()


def test_command_release_check_and_errors(src, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["release", "--source", str(src), "--dest", str(out)]) == 0
    assert cli.main(["release", "--source", str(src), "--dest", str(out), "--check"]) == 0
    (out / "project1" / "plain.py").write_text("edited by hand\n")
    capsys.readouterr()
    assert cli.main(["release", "--source", str(src), "--dest", str(out), "--check"]) == 1
    assert "differs: project1/plain.py" in capsys.readouterr().out
    (src / "project1" / "broken.py").write_text(f"### {END_HID}\n")
    assert cli.main(["release", "--source", str(src), "--dest", str(out)]) == 2
    err = capsys.readouterr().err
    assert "broken.py, line 1" in err and "Traceback" not in err


@pytest.mark.parametrize("source", ["empty", "one project's folder"])
def test_source_without_projects_is_refused_and_deletes_nothing(src, tmp_path, capsys, source):
    """`--source EMPTY_DIR` or `--source solutions/project1` (run from anywhere) is refused with a message."""
    out = tmp_path / "out"
    release.release(src, out)
    before = _tree(out)
    bad = tmp_path / "empty" if source == "empty" else src / "project1"
    bad.mkdir(exist_ok=True)
    capsys.readouterr()
    assert cli.main(["release", "--source", str(bad), "--dest", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds neither project1/ nor project2/" in err and "Traceback" not in err
    assert cli.main(["release", "--source", str(bad), "--dest", str(out), "--check"]) == 2
    assert _tree(out) == before


def _two_projects(root: Path) -> Path:
    for name in ("project1", "project2"):
        (root / name).mkdir(parents=True)
        (root / name / "plain.py").write_text(f"NAME = {name!r}\n")
    return root


def test_release_never_drops_a_project_without_force(tmp_path, capsys):
    both, one = _two_projects(tmp_path / "both"), tmp_path / "one"
    (one / "project1").mkdir(parents=True)
    (one / "project1" / "plain.py").write_text("NAME = 'project1'\n")
    out = tmp_path / "out"
    release.release(both, out)
    before = _tree(out)
    capsys.readouterr()
    assert cli.main(["release", "--source", str(one), "--dest", str(out)]) == 2
    err = capsys.readouterr().err
    assert "project2/" in err and "--force" in err and "Traceback" not in err
    assert _tree(out) == before
    old_bundle = _two_projects(tmp_path / "bundle" / "assignments").parent  # a bundle released from both
    with pytest.raises(release.ReleaseError, match=r"assignments holds project2/.*--force"):
        release.build_bundle(old_bundle, one)
    assert sorted(_tree(old_bundle)) == ["assignments/project1/plain.py", "assignments/project2/plain.py"]
    assert cli.main(["release", "--source", str(one), "--dest", str(out), "--force"]) == 0
    assert sorted(_tree(out)) == ["project1/plain.py"]


def test_release_never_replaces_a_folder_that_is_not_a_release(src, tmp_path, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine\n")
    capsys.readouterr()
    assert cli.main(["release", "--source", str(src), "--dest", str(notes)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli.main(["release", "--source", str(src), "--dest", str(tmp_path / "out"), "--bundle", str(notes)]) == 2
    assert _tree(notes) == {"todo.txt": b"mine\n"} and not (tmp_path / "out").exists(), "refused before writing"


# ----------------------------------------------------------------------------------------- the real release

@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "assignments"
    release.release(SOLUTIONS, out)
    return out


def test_committed_assignments_equal_a_fresh_release(fresh_release):
    diff = release.compare_trees(fresh_release, ASSIGNMENTS)
    assert not diff, ("assignments/ is out of date with solutions/; run `autograder release` (never edit "
                      "assignments/ by hand):\n  " + "\n  ".join(diff))


def _modules(root: Path) -> list[tuple[str, str]]:
    return sorted((p.parent.name, p.stem) for p in root.glob("project*/*.py") if not p.name.startswith("_"))


def _public(module) -> dict:
    """Functions and classes defined by the module itself (not imported), by name."""
    return {name: obj for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", None) == module.__name__}


def _stubbed(source: str) -> list[tuple[str | None, str, int]]:
    """(class or None, function, number of positional parameters) whose body starts with the stub's raise."""
    found = []

    def starts_with_stub(fn):
        body = fn.body[1:] if (fn.body and isinstance(fn.body[0], ast.Expr)
                               and isinstance(fn.body[0].value, ast.Constant)) else fn.body
        return (body and isinstance(body[0], ast.Raise) and isinstance(body[0].exc, ast.Call)
                and getattr(body[0].exc.func, "id", None) == "NotImplementedError")

    def required(fn):
        return len(fn.args.posonlyargs) + len(fn.args.args) - len(fn.args.defaults)

    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and starts_with_stub(node):
            found.append((None, node.name, required(node)))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and starts_with_stub(item) and not any(
                        isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod", "property")
                        for d in item.decorator_list):
                    found.append((node.name, item.name, required(item)))
    return found


def test_skeletons_import_keep_the_api_and_raise_not_implemented(fresh_release):
    modules = _modules(SOLUTIONS)
    if not modules:
        pytest.skip("solutions/ holds no project modules yet")
    assert modules == _modules(fresh_release)
    stubs = 0
    for project, name in modules:
        solution = load_module(SOLUTIONS, project, name)
        skeleton = load_module(fresh_release, project, name)
        expected, actual = _public(solution), _public(skeleton)
        assert expected.keys() <= actual.keys(), f"{project}/{name}.py skeleton lacks {expected.keys() - actual.keys()}"
        for key, obj in expected.items():
            other = actual[key]
            assert inspect.getdoc(obj) == inspect.getdoc(other), f"{project}/{name}.py: {key} docstring differs"
            if inspect.isfunction(obj):
                assert inspect.signature(obj) == inspect.signature(other), f"{project}/{name}.py: {key} signature"
            else:
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member):
                        assert inspect.signature(member) == inspect.signature(getattr(other, attr)), \
                            f"{project}/{name}.py: {key}.{attr} signature differs"
                        assert inspect.getdoc(member) == inspect.getdoc(getattr(other, attr)), \
                            f"{project}/{name}.py: {key}.{attr} docstring differs"
        for cls, fn, nargs in _stubbed((fresh_release / project / f"{name}.py").read_text()):
            target = getattr(getattr(skeleton, cls), fn) if cls else getattr(skeleton, fn)
            with pytest.raises(NotImplementedError):
                target(*([None] * nargs))
            stubs += 1
    assert stubs > 0, "the release stubbed no function: are the solution markers inside function bodies?"


def test_no_marker_left_in_the_release(fresh_release):
    for path in fresh_release.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            assert not any(marker in text for marker in MARKERS), f"{path.relative_to(fresh_release)} keeps a marker"


# ----------------------------------------------------------------------------------------- the student bundle

@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "student"
    release.build_bundle(out, SOLUTIONS)
    return out


def test_bundle_holds_exactly_what_a_student_receives(bundle, fresh_release):
    top = sorted(p.name for p in bundle.iterdir())
    expected = ["assignments", "autograder", "course", "docs", "pyproject.toml", *release.BUNDLE_TEMPLATES.values()]
    if (KIT_ROOT / "LICENSE").is_file():
        expected.append("LICENSE")
    assert top == sorted(expected)
    assert not release.compare_trees(fresh_release, bundle / "assignments")
    assert not any(p.name in ("__pycache__", "solutions") or p.suffix == ".pyc" for p in bundle.rglob("*"))
    assert (bundle / "README.md").read_text() == versions.render((release.TEMPLATES / "README.md").read_text())
    tox = (bundle / "tox.ini").read_text()
    assert f"torch=={versions.TORCH}" in tox and "autograder check assignments" in tox
    for name in release.BUNDLE_TEMPLATES.values():
        assert "{{" not in (bundle / name).read_text(), f"{name}: a placeholder left unfilled"


def test_bundle_holds_the_handouts_its_readme_points_to(bundle):
    handouts = sorted(KIT_ROOT.glob(release.BUNDLE_DOCS))
    assert [p.name for p in handouts] == ["handout-project1.md", "handout-project2.md"]
    for path in handouts:
        assert (bundle / "docs" / path.name).read_bytes() == path.read_bytes()
    readme = (bundle / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert {f"docs/{p.name}" for p in handouts} <= set(links), links
    assert all((bundle / link).is_file() for link in links if "://" not in link), links


def test_bundle_gitignore_keeps_environments_and_outputs_out_and_the_work_in(bundle, tmp_path):
    """`git check-ignore` with the bundle's own .gitignore: the .venv its README creates, tox's environments,
    results and caches are ignored; no file of the bundle is."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "clone"
    repo.mkdir()
    subprocess.run([git, "init", "-q", str(repo)], check=True)
    shutil.copyfile(bundle / ".gitignore", repo / ".gitignore")

    def ignored(paths):
        done = subprocess.run([git, "check-ignore", "--no-index", "--stdin"], cwd=repo, input="\n".join(paths),
                              capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stderr
        return set(done.stdout.split())

    outputs = [".venv/bin/python", ".tox/grade/bin/python", "results/project1/test_accuracy.png",
               "assignments/project1/__pycache__/models.cpython-311.pyc", ".ipynb_checkpoints/x.ipynb",
               "assignments/project1/.ipynb_checkpoints/project1-checkpoint.ipynb", "dl_miniprojects.egg-info/PKG-INFO"]
    assert ignored(outputs) == set(outputs)
    work = [p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()]
    assert not ignored(work), "the bundle's .gitignore hides files of the bundle itself"


def test_kit_gitignore_keeps_submissions_and_grades_out():
    """docs/instructor-guide.md puts submissions/ and grades/ in the kit's folder: never committed."""
    git = shutil.which("git")
    if git is None or not (KIT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["submissions/alice/project1/models.py", "grades/alice.json", "student/README.md"]
    done = subprocess.run([git, "check-ignore", "--no-index", *paths], cwd=KIT_ROOT, capture_output=True, text=True)
    assert set(done.stdout.split()) == set(paths), done.stdout + done.stderr
    guide = (KIT_ROOT / "docs" / "instructor-guide.md").read_text()
    assert "submissions/" in guide and "grades/" in guide


def _bundled_sources() -> list[tuple[str, str]]:
    """(name, text) of every source that goes into the bundle: solutions' .py and notebook cells, course/,
    autograder/ (its .py files and templates)."""
    sources = []
    for path in sorted(SOLUTIONS.rglob("*.py")) + sorted((KIT_ROOT / "autograder").rglob("*.py")) + \
            sorted((KIT_ROOT / "course").rglob("*.py")) + sorted(release.TEMPLATES.iterdir()):
        sources.append((str(path), path.read_text()))
    for path in sorted(SOLUTIONS.rglob("*.ipynb")):
        if ".ipynb_checkpoints" not in path.parts:
            for index, cell in enumerate(json.loads(path.read_text())["cells"], start=1):
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                sources.append((f"{path}, cell {index}", source))
    return sources


def test_nothing_from_a_solution_or_hidden_test_leaks_into_the_bundle(bundle):
    secret, public = set(), set()
    for name, text in _bundled_sources():
        regions = release.find_regions(text, name)
        inside = {number for r in regions for number in range(r.begin, r.end + 1)}
        secret |= {line.strip() for r in regions for line in r.body}
        public |= {line.strip() for number, line in enumerate(text.split("\n"), start=1) if number not in inside}
    # distinctive: long enough, not a comment, and not also written outside every region (e.g. a generic
    # `optimizer.zero_grad()` that public code uses too)
    public_text = "\n".join(sorted(public))
    distinctive = {line for line in secret if len(line) > 20 and not line.startswith("#") and line not in public_text}
    assert distinctive or not secret, "the leak check would check nothing"
    for path in sorted(bundle.rglob("*")):
        if path.is_file():
            rel, text = path.relative_to(bundle).as_posix(), path.read_bytes().decode("utf-8", "replace")
            assert not any(marker in text for marker in MARKERS), f"{rel} keeps an nbgrader marker"
            leaked = sorted(line for line in distinctive if line in text)
            assert not leaked, f"{rel} contains lines from solution or hidden-test regions: {leaked[:5]}"


def test_bundle_runs_on_its_own(bundle):
    probe = "import autograder, course, autograder.cli as c; print(autograder.__file__); print(course.__file__)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=bundle, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert all(Path(line).resolve().is_relative_to(bundle.resolve()) for line in done.stdout.split())
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "--help"], cwd=bundle, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_bundle_grades_its_skeletons(bundle):
    """The bundle's own suite (hidden tests stripped) runs and grades the bundled skeletons; its toxfile.py reads
    the score from the report `autograder check --report` wrote, to repeat it as tox's last line."""
    report = bundle / ".tox-report.json"
    report.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "check", "assignments", "--task", "p2.mse",
                           "--report", str(report)], cwd=bundle, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Total: 0 / {points_of('p2.mse'):g}" in done.stdout and "not implemented" in done.stdout
    pytest.importorskip("tox")
    spec = importlib.util.spec_from_file_location("bundle_toxfile", bundle / "toxfile.py")
    toxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(toxfile)
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(f"Total: 0 / {points_of('p2.mse'):g}") and last.startswith(toxfile.score_line(report))
    report.unlink()
    assert toxfile.score_line(report) is None


@pytest.mark.slow
def test_bundle_tox_ends_with_the_score(bundle):
    """The real thing, as a student runs it (about 2 minutes: a fresh environment with torch and the kit): tox
    exits 0 at 0 points and its last line is the score, below tox's own summary."""
    tox = Path(sys.executable).with_name("tox")
    if not tox.exists():
        pytest.skip("tox is not installed")
    done = subprocess.run([str(tox), "--", "--task", "p2.mse"], cwd=bundle, capture_output=True, text=True,
                          timeout=1200)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert lines[-1].startswith(f"Total: 0 / {points_of('p2.mse'):g}"), lines[-5:]
    assert any("congratulations" in line for line in lines[-3:-1]), lines[-5:]


def test_student_tox_ini_installs_torch_then_the_kit(bundle):
    tox = Path(sys.executable).with_name("tox")
    if not tox.exists():
        pytest.skip("tox is not installed")
    done = subprocess.run([str(tox), "config", "-e", "grade", "-k", "deps", "package", "commands"], cwd=bundle,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"torch=={versions.TORCH}" in done.stdout and "editable" in done.stdout
    assert "autograder check assignments" in done.stdout
