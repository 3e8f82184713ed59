"""Each fault of a project-2 framework is charged once, where it lives (issue 23).

``tests/fixtures/p2_faults/faults.json`` holds single faults, each the reference framework
(``solutions/project2/framework.py``) with one change, the component it breaks and the tasks named after that
component (``loses``; ``loses_all``: those it must lose entirely); compound cases put two faults (``compound``)
or five (``many``) in one framework. Graded, a framework must lose points in exactly the union of its faults'
``loses`` — plus ``p2.circle`` for a fault that breaks training (``circle``: the kind of training curve it gives,
which the circle task's hint names, or ``crash``) — and nothing anywhere else.

Default suite: the two five-fault frameworks graded on every project-2 task but the circle, the rules and the bonus
(together they hold every fault but one that edits a line another edits, and each task but Linear.forward is lost by
one of them), the circle protocol run in this process on the faults that give a training curve, and static checks of
every case. ``slow``: every single fault, every compound case and the reference, graded on every task of project 2
(the circle, the hidden tasks and the bonus included; the reference loses nothing).
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import sandbox_args

from autograder import grading, rubric, thresholds
from autograder.rules import check_project
from autograder.sandbox.probes import project2 as probes
from course.data import generate_disc_set
from course.project2.spec import N_POINTS
from course.submission import KIT_ROOT, load_module

FOLDER = KIT_ROOT / "tests" / "fixtures" / "p2_faults"
MANIFEST = json.loads((FOLDER / "faults.json").read_text())
FAULTS: dict = MANIFEST["faults"]
COMPOUND: dict = MANIFEST["compound"]
MANY: dict = MANIFEST["many"]
REFERENCE = KIT_ROOT / "solutions" / "project2" / "framework.py"
P2 = [t.id for t in rubric.TASKS if t.project == "project2" and not t.bench]
# the default suite's selection: every task of project 2 but the circle (the slow sweep grades it), the rules (no
# fault breaks them; checked statically below) and the bonus (the slow sweep grades them)
UNIT = [t for t in P2 if t not in ("p2.circle", "p2.rules") and not rubric.BY_ID[t].bonus]


def _suite_module():
    spec = importlib.util.spec_from_file_location("suite_test_project2", grading.SUITE / "test_project2.py")
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():  # its task markers are registered by the grading plugin, not loaded here
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        spec.loader.exec_module(module)
    return module


SUITE = _suite_module()


def framework_source(names) -> str:
    """The reference framework with the edits of the faults ``names``, applied in order (each must match once)."""
    source = REFERENCE.read_text()
    for name in names:
        for old, new in FAULTS[name]["edits"]:
            assert source.count(old) == 1, f"fault {name}: {old!r} occurs {source.count(old)} times in the framework"
            source = source.replace(old, new)
    return source


def materialise(names, root: Path) -> Path:
    """A submission folder whose project2/framework.py carries the faults ``names``."""
    (root / "project2").mkdir(parents=True)
    (root / "project2" / "framework.py").write_text(framework_source(names))
    return root


def expected_losses(names, graded) -> set[str]:
    lost = {task for name in names for task in FAULTS[name]["loses"]}
    if any(FAULTS[name].get("circle") for name in names):
        lost.add("p2.circle")
    return lost & set(graded)


def graded_losses(root: Path, tmp_path: Path, tasks) -> dict[str, tuple[float, float, str]]:
    """Grade ``root`` on ``tasks`` (hidden included, benchmarks left out): the task -> (points, max, feedback) of
    every graded task."""
    report = tmp_path / "report.json"
    proc = grading.run_suite(root, report, task=",".join(tasks), visibility="all",
                             extra=(*sandbox_args(), "-m", "not bench"))
    assert report.is_file(), proc.stdout[-3000:]
    found = {t["task"]: (t["points"], t["max_points"], t["feedback"]) for t in json.loads(report.read_text())["tasks"]}
    assert set(found) == set(tasks), sorted(set(tasks) ^ set(found))
    return found


def check_charged_where_it_lives(names, tmp_path: Path, tasks) -> None:
    found = graded_losses(materialise(names, tmp_path / "submission"), tmp_path, tasks)
    lost = {task for task, (points, maximum, _) in found.items() if points < maximum}
    expected = expected_losses(names, tasks)
    wrongly = {task: found[task][2][:600] for task in lost - expected}
    assert not wrongly, f"{names} cost tasks of other components:\n{json.dumps(wrongly, indent=1)}"
    assert lost == expected, f"{names} should cost {sorted(expected - lost)} too"
    # the shapes decide: a fault that breaks every case of a task (a gradient divided by the batch size) earns none
    partly = {task: found[task][:2] for name in names for task in FAULTS[name].get("loses_all", ())
              if task in found and found[task][0] > 0}
    assert not partly, f"{names} still earn points in {partly}"


# ------------------------------------------------------------------------------------------------ the catalogue


def test_the_catalogue_is_complete():
    readme = (FOLDER / "README.md").read_text()
    assert len(FAULTS) >= 10 and len(COMPOUND) >= 5
    assert all(f"`{name}`" in readme for name in [*FAULTS, *COMPOUND, *MANY]), "every case has its line in README.md"
    for name, fault in FAULTS.items():
        assert fault["edits"] and fault["loses"] and set(fault["loses"]) <= set(P2), name
        assert set(fault.get("loses_all", ())) <= set(fault["loses"]), name
        assert fault.get("circle") in (None, "crash", *(kind.name for kind in SUITE.LossCurve)), name
    assert all(len(names) == 2 for names in COMPOUND.values())
    covered = {name for names in MANY.values() for name in names}
    edited = {old for name in covered for old, _ in FAULTS[name]["edits"]}
    # every fault is graded by the default suite, but one that edits the same line as a graded one (it cannot share
    # a framework with it): the slow sweep grades that one
    assert all(any(old in edited for old, _ in FAULTS[name]["edits"]) for name in set(FAULTS) - covered)
    for task in UNIT:  # each graded task but Linear.forward is lost by a five-fault framework
        lost = any(task in expected_losses(names, UNIT) for names in MANY.values())
        assert lost or task == "p2.linear.forward", task


@pytest.mark.parametrize("names", [[name] for name in FAULTS] + list(COMPOUND.values()) + list(MANY.values()),
                         ids=[*FAULTS, *COMPOUND, *MANY])
def test_every_case_is_one_real_edit_that_keeps_the_rules(names, tmp_path):
    """Each edit matches the reference once (so a changed reference cannot silently drop a fault) and the faulty
    framework still follows the rules: the faults cost behaviour tasks, never the rules."""
    source = framework_source(names)
    assert source != REFERENCE.read_text()
    assert check_project(materialise(names, tmp_path) / "project2", "project2") == []


# ------------------------------------------------------------------------------------------------ grading


@pytest.mark.parametrize("case", list(MANY))
def test_five_faults_in_one_framework_cost_only_their_components(case, tmp_path):
    check_charged_where_it_lives(MANY[case], tmp_path, UNIT)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["reference", *FAULTS, *COMPOUND])
def test_every_fault_costs_only_its_component_circle_included(case, tmp_path):
    """The full sweep (about 20 s a case): every task of project 2, circle, hidden and bonus included; the
    reference framework loses nothing."""
    names = [] if case == "reference" else COMPOUND.get(case, [case])
    check_charged_where_it_lives(names, tmp_path, P2)


# ------------------------------------------------------------------------------------------------ the circle hint


def circle_run(names, tmp_path: Path) -> tuple[float, list]:
    """The circle task's protocol (the probe itself, in this process, gradient tracking off) on a framework with
    the faults ``names``: (test accuracy, per-epoch training losses)."""
    root = materialise(names, tmp_path / "submission")
    framework = load_module(root, "project2", "framework")
    cfg = thresholds.P2_CIRCLE
    train_input, train_target = generate_disc_set(N_POINTS, seed=cfg["seed"])
    test_input, test_target = generate_disc_set(N_POINTS, seed=cfg["seed"] + 1)
    ctx = SimpleNamespace(module=lambda name: framework)
    with torch.random.fork_rng(devices=[]), torch.set_grad_enabled(False):
        got = probes.circle_predictions(ctx, train_input, train_target, test_input, epochs=cfg["epochs"],
                                        lr=cfg["lr"], batch_size=cfg["batch_size"], seed=cfg["seed"])
    return float((got["predictions"] == test_target).double().mean()), got["losses"]


@pytest.mark.parametrize("name", [name for name, fault in FAULTS.items() if fault.get("circle") not in (None, "crash")])
def test_a_fault_that_breaks_training_gets_its_own_circle_hint(name, tmp_path, one_thread):
    accuracy, losses = circle_run([name], tmp_path)
    assert accuracy < thresholds.P2_CIRCLE["threshold"], f"{name} trains the circle network: {accuracy:.3f}"
    kind, _ = SUITE.classify_losses(losses)
    assert kind is SUITE.LossCurve[FAULTS[name]["circle"]], (name, kind, losses[:3], losses[-3:])
    hint = SUITE.circle_diagnosis(losses)
    assert hint.endswith(SUITE.CIRCLE_HINTS[kind])


def test_loss_curves_are_classified():
    kind = SUITE.LossCurve
    classify = SUITE.classify_losses
    assert classify([5.0, 4.0, float("nan")])[0] is kind.NOT_FINITE
    assert classify([5.0, 6.0, float("inf")])[0] is kind.NOT_FINITE
    assert classify([5.0, 5.0 * (1 + 1e-7), 5.0])[0] is kind.FROZEN
    assert classify([5.0, 7.0, 9.0])[0] is kind.GROWS
    assert classify([5.0, 4.5, 4.0])[0] is kind.SLOW
    assert classify([5.0, 2.0, 0.5])[0] is kind.FALLS
    assert classify(None)[0] is kind.UNKNOWN and classify([])[0] is kind.UNKNOWN
    assert len({*SUITE.CIRCLE_HINTS.values()}) == len(kind), "one hint per kind of curve"


# ------------------------------------------------------------------------------------------------ the lent modules

BORROWER = """

GRADER = []


class Linear(Module):
    \"\"\"No Linear of its own: it keeps the grader's, taken from a Sequential it was given.\"\"\"

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.shape, self.inner = (in_features, out_features, bias), None

    def lent(self):
        if self.inner is None:
            self.inner = GRADER[0](*self.shape)
            for p, _ in self.inner.param():
                p.uniform_(-1 / math.sqrt(self.shape[0]), 1 / math.sqrt(self.shape[0]))
        return self.inner

    def forward(self, input):
        return self.lent().forward(input)

    def backward(self, gradwrtoutput):
        return self.lent().backward(gradwrtoutput)

    def param(self):
        return self.lent().param()
"""
KEEP = """        self.modules = list(modules)
        GRADER.extend(type(m) for m in self.modules if type(m).__name__ == "RefLinear")
"""


def test_the_graders_modules_cannot_stand_in_for_the_students_linear(tmp_path):
    """A framework whose Sequential keeps the class of the grader's Linear it was given, and whose own Linear
    delegates to it in the later tasks: the grader's modules work only inside the call that lent them."""
    source = REFERENCE.read_text()
    assert source.count("class Linear(Module):") == 1 and source.count("        self.modules = list(modules)\n") == 1
    source = source.replace("class Linear(Module):", "class OwnLinear(Module):")
    source = source.replace("        self.modules = list(modules)\n", KEEP) + BORROWER
    (tmp_path / "submission" / "project2").mkdir(parents=True)
    (tmp_path / "submission" / "project2" / "framework.py").write_text(source)
    assert check_project(tmp_path / "submission" / "project2", "project2") == []
    tasks = ["p2.sequential", "p2.accumulate", "p2.zero_grad"]  # in the suite's order: Sequential first
    found = graded_losses(tmp_path / "submission", tmp_path, tasks)
    assert found["p2.sequential"][0] == found["p2.sequential"][1], found["p2.sequential"]
    earned = {task: found[task][:2] for task in tasks[1:] if found[task][0] > 0}
    assert not earned, f"the grader's Linear earned {earned}"
