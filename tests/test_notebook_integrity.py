"""Notebook grading that the notebook cannot subvert (issue 25): the autograded test cells are checked outside the
student's kernel (autograder/notebooks/checks.py), nbgrader and the notebook runner start with ``python -P``, and
what a submission tried is flagged (``NotebookGrade.integrity``, flag ``integrity``).

Each attack runs on a small nbgrader notebook (two answers, two autograded tests) through the kit's execution step,
``SandboxedExecute`` (in bubblewrap where it runs); where cheap, the same notebook also runs through nbgrader's
plain ``Execute`` (the tests in the student's kernel, as before), which shows that the attack succeeds without the
defence. The end-to-end run through an nbgrader course is slow.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import sandbox_args

from autograder.notebooks import checks
from autograder.record import Flag, GradeReport, NotebookGrade

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")
from nbgrader.utils import determine_grade  # noqa: E402

from autograder.notebooks.execute import IN, OUT, SandboxedExecute, merge_outputs  # noqa: E402

SANDBOX = "off" if sandbox_args() else "require"
RIGHT = ("answer = 42", "values = [1, 2, 3]")
WRONG = ("answer = 7", "values = [-1, 0]")
TESTS = (
    "assert isinstance(answer, int)\n### BEGIN HIDDEN TESTS\nassert abs(answer - (base + 2)) < 1e-9\n"
    "### END HIDDEN TESTS",
    "assert all(x > 0 for x in values)\nassert sum(values) == 6\n_n = len(values)\nassert _n == 3",
)


def _cell(source: str, **nbgrader) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "task": False, "locked": False, "grade": False,
                                     "solution": False, **nbgrader}
    return cell


def notebook(answers=RIGHT, before: str = "") -> nbformat.NotebookNode:
    """Parameters (free), setup (locked), then two answer + test pairs; ``before`` is prepended to the first
    answer (the student's attack)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [_cell("QUICK = True"), _cell("import math\nbase = 40", grade_id="setup", locked=True)]
    for n, (answer, test) in enumerate(zip(answers, TESTS), 1):
        source = (textwrap.dedent(before) + "\n" + answer) if n == 1 and before else answer
        nb.cells.append(_cell(source, grade_id=f"answer-{n}", solution=True))
        nb.cells.append(_cell(test, grade_id=f"test-{n}", grade=True, locked=True, points=n + 1))
    return nb


def worth(nb, grade_id: str) -> float:
    return float(next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
                 .metadata["nbgrader"]["points"])


def points(nb) -> tuple[float, float]:
    """(score, max score) of the notebook's autograded tests, as nbgrader's SaveAutoGrades decides them."""
    graded = [determine_grade(c) for c in nb.cells if checks.is_test(c)]
    return sum(g[0] for g in graded), sum(g[1] for g in graded)


def kit(nb, folder: Path, monkeypatch=None, report: Path | None = None):
    """The notebook executed by the kit (captures in the kernel, checks here)."""
    folder.mkdir(parents=True, exist_ok=True)
    if report is not None and monkeypatch is not None:
        monkeypatch.setenv(checks.REPORT_ENV, str(report))
    out, _ = SandboxedExecute(sandbox=SANDBOX, timeout=60, notebook_timeout=240).preprocess(
        nb, {"metadata": {"path": str(folder)}})
    return out


def in_kernel(nb, folder: Path):
    """The notebook executed by nbgrader's own Execute: the tests in the student's kernel (before issue 25)."""
    from nbgrader.preprocessors import Execute

    folder.mkdir(parents=True, exist_ok=True)
    out, _ = Execute(timeout=60).preprocess(nb, {"metadata": {"path": str(folder)}})
    return out


# ------------------------------------------------------------------------------------------------ no kernel

def test_a_test_cell_is_split_into_facts_gathered_in_the_kernel_and_checks_run_here():
    plan = checks.plan("t", TESTS[1] + "\nfor _i, _v in enumerate(values):\n    assert _v == _i + 1")
    assert plan.names == ["values"] and plan.gathered == ["_n"] and plan.gather == "_n = len(values)"
    plan = checks.plan("t", "_x = 1\n_y = _x + answer\nassert _y == 2")  # _y reads no name the checks bound
    assert plan.gathered == ["_x", "_y"] and plan.names == []  # answer: read by the kernel only
    plan = checks.plan("t", "import math\nk = 2\n_z = k * answer\nassert _z == math.pi")
    assert plan.gathered == [] and plan.names == ["answer"]  # _z reads k, bound by the checks: checked here
    assert checks.plan("t", "assert (").error


def test_the_capture_survives_shadowed_builtins_and_sends_plain_data(tmp_path):
    import torch

    nb = notebook()
    nb.cells[5].source = "assert t.dtype == torch.float32 and t.tolist() == [[0.5, 1.0]] and pair == (1, {2})\n" \
                         "assert keyed == {(1, 'a'): [2.5]}\n" \
                         "assert math.isnan(nan) and mod is math and other is not None\nassert other == 1"
    copy = checks.kernel_notebook(nb, str(tmp_path))
    ns: dict = {}
    exec(copy.notebook.cells[0].source, ns)  # the prologue, before any student cell
    function = next(k for k in ns if k.startswith("_kit_capture_"))
    ns.update(answer=42, base=40, t=torch.tensor([[0.5, 1.0]]), pair=(1, {2}), keyed={(1, "a"): [2.5]},
              nan=float("nan"), other=object(), torch=torch, mod=__import__("math"), math=__import__("math"))
    for name in ("repr", "isinstance", "str", "type", "open", "exec", "dict", "float", "int", "len"):
        ns[name] = lambda *a, **k: "shadowed"
    one, two = sorted(copy.plans)
    for index in (one, two):
        exec(copy.notebook.cells[index + copy.offset].source, ns)  # the capture cells
    captures, forged = checks.read_captures(tmp_path / copy.capture_name, copy)
    assert not forged
    assert checks.check(copy.plans[one], captures[one]) == []
    assert captures[two].values["t"].dtype == torch.float32 and isinstance(captures[two].values["other"],
                                                                            checks.Opaque)
    outputs = checks.check(copy.plans[two], captures[two])
    assert outputs[0].ename == "TypeError"  # all but `other == 1` pass: `other` is not plain data
    assert checks.check(copy.plans[two], checks.Capture(missing=["t"]))[0].ename == "NameError"


def test_a_missing_duplicated_or_garbled_capture_scores_zero(tmp_path):
    copy = checks.kernel_notebook(notebook(), str(tmp_path))
    first, second = sorted(copy.plans)
    record = {"index": 0, "grade_id": "test-1", "values": {"answer": 42, "base": 40}, "missing": [], "error": ""}
    (tmp_path / copy.capture_name).write_text(repr(record) + "\n" + repr(record) + "\nnot a record\n")
    captures, forged = checks.read_captures(tmp_path / copy.capture_name, copy)
    assert captures[first].forged and captures[second].problem and len(forged) == 2
    for index in (first, second):
        assert checks.check(copy.plans[index], captures[index])[0].output_type == "error"
    record["values"]["answer"] = ("__tensor__", "not_a_dtype", [1])
    (tmp_path / copy.capture_name).write_text(repr(record) + "\n")
    captures, forged = checks.read_captures(tmp_path / copy.capture_name, copy)
    assert captures[first].forged and forged


def test_a_notebook_flag_for_integrity_is_typed():
    report = GradeReport(score=0, max_score=1, bonus=0, max_bonus=0, tasks=[])
    report.notebooks = {"project1": NotebookGrade(flags=["project1 ships autograder/"], integrity=["autograder/"])}
    assert Flag.INTEGRITY in report.flags() and Flag.NOTEBOOK in report.flags()
    again = GradeReport.from_json(json.loads(json.dumps(report.to_json())))
    assert again.notebooks["project1"].integrity == ["autograder/"]


def test_a_package_named_like_the_kits_is_flagged(tmp_path):
    from autograder.notebooks.grading import shadowing

    for name in ("autograder", "course", "nbgrader"):
        (tmp_path / name).mkdir()
    (tmp_path / "ipykernel_launcher.py").write_text("")
    (tmp_path / "models.py").write_text("")
    assert shadowing(tmp_path) == ["autograder/", "course/", "ipykernel_launcher.py", "nbgrader/"]


# ------------------------------------------------------------------------------------------------ in a kernel

def test_the_honest_notebook_scores_what_it_earns(tmp_path):
    out = kit(notebook((RIGHT[0], WRONG[1])), tmp_path / "nb")
    assert points(out)[0] == worth(out, "test-1") > 0  # the right answer passes, the wrong values fail


TRANSFORMER = """
get_ipython().input_transformers_post.append(lambda lines: [])  # every later cell runs as a blank
"""
SHADOWED = """
class _Yes(float):
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = lambda *a: True
def abs(x): return _Yes(0)
def all(x): return True
def sum(x, *a): return _Yes(6)
def isinstance(*a): return True
def len(x): return _Yes(3)
"""


@pytest.mark.parametrize("attack", [TRANSFORMER, SHADOWED], ids=["input_transformer", "shadowed_builtins"])
def test_a_notebook_that_subverts_its_kernel_earns_nothing(attack, tmp_path):
    before = points(in_kernel(notebook(WRONG, attack), tmp_path / "before"))
    assert before[0] == before[1] > 0, "the attack no longer works in the student's kernel: rewrite it"
    assert points(kit(notebook(WRONG, attack), tmp_path / "kit"))[0] == 0


FAKE_RUNNER = '''
import ast, json, sys
src, dst = sys.argv[1], sys.argv[2]
nb = json.load(open(src))
try:  # forge the captures where there is a prologue: `capture = factory(spec, path)`
    call = ast.parse("".join(nb["cells"][0]["source"])).body[-2].value
    spec, path = ast.literal_eval(call.args[0]), ast.literal_eval(call.args[1])
    with open(path, "w") as f:
        for i, (grade_id, names, gather, gathered) in enumerate(spec):
            values = {"answer": 42, "base": 40, "values": [1, 2, 3], "_n": 3}
            f.write(repr({"index": i, "grade_id": grade_id, "values": {k: values[k] for k in names + gathered},
                          "missing": [], "error": ""}) + "\\n")
except Exception:
    pass
for cell in nb["cells"]:
    if cell["cell_type"] == "code":
        cell["outputs"] = []
nb["metadata"]["fake"] = True
json.dump(nb, open(dst, "w"))
'''


def test_a_runner_in_the_submission_never_runs(tmp_path):
    folder = tmp_path / "project1"
    package = folder / "autograder" / "sandbox"
    package.mkdir(parents=True)
    (folder / "autograder" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "notebook.py").write_text(FAKE_RUNNER)
    # without -P, the submission's runner is the one `python -m autograder.sandbox.notebook` starts here
    copy = checks.kernel_notebook(notebook(WRONG), str(folder))
    nbformat.write(copy.notebook, folder / IN)
    done = subprocess.run([sys.executable, "-m", "autograder.sandbox.notebook", IN, OUT], cwd=folder, timeout=120,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    executed = nbformat.read(str(folder / OUT), as_version=4)
    assert executed.metadata.get("fake")
    executed.cells = executed.cells[copy.offset:]
    before = merge_outputs(notebook(WRONG), executed, "")  # before issue 25: outputs only, and none is an error
    assert points(before)[0] == points(before)[1] > 0
    captures, _ = checks.read_captures(folder / copy.capture_name, copy)
    assert all(not checks.check(copy.plans[i], captures[i]) for i in copy.plans)  # its forged captures pass
    for path in (folder / IN, folder / OUT, folder / copy.capture_name):
        path.unlink()
    # the kit's runner starts with -P: the real one runs (the fake would forge every point), the answers decide
    assert points(kit(notebook((RIGHT[0], WRONG[1])), folder))[0] == worth(notebook(), "test-1")


FORGER = """
import glob
_line = repr({"index": 0, "grade_id": "test-1", "values": {"answer": 42, "base": 40}, "missing": [], "error": ""})
print(_line)  # a forged capture on the cell's output
for _f in glob.glob(".autograder-capture-*"):  # and in the capture file, found by its prefix
    with open(_f, "a") as _out:
        _out.write(_line + "\\n")
"""


def test_a_forged_capture_scores_zero_and_is_reported(tmp_path, monkeypatch):
    report = tmp_path / "report.jsonl"
    out = kit(notebook(WRONG, FORGER), tmp_path / "nb", monkeypatch, report)
    assert points(out)[0] == 0
    signs = json.loads(report.read_text())["forged"]
    assert any("test-1" in sign for sign in signs)


HELPERS = """
def _kit_capture(*a): pass
repr = str = isinstance = type = open = exec = dict = print = float = int = len = lambda *a, **k: None
AssertionError = Exception
"""
EXITING = """
answer = 42
raise SystemExit(0)
"""


def test_redefined_helper_names_and_system_exit_change_nothing(tmp_path):
    """An answer cell that redefines the names a capture could use, then raises SystemExit: the notebook goes on,
    the capture uses the builtins bound before any student cell, both right answers score."""
    out = kit(notebook((textwrap.dedent(HELPERS) + EXITING, RIGHT[1])), tmp_path / "nb")
    assert points(out)[0] == points(out)[1] > 0


# ------------------------------------------------------------------------------------------------ nbgrader's course

@pytest.mark.slow
def test_nbgrader_autograde_of_an_attacking_student(tmp_path):
    """The three attacks of the issue on project 2's notebook, through `autograder grade --nbgrader`'s grading of
    one student (nbgrader's course, its gradebook, the sandbox): no autograded point, the package flagged."""
    from autograder.notebooks import grading
    from autograder.notebooks.course import make_course
    from course.submission import KIT_ROOT

    course = make_course(tmp_path / "course", sandbox=SANDBOX)
    root = tmp_path / "student"
    shutil.copytree(KIT_ROOT / "examples" / "class" / "ines", root)  # the skeleton: nothing answered
    project = root / "project2"
    nb = nbformat.read(str(project / "project2.ipynb"), as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "p2-answer-disk")
    answer.source = textwrap.dedent(TRANSFORMER + SHADOWED) + "\ndisk_fraction = 0.1"
    nbformat.write(nb, str(project / "project2.ipynb"))
    (project / "autograder" / "sandbox").mkdir(parents=True)
    (project / "autograder" / "__init__.py").write_text("")
    (project / "autograder" / "sandbox" / "__init__.py").write_text("")
    (project / "autograder" / "sandbox" / "notebook.py").write_text(FAKE_RUNNER)
    results = grading.grade(course, "mallory", root, sandbox=SANDBOX)
    auto = [c for c in results["project2"].cells if c["cell"].startswith("p2-test")]
    assert auto and all(c["auto_score"] == 0 for c in auto), auto
    assert results["project2"].integrity and any("autograder/" in f for f in results["project2"].integrity)
