"""The grading suite graded: the rubric, full marks for the solutions, 0 and a clean report for the skeletons,
the plain submission clearing every calibrated threshold, broken submissions that cost only their own tasks,
and student code that cannot forge its result."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import points_of
from mnist_idx import write_mnist

from autograder import grading, rubric, thresholds
from autograder.cli import main as autograder_main
from autograder.record import GradeReport, Status
from autograder.rules import breaches
from course.submission import KIT_ROOT

SOLUTIONS = KIT_ROOT / "solutions"
ASSIGNMENTS = KIT_ROOT / "assignments"
PLAIN = KIT_ROOT / "tests" / "fixtures" / "plain"


def grade(root, tmp_path, *extra, visibility="all"):
    """Run the suite on ``root``; return (report, pytest's output)."""
    report = tmp_path / f"report-{len(list(tmp_path.iterdir()))}.json"
    proc = grading.run_suite(Path(root), report, visibility=visibility, extra=tuple(extra))
    assert report.is_file(), f"no grade report; pytest said:\n{proc.stdout[-3000:]}"
    return json.loads(report.read_text()), proc.stdout


def by_task(report):
    return {t["task"]: t for t in report["tasks"]}


def copy_submission(src: Path, tmp_path: Path, name="submission") -> Path:
    dest = tmp_path / name
    for project in ("project1", "project2"):
        if (src / project).is_dir():
            shutil.copytree(src / project, dest / project,
                            ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    return dest


# ------------------------------------------------------------------------------------------------ the rubric


def test_rubric_totals_and_ids():
    assert rubric.core_total() == 100
    assert sum(t.points for t in rubric.TASKS if t.project == "project1" and not t.bonus) == 40
    assert rubric.bonus_total() > 0
    for t in rubric.TASKS:
        assert re.fullmatch(r"p[12](\.[a-z0-9_]+)+", t.id), t.id
        assert t.visibility in ("public", "hidden") and t.description
        assert (t.points > 0) != t.bench and not (t.bench and t.bonus), f"{t.id}: a benchmark has 0 points, no other"
    assert {t.id for t in rubric.select("p2.linear")} == {"p2.linear.forward", "p2.linear.backward"}


def test_every_task_has_tests_and_every_test_a_task():
    tested = set()
    for source in grading.SUITE.glob("test_*.py"):
        tested |= set(re.findall(r'@task\("([^"]+)"', source.read_text()))
    assert tested == {t.id for t in rubric.TASKS}, "tasks without a test, or tests of unknown tasks"
    # the per-task marker selects that task's tests through plain pytest (MiniTorch style)
    proc = subprocess.run([sys.executable, "-m", "pytest", str(grading.SUITE), "--collect-only", "-q",
                           "-p", "no:cacheprovider", "-o", "addopts=", "--submission", str(SOLUTIONS),
                           "-m", "p2_linear_backward"], capture_output=True, text=True, cwd=KIT_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    selected = [line for line in proc.stdout.splitlines() if "::" in line]
    assert selected and all("test_linear_backward" in line for line in selected), proc.stdout


def test_docs_rubric_table_is_the_rubric():
    text = (KIT_ROOT / "docs" / "rubric.md").read_text()
    assert rubric.markdown_table() in text, "docs/rubric.md is stale: paste `python -m autograder.rubric` into it"


# ------------------------------------------------------------------------------------------------ reference runs


@pytest.fixture(scope="module")
def solutions_report(tmp_path_factory):
    return grade(SOLUTIONS, tmp_path_factory.mktemp("solutions"))


def test_solutions_score_full_marks_and_every_bonus(solutions_report):
    report, output = solutions_report
    failed = {t["task"]: t["feedback"] for t in report["tasks"] if t["points"] < t["max_points"]}
    assert not failed, f"the solutions lose points:\n{json.dumps(failed, indent=1)[:4000]}\n{output[-2000:]}"
    assert report["score"] == rubric.core_total() and report["bonus"] == rubric.bonus_total()
    assert report["visibility"] == "all"


def test_solutions_get_a_benchmark_figure_in_the_report(solutions_report):
    """One entry per measured case (CPU here; CUDA too where the grader has a GPU), and a sentence in the text."""
    report, _ = solutions_report
    assert report["benchmarks_not_measured"] == []
    entries = {(b["task"], b["device"]): b for b in report["benchmarks"]}
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    assert set(entries) == {(task, device) for task in ("p2.bench.circle", "p2.bench.conv") for device in devices}
    for b in entries.values():
        assert {"task", "name", "device", "student_median_s", "torch_median_s", "ratio", "rounds"} <= set(b)
        assert b["student_median_s"] > 0 and b["torch_median_s"] > 0 and b["rounds"] >= 5
        assert b["ratio"] == pytest.approx(b["student_median_s"] / b["torch_median_s"], rel=1e-3)
    from autograder.report import render

    text = render(GradeReport.from_json(report))
    assert f"your framework trains the circle network (one epoch) in {entries['p2.bench.circle', 'cpu']['ratio']:.2f}× " \
           "the time of torch.nn + autograd" in text
    assert "p2.bench.circle" in text and "benchmark" in text


def test_skeletons_score_zero_with_a_readable_report(tmp_path):
    report, _ = grade(ASSIGNMENTS, tmp_path)
    assert report["score"] == 0 and report["bonus"] == 0
    statuses = {t["task"]: t["status"] for t in report["tasks"]}
    # every task that runs student code says "not implemented"; the static rules pass on an empty file
    assert {s for task, s in statuses.items() if not task.endswith(".rules")} == {Status.NOT_IMPLEMENTED.code}, statuses
    from autograder.report import render

    text = render(GradeReport.from_json(report))
    assert "Traceback" not in text and "NotImplementedError" not in text
    assert "not implemented" in text and f"Total: 0 / {rubric.core_total():g}" in text


def test_plain_submission_clears_every_project1_task(tmp_path):
    """A correct, unremarkable submission (tests/fixtures/plain) must earn every point of project 1."""
    report, output = grade(PLAIN, tmp_path, "--task", "p1")
    lost = {t["task"]: t["feedback"] for t in report["tasks"] if t["points"] < t["max_points"]}
    assert not lost, json.dumps(lost, indent=1)[:4000]


@pytest.mark.parametrize("mnist_dir", ["empty", "small full MNIST"])
def test_grades_ignore_course_mnist_dir(tmp_path, monkeypatch, mnist_dir):
    """The suite grades on the bundled subset its thresholds were calibrated on, whatever COURSE_MNIST_DIR says.

    p1.shapes draws 50 pairs: an empty folder, or a valid full-MNIST folder too small for 50 pairs, would make
    it fail if the suite read the variable; ignored, the reference keeps its full marks."""
    folder = tmp_path / "mnist"
    if mnist_dir == "empty":
        folder.mkdir()
    else:
        write_mnist(folder, n_train=40, n_test=20)
    monkeypatch.setenv("COURSE_MNIST_DIR", str(folder))
    report, output = grade(SOLUTIONS, tmp_path, "--task", "p1.shapes", visibility="public")
    task = by_task(report)["p1.shapes"]
    assert task["points"] == task["max_points"] > 0, f"{task['feedback']}\n{output[-2000:]}"


# ------------------------------------------------------------------------------------------------ bad submissions


def test_syntax_error_in_project1_still_grades_project2(tmp_path):
    sub = copy_submission(SOLUTIONS, tmp_path)
    models = sub / "project1" / "models.py"
    source = models.read_text()
    line = source[:source.index("class SiameseNet(nn.Module):")].count("\n") + 1
    models.write_text(source.replace("class SiameseNet(nn.Module):", "class SiameseNet(nn.Module)", 1))
    report, _ = grade(sub, tmp_path, "--task", "p1.shapes", visibility="public")
    task = by_task(report)["p1.shapes"]
    assert task["points"] == 0 and task["status"] == Status.IMPORT.code
    assert task["feedback"] == "[p1.shapes] not graded: models.py of project1 does not import (see above)"
    [error] = report["import_errors"]  # said once, with the file, the line, the offending line and a caret
    assert error["file"] == "models.py" and f"line {line}" in error["message"] and "syntax error" in error["message"]
    assert "class SiameseNet(nn.Module)\n" in error["message"] and "^" in error["message"]
    report, _ = grade(sub, tmp_path, "--task", "p2.linear", visibility="public")
    assert all(t["points"] == t["max_points"] for t in report["tasks"]), report


def test_endless_loop_times_out_alone(tmp_path):
    """Tanh.backward never returns: its cases time out, named as such; ReLU and Sigmoid still earn points."""
    sub = copy_submission(SOLUTIONS, tmp_path)
    fw = sub / "project2" / "framework.py"
    source = fw.read_text()
    start = source.index("class Tanh(Module):")
    at = source.index("def backward(self", start)
    body = source.index("### BEGIN SOLUTION", at)
    fw.write_text(source[:body] + "while True:\n            pass\n        " + source[body:])
    report, output = grade(sub, tmp_path, "--task", "p2.activations.backward", "--limit-scale", "0.1",
                           visibility="public")
    task = by_task(report)["p2.activations.backward"]
    assert 0 < task["passed"] < task["cases"], task
    assert task["status"] == Status.TIMEOUT.code and "timed out after 2 s" in task["feedback"], task["feedback"]
    assert 0 < task["points"] < task["max_points"]


def test_crash_and_wrong_values_give_feedback_not_tracebacks(tmp_path):
    sub = copy_submission(SOLUTIONS, tmp_path)
    fw = sub / "project2" / "framework.py"
    source = fw.read_text()
    # Sigmoid.forward kills its process; Linear.backward forgets the transpose of the weight gradient's product
    start = source.index("class Sigmoid(Module):")
    at = source.index("### BEGIN SOLUTION", source.index("def forward(self", start))
    source = source[:at] + "import os\n        os._exit(3)\n        " + source[at:]
    fw.write_text(source)
    # graded anyway (--withhold none): the static rules would withhold project 2 for its `import os`
    report, _ = grade(sub, tmp_path, "--task", "p2.activations.forward", "--withhold", "none", visibility="public")
    task = by_task(report)["p2.activations.forward"]
    assert task["status"] == Status.CRASH.code and 0 < task["points"] < task["max_points"], task


def test_student_code_cannot_forge_its_result(tmp_path):
    """A framework that patches torch's comparisons and pytest at import time, with a wrong backward: the judge
    runs in another process, so it still fails (and the static rules flag the attempt)."""
    sub = copy_submission(SOLUTIONS, tmp_path)
    fw = sub / "project2" / "framework.py"
    source = fw.read_text()
    forge = ("\nimport torch as _t\n_t.allclose = lambda *a, **k: True\n"
             "try:\n    import autograder.expect as _c\n    _c.expect_close = lambda *a, **k: None\n"
             "except ImportError:\n    pass\n")
    relu = "        return gradwrtoutput * self.output.sign()\n"
    assert relu in source, "ReLU.backward of the solutions changed: update this test"
    source = source.replace(relu, relu.replace("return ", "return -"), 1)
    fw.write_text(source + forge)
    # the static rules would withhold project 2 before its code runs (tests/test_integrity.py)
    assert any("autograder" in v.construct for v in breaches(sub / "project2", "project2"))
    # graded anyway (--withhold none): the patches change nothing in the judge, and the worker sees torch.allclose
    # rebound (autograder/sandbox/pristine.py), undoes it and withholds the project
    report, _ = grade(sub, tmp_path, "--task", "p2", "--withhold", "none", visibility="public")
    tasks = by_task(report)
    assert all(task["points"] == 0 for task in tasks.values()), tasks
    backward = tasks["p2.activations.backward"]
    assert backward["status"] == Status.INTEGRITY.code and "torch.allclose" in backward["feedback"], backward


def test_a_network_that_ignores_its_input_fails_the_accuracy_task(tmp_path):
    """The calibrated threshold is above what a constant predictor scores (about 55% of targets are 1)."""
    sub = copy_submission(PLAIN, tmp_path)
    models = sub / "project1" / "models.py"
    models.write_text(models.read_text().replace("return self.net(x / 255), None", "return self.net(x * 0), None"))
    report, _ = grade(sub, tmp_path, "--task", "p1.accuracy.baseline", visibility="public")
    task = by_task(report)["p1.accuracy.baseline"]
    threshold = thresholds.P1["thresholds"]["baseline"]
    assert task["points"] == 0 and f"expected: ≥ {100 * threshold:.1f}%" in task["feedback"], task["feedback"]


# ------------------------------------------------------------------------------------------------ the command


def test_check_command_prints_the_table(capsys):
    code = autograder_main(["check", str(ASSIGNMENTS), "--task", "p2.linear"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "p2.linear.forward" in printed and "p2.linear.backward" in printed and "not implemented" in printed
    assert f"Total: 0 / {points_of('p2.linear'):g}" in printed and "Traceback" not in printed


def test_check_command_require_full_and_errors(tmp_path, capsys):
    assert autograder_main(["check", str(ASSIGNMENTS), "--task", "p2.mse", "--require-full"]) == 1
    assert autograder_main(["check", str(SOLUTIONS), "--task", "p2.mse", "--require-full"]) == 0
    capsys.readouterr()
    assert autograder_main(["check", str(tmp_path)]) == 2
    assert "project1" in capsys.readouterr().err
    assert autograder_main(["check", str(SOLUTIONS), "--task", "p9.nothing"]) == 2
    assert "matches no task" in capsys.readouterr().err


def test_a_bonus_part_not_written_is_not_attempted(tmp_path):
    """A framework without LeakyReLU: one line, "not attempted", never "your code raised an exception" (twice)."""
    sub = copy_submission(SOLUTIONS, tmp_path)
    fw = sub / "project2" / "framework.py"
    fw.write_text(fw.read_text().replace("class LeakyReLU(Module):", "class _Unused(Module):", 1))
    report, _ = grade(sub, tmp_path, "--task", "p2.bonus.leaky_relu", visibility="public")
    task = by_task(report)["p2.bonus.leaky_relu"]
    assert task["status"] == Status.NOT_ATTEMPTED.code and task["points"] == 0
    assert "not attempted: framework.py defines no LeakyReLU" in task["feedback"]
    assert "raised an exception" not in task["feedback"]
    from autograder.report import render

    assert "What to fix first" not in render(GradeReport.from_json(report))


def test_sandbox_info_says_what_is_in_force(capsys):
    assert autograder_main(["check", "--sandbox-info"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("isolation: ") and "memory: 4 GiB" in printed and "processes: 64" in printed
    assert autograder_main(["check", "--sandbox-info", "--no-sandbox"]) == 0
    assert "isolation: NONE" in capsys.readouterr().out
    assert autograder_main(["check", "--sandbox-info", "--memory", "lots"]) == 2
    assert "--memory" in capsys.readouterr().err


def test_the_judges_reference_optimisers_are_torch_optims():
    """The suite replays torch.optim.SGD/Adam through their functional forms (no torch.compile import in the
    judge); they must stay the very same updates, step by step."""
    import torch

    from autograder.references import torch_adam, torch_sgd

    gen = torch.Generator().manual_seed(0)
    for kwargs, cls, reference in (({"lr": 0.1}, torch.optim.SGD, torch_sgd),
                                   ({"lr": 0.1, "momentum": 0.9}, torch.optim.SGD, torch_sgd),
                                   ({"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8}, torch.optim.Adam, torch_adam)):
        ours = [torch.randn(3, 2, generator=gen, dtype=torch.float64), torch.randn(2, generator=gen, dtype=torch.float64)]
        theirs = [p.clone() for p in ours]
        optimizer, step = cls(theirs, **kwargs), reference(ours, **kwargs)
        for _ in range(4):
            grads = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in ours]
            for p, g in zip(theirs, grads):
                p.grad = g.clone()
            optimizer.step()
            step([g.clone() for g in grads])
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs)), (cls.__name__, kwargs)
