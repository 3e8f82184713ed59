"""autograder/rules.py, read directly: the static rules that p1.rules and p2.rules (5 points) ride on. A framework
that reaches autograd or torch.nn in any spelling breaks them; a clean one, the reference and project 1's use of
torch.nn do not."""

from __future__ import annotations

import textwrap

import pytest

from autograder.rules import check_file
from course.submission import KIT_ROOT

CLEAN_FRAMEWORK = """
import math
import torch
from torch import empty


class Linear:
    def __init__(self, n_in, n_out):
        self.nn = n_in  # an attribute of the student's own that happens to be called nn
        self.weight = empty(n_out, n_in).uniform_(-1 / math.sqrt(n_in), 1 / math.sqrt(n_in))

    def forward(self, x):
        self.x = x
        return x @ self.weight.t()

    def backward(self, grad):
        self.grad_weight = grad.t() @ self.x
        return grad @ self.weight
"""


def violations(tmp_path, source: str, *, framework: bool = True) -> list[str]:
    path = tmp_path / "framework.py"
    path.write_text(textwrap.dedent(source))
    return check_file(path, framework=framework)


@pytest.mark.parametrize("source, words", [
    ("import torch.nn as nn", "imports torch.nn"),
    ("import torch.nn.functional as F", "imports torch.nn.functional"),
    ("from torch import nn", "imports torch.nn"),
    ("from torch import autograd", "imports torch.autograd"),
    ("from torch.autograd import grad", "imports torch.autograd"),
    ("from torch.func import grad", "imports torch.func"),
    ("import torch\ny = torch.nn.functional.relu(torch.ones(1))", "uses torch.nn"),
    ("import torch\ng = torch.autograd.grad", "uses torch.autograd"),
    ("import torch\nw = torch.zeros(3, requires_grad=True)", "passes requires_grad="),
    ("import torch\nw = torch.zeros(3)\nw.requires_grad_()", "uses requires_grad_"),
    ("import torch\nw = torch.zeros(3)\nw.requires_grad = True", "uses requires_grad"),
    ("import torch\nwith torch.enable_grad():\n    pass", "uses torch.enable_grad"),
    ("import torch\ntorch.set_grad_enabled(True)", "uses torch.set_grad_enabled"),
    ("import numpy", "the framework may import only torch and math"),
    ("import autograder", "may not touch the grader or pytest"),
    ("from _pytest import monkeypatch", "may not touch the grader or pytest"),
    ("import sys\nsys.modules['torch'] = None", "uses sys.modules"),
    ("import builtins\nbuiltins.print = None", "uses builtins"),
])
def test_a_framework_that_breaks_a_rule_is_caught(tmp_path, source, words):
    found = violations(tmp_path, source)
    assert len(found) >= 1 and any(words in v for v in found), found
    assert all(v.startswith("framework.py, line ") for v in found), found


def test_a_clean_framework_passes(tmp_path):
    assert violations(tmp_path, CLEAN_FRAMEWORK) == []


def test_the_references_pass_and_project_1_may_use_torch_nn(tmp_path):
    assert check_file(KIT_ROOT / "solutions" / "project2" / "framework.py", framework=True) == []
    for name in ("models.py", "train.py"):
        assert check_file(KIT_ROOT / "solutions" / "project1" / name) == []
    assert violations(tmp_path, "import torch.nn as nn\nlayer = nn.Linear(2, 2)", framework=False) == []
    assert violations(tmp_path, "import autograder", framework=False) != []  # tampering: every file, every project


def test_the_line_is_named_and_an_unparsable_file_is_reported(tmp_path):
    assert violations(tmp_path, "import math\n\nfrom torch import nn\n") == [
        "framework.py, line 3: imports torch.nn: autograd and torch.nn are off limits"]
    assert violations(tmp_path, "def broken(:\n") == ["framework.py, line 1: syntax error (invalid syntax)"]
    assert check_file(tmp_path / "missing.py") == ["missing.py: cannot be read (No such file or directory)"]
