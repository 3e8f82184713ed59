"""Submissions that try to forge their grade (issue 21), graded by the real suite in the real sandbox.

Each attack is the reference solution (or the skeleton) with one change a determined student could make with the
public kit. For each: the grade is no more than the honest counterpart's, and the report says why (the flag
``integrity``). The harness (the arena: no network, no process left, the kit unchanged) is the hostile suite's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import test_hostile
from test_hostile import ASSIGNMENTS, SOLUTIONS, points

from autograder import integrity, rubric
from autograder.record import Flag, GradeReport, Status
from autograder.sandbox.isolation import probe as bwrap_probe
from course.submission import KIT_ROOT

arena = test_hostile.arena  # the hostile suite's fixture: no network, no process left, the kit unchanged

pytestmark = pytest.mark.skipif(bwrap_probe()[0] is None, reason=f"no sandbox here: {bwrap_probe()[1]}")


def grade(arena, root: Path, tmp_path: Path, *options, tasks):
    """The hostile suite's grading, with the integrity defences on (it switches them off for its sandbox attacks)."""
    return test_hostile.grade(arena, root, tmp_path, "--withhold", "integrity", *options, tasks=tasks)


def copy_of(tmp_path: Path, p1: Path = SOLUTIONS, p2: Path = SOLUTIONS) -> Path:
    """A submission: project 1 from ``p1``, project 2 from ``p2`` (the .py files only)."""
    root = tmp_path / "submission"
    for project, source in (("project1", p1), ("project2", p2)):
        (root / project).mkdir(parents=True)
        for path in (source / project).glob("*.py"):
            (root / project / path.name).write_text(path.read_text())
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def at_forward(path: Path, cls: str, code: str) -> None:
    """Insert ``code`` at the start of ``cls.forward`` (before its solution's first line)."""
    text = path.read_text()
    start = text.index(f"class {cls}(")
    body = text.index("### BEGIN SOLUTION", text.index("def forward(self", start))
    indent = " " * 8
    path.write_text(text[:body] + f"\n{indent}".join(code.strip().splitlines()) + "\n" + indent + text[body:])


def report_of(report: dict) -> GradeReport:
    return GradeReport.from_json({k: v for k, v in report.items() if not k.startswith("_")})


def task_of(report: dict, task_id: str) -> dict:
    return next(t for t in report["tasks"] if t["task"] == task_id)


# ------------------------------------------------------------------------------------------------ hidden tests


def test_hidden_inputs_never_reach_public_feedback(arena, tmp_path):
    """Linear records every input shape it sees; LeakyReLU (a public bonus task) raises them. The hidden Linear
    tasks use sizes no public task uses (13×9, 2×1): none may appear in any public task's feedback."""
    root = copy_of(tmp_path)
    framework = root / "project2" / "framework.py"
    edit(framework, "import torch\n", "import torch\n\n_SEEN = []\n")
    at_forward(framework, "Linear", "_SEEN.append(tuple(input.shape))")
    at_forward(framework, "LeakyReLU", "raise RuntimeError(f'seen: {_SEEN}')")
    report, _ = grade(arena, root, tmp_path, tasks="p2.hidden.linear,p2.bonus.leaky_relu")
    public = task_of(report, "p2.bonus.leaky_relu")
    assert public["status"] == Status.EXCEPTION.code and "seen:" in public["feedback"], public
    hidden_shapes = ("(13, 9)", "(2, 1)")
    assert not any(shape in public["feedback"] for shape in hidden_shapes), public["feedback"]
    assert task_of(report, "p2.hidden.linear")["points"] == rubric.BY_ID["p2.hidden.linear"].points


def test_a_worker_that_served_a_hidden_task_is_restarted_before_a_public_one():
    """Whatever the order, a public call never reaches a worker that served a hidden call."""
    from autograder.plugin import Project

    class FakeWorker:
        served_hidden, stops = False, 0

        def stop(self):
            self.stops += 1

        def call(self, probe, timeout, **kwargs):
            return probe

    worker = FakeWorker()
    Project(worker, Path("."), "project2", 1.0).call("public")
    assert worker.stops == 0
    Project(worker, Path("."), "project2", 1.0, hidden=True).call("hidden")
    Project(worker, Path("."), "project2", 1.0, hidden=True).call("hidden")
    assert worker.stops == 0 and worker.served_hidden
    Project(worker, Path("."), "project2", 1.0).call("public")
    assert worker.stops == 1 and not worker.served_hidden


# ------------------------------------------------------------------------------------------------ kit packages

SHADOW_LOADER = '''
import torch

class _Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight, self.bias = torch.empty(fan_out, fan_in), torch.empty(fan_out)
        self.gw, self.gb = torch.zeros(fan_out, fan_in), torch.zeros(fan_out)

    def param(self):
        return [(self.weight, self.gw), (self.bias, self.gb)]

    def forward(self, x):
        return x @ self.weight.T + self.bias


_kit_load_module = load_module


def load_module(impl, project, module):
    loaded = _kit_load_module(impl, project, module)
    if module == "framework":
        loaded.Linear = _Linear
    return loaded
'''


def test_a_course_package_in_the_submission_is_never_loaded(arena, tmp_path):
    """The skeleton of project 2 plus a copy of the kit's ``course/`` whose ``load_module`` hands the probes a
    working Linear: the shadow must not be loaded (the skeleton's honest 0) and the report flags it."""
    root = copy_of(tmp_path, p2=ASSIGNMENTS)
    shadow = root / "project2" / "course"
    shutil.copytree(KIT_ROOT / "course", shadow, ignore=shutil.ignore_patterns("__pycache__"))
    (shadow / "submission.py").write_text((shadow / "submission.py").read_text() + SHADOW_LOADER)
    # the loader alone (the rules would withhold project 2 anyway: the copy of course/ imports sys, os...)
    assert integrity.rules_verdict(root / "project2", "project2") is not None
    report, _ = grade(arena, root, tmp_path, "--withhold", "none", tasks="p2.linear.forward")
    assert points(report)["p2.linear.forward"] == 0, task_of(report, "p2.linear.forward")["feedback"]
    assert task_of(report, "p2.linear.forward")["status"] == Status.NOT_IMPLEMENTED.code, task_of(report, "p2.linear.forward")["feedback"]
    assert Flag.INTEGRITY in report_of(report).flags()
    assert any(n["kind"] == "integrity" and "course/" in n["text"] for n in report["notes"]), report["notes"]


# ------------------------------------------------------------------------------------------------ static rules

P2_PROBE_PATCH = '''
import sys
import torch.nn.functional as F

_probes = sys.modules["autograder.sandbox.probes.project2"]


def forward_backward(ctx, spec, inputs, grad_output=None, params=None, repeat=1, mode=None):
    return {"output": F.linear(inputs[0], *params)}


_probes.forward_backward = forward_backward
'''


def test_p2_skeleton_that_patches_the_probes_scores_nothing(arena, tmp_path):
    """The skeleton of project 2 plus one ``exec(bytes.fromhex(...))`` line that swaps the probe for one answering
    from torch.nn.functional: the rule task fails and every other task of project 2 is withheld (the skeleton's 0)."""
    root = copy_of(tmp_path, p2=ASSIGNMENTS)
    framework = root / "project2" / "framework.py"
    framework.write_text(framework.read_text() + f"\nexec(bytes.fromhex({P2_PROBE_PATCH.encode().hex()!r}))\n")
    report, _ = grade(arena, root, tmp_path, tasks="p2.rules,p2.linear.forward")
    forward = task_of(report, "p2.linear.forward")
    assert forward["points"] == 0 and forward["status"] == Status.INTEGRITY.code, forward
    assert "framework.py, line" in forward["feedback"] and "exec(...)" in forward["feedback"], forward["feedback"]
    rules = task_of(report, "p2.rules")
    assert rules["points"] == 0 and "exec(...)" in rules["feedback"], rules
    assert Flag.INTEGRITY in report_of(report).flags()


P1_PROBE_PATCH = '''
import importlib
import torch.nn.functional as F

_probes = importlib.import_module("autograder.sandbox.probes.project1")


def _pair_loss(ctx, target_logits, digit_logits, target, classes, aux_weight):
    loss = F.cross_entropy(target_logits, target)
    if digit_logits is not None:
        loss = loss + aux_weight * (F.cross_entropy(digit_logits[:, 0], classes[:, 0])
                                    + F.cross_entropy(digit_logits[:, 1], classes[:, 1]))
    return loss


_probes.pair_loss = _pair_loss
'''


def test_p1_probe_patch_through_a_sibling_module_scores_nothing(arena, tmp_path):
    """Project 1 whose ``pair_loss`` is a stub (honest: 0 of 5) and a sibling ``helpers.py``, imported by train.py,
    that replaces the pair_loss probe through ``importlib``: withheld, and the rule task names the sibling."""
    root = copy_of(tmp_path)
    train = root / "project1" / "train.py"
    (root / "project1" / "helpers.py").write_text(P1_PROBE_PATCH)
    text = train.read_text()
    start = text.index("def pair_loss(")
    body = text.index("### BEGIN SOLUTION", start)
    train.write_text("import helpers  # noqa: F401\n" + text[:body] + "raise NotImplementedError\n        "
                     + text[body:])
    report, _ = grade(arena, root, tmp_path, tasks="p1.rules,p1.pair_loss")
    loss = task_of(report, "p1.pair_loss")
    assert loss["points"] == 0 and loss["status"] == Status.INTEGRITY.code, loss
    rules = task_of(report, "p1.rules")
    assert rules["points"] == 0 and "helpers.py, line 2: import importlib" in rules["feedback"], rules["feedback"]
    assert Flag.INTEGRITY in report_of(report).flags()


# ------------------------------------------------------------------------------------------------ the tripwire

HIDDEN_AUTOGRAD = '''
_on = torch.set_grad_enabled(False)
_on.prev = True
with _on:
    pass
x = torch.tensor(self.input.tolist(), dtype=self.input.dtype, **_GRAD)
w = torch.tensor(self.weight.tolist(), dtype=self.weight.dtype, **_GRAD)
out = x.mm(w.t())
out.backward(gradwrtoutput)
self.grad_weight += w.grad
if self.bias is not None:
    self.grad_bias += gradwrtoutput.sum(dim=0)
torch.set_grad_enabled(False)
return x.grad
'''


def test_autograd_the_static_rules_cannot_see_is_caught_at_run_time(arena, tmp_path):
    """Linear.backward by autograd, switched on through set_grad_enabled's saved ``prev`` and a computed
    ``requires_grad`` keyword: the static rules pass it; the worker's tripwire withholds project 2, the tasks that
    passed before it fired included."""
    root = copy_of(tmp_path)
    framework = root / "project2" / "framework.py"
    edit(framework, "import torch\n", "import torch\n\n_GRAD = {'requires_' + 'grad': True}\n")
    text = framework.read_text()
    start = text.index("def backward(self, gradwrtoutput):", text.index("class Linear("))
    body = text.index("### BEGIN SOLUTION", start)
    framework.write_text(text[:body] + "\n        ".join(HIDDEN_AUTOGRAD.strip().splitlines()) + "\n        "
                         + text[body:])
    assert integrity.rules_verdict(root / "project2", "project2") is None, "the static rules must not see it"
    report, _ = grade(arena, root, tmp_path, tasks="p2.rules,p2.linear")
    for task_id in ("p2.rules", "p2.linear.forward", "p2.linear.backward"):
        task = task_of(report, task_id)
        assert task["points"] == 0 and task["status"] == Status.INTEGRITY.code, task
    assert "gradient tracking was on" in task_of(report, "p2.linear.backward")["feedback"]
    assert Flag.INTEGRITY in report_of(report).flags()


# ------------------------------------------------------------------------------------------------ test data

LOOKUP_NET = '''

_TABLE = TABLE  # the grading pairs' labels, keyed by a few pixels of each (built with the kit, embedded here)


class BaselineNet(nn.Module):
    """A dead net (its layer is multiplied by 0) that looks the test pairs' labels up."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(392, 2)

    def forward(self, x):
        known = torch.tensor([_TABLE.get(tuple(pair.flatten()[::53].tolist()), 0) for pair in x])
        return F.one_hot(known, 2).float() * 10 + 0 * self.fc(x.flatten(1).float()), None
'''


def lookup_net() -> str:
    """LOOKUP_NET with its table: the test pairs drawn with the public seeds (559, 560) from the bundled MNIST,
    with the kit's public perturbation (the sandbox has no copy of MNIST to build it from: it is embedded)."""
    from autograder.integrity import perturb
    from course.data import BUNDLED, generate_pair_sets

    table = {}
    for seed in (559, 560):
        sets = generate_pair_sets(1000, seed=seed, data_dir=BUNDLED)
        for pair, target in zip(perturb(sets[3], seed), sets[4]):
            table[tuple(pair.flatten()[::53].tolist())] = int(target)
    return LOOKUP_NET.replace("TABLE  #", f"{table!r}  #")


def test_a_net_that_looks_the_labels_up_earns_no_accuracy(arena, tmp_path):
    """BaselineNet answers from a table of the grading pairs (drawn with the public seed; embedded in the file, since
    the sandbox has no MNIST to build it from): it is far above chance before training, so its accuracy task is
    withheld."""
    root = copy_of(tmp_path)
    models = root / "project1" / "models.py"
    models.write_text(models.read_text() + lookup_net())
    report, _ = grade(arena, root, tmp_path, "--withhold", "none", tasks="p1.accuracy.baseline")
    task = task_of(report, "p1.accuracy.baseline")
    assert task["points"] == 0 and task["status"] == Status.INTEGRITY.code, task
    assert "before any training" in task["feedback"]
    assert Flag.INTEGRITY in report_of(report).flags()


def test_with_the_instructors_seed_a_lookup_table_finds_nothing(arena, tmp_path):
    """The same lookup net, graded with an instructor's data seed: its table (built from the public seed) matches
    no test pair, so it is the dead net it is (below the threshold); the report records the seed."""
    root = copy_of(tmp_path)
    models = root / "project1" / "models.py"
    models.write_text(models.read_text() + lookup_net())
    report, _ = grade(arena, root, tmp_path, "--withhold", "none", "--data-seed", "424242",
                      tasks="p1.accuracy.baseline")
    task = task_of(report, "p1.accuracy.baseline")
    assert task["points"] == 0 and task["status"] == Status.FAILED.code, task
    assert report["data_seed"] == 424242


HIDING_DIGIT_LOOKUP = '''

try:
    from course import data as _data

    _images, _labels = _data._pooled(*_data._resolve(_data.BUNDLED))[2:]
    _DIGITS = {_image.numpy().tobytes(): int(_label) for _image, _label in zip(_images, _labels)}
except Exception:  # no MNIST inside the sandbox (isolation.data_folders): nothing to look up
    _DIGITS = {}


class BaselineNet(nn.Module):
    """A dead net until it has been trained; then it looks each digit image up in the data set's test pool."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(392, 2)
        self.trained = 0

    def forward(self, x):
        self.trained += int(self.training)
        dead = 0 * self.fc(x.flatten(1).float())
        if self.trained <= 1:  # the untrained check runs before any training-mode batch
            return dead, None
        first = [_DIGITS.get(pair[0].numpy().tobytes(), 0) for pair in x]
        second = [_DIGITS.get(pair[1].numpy().tobytes(), 9) for pair in x]
        known = torch.tensor([int(a <= b) for a, b in zip(first, second)])
        return F.one_hot(known, 2).float() * 10 + dead, None
'''


def test_a_net_that_hides_its_lookup_until_trained_finds_nothing_in_perturbed_images(arena, tmp_path):
    """A net that is dead before training (so the untrained check passes) and afterwards looks every digit image
    up in the bundled test pool: the pool is masked inside the sandbox, and the test images the accuracy tasks use
    are perturbed per grading (noise seeded by the instructor's data seed), so no image is found and the net is the
    dead net it is."""
    root = copy_of(tmp_path)
    models = root / "project1" / "models.py"
    models.write_text(models.read_text() + HIDING_DIGIT_LOOKUP)
    report, _ = grade(arena, root, tmp_path, "--withhold", "none", "--data-seed", "424242",
                      tasks="p1.accuracy.baseline")
    task = task_of(report, "p1.accuracy.baseline")
    assert task["points"] == 0 and task["status"] == Status.FAILED.code, task
