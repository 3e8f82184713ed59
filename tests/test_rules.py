"""The static rules (autograder/rules.py): every attack of issue 21 that reads as code is caught, with its file and
line; the reference, the skeletons, the plain fixture and every demo-class entry break none."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.rules import breaches, check_project, check_source
from course.submission import KIT_ROOT

ATTACKS_P2 = {
    "exec of a hex string": "exec(bytes.fromhex('7072696e74283129'))",
    "autograd through __import__ and getattr": "g = getattr(__import__('tor' + 'ch'), 'auto' + 'grad')",
    "enable_grad by a computed name": "import torch\ngetattr(torch, 'enable' + '_grad')()",
    "enable_grad by a literal name": "import torch\ngetattr(torch, 'enable_grad')()",
    "importlib": "import importlib\nF = importlib.import_module('torch.' + 'nn.functional')",
    "torch.func.vjp": "import torch\nvjp = torch.func.vjp",
    "torch.autograd.functional.vjp": "import torch\nvjp = torch.autograd.functional.vjp",
    "a plain import of torch.autograd": "import torch.autograd",
    "enable_grad": "import torch\nwith torch.enable_grad():\n    pass",
    "from torch import nn": "from torch import nn",
    "an alias": "import torch as t\ngrad = t.autograd.grad",
    "a sibling loaded by __import__": "helper = __import__('helper')",
    "frames": "def f(e):\n    return e.__traceback__.tb_frame.f_back.f_locals",
    "sys._getframe": "import sys\nframe = sys._getframe(1)",
    "patching torch": "import torch\ntorch.Tensor.add = None",
    "requires_grad=": "import torch\nx = torch.zeros(3, requires_grad=True)",
    "requires_grad_": "def f(x):\n    return x.requires_grad_()",
    "grad_fn": "def f(x):\n    return x.grad_fn",
    "torch._C": "import torch\ntorch._C._set_grad_enabled(True)",
    "torch.overrides": "from torch.overrides import TorchFunctionMode",
    "globals": "globals()['x'] = 1",
    "open": "text = open('/data/mnist').read()",
    "__dict__": "def f(m):\n    return m.__dict__",
    "gc": "import gc\nobjs = gc.get_objects()",
}
ATTACKS_P1 = {
    "the grader": "import autograder.sandbox.probes.project1",
    "the data set": "from course.data import generate_pair_sets",
    "os": "import os",
    "eval": "x = eval('1')",
    "inspect": "import inspect",
    "numpy's file readers": "import numpy as np\nimages = np.load('/data/mnist.npz')",
}


@pytest.mark.parametrize("name", list(ATTACKS_P2))
def test_every_project2_attack_is_named_with_its_line(name):
    found = check_source(ATTACKS_P2[name], "framework.py", "project2")
    assert found and all(v.file == "framework.py" and v.line >= 1 and not v.syntax for v in found), found


@pytest.mark.parametrize("name", list(ATTACKS_P1))
def test_every_project1_attack_is_named(name):
    assert check_source(ATTACKS_P1[name], "train.py", "project1")


def test_what_the_handout_uses_is_allowed():
    source = ("from __future__ import annotations\nimport math\nimport torch\nfrom torch import empty\n"
              "with torch.set_grad_enabled(False):\n    pass\nwith torch.no_grad():\n    pass\n"
              "class A:\n    def __repr__(self):\n        return type(self).__name__\n"
              "def f(model):\n    return getattr(model, 'modules', [model])\n"
              "from course.submission import load_sibling\nfw = load_sibling(__file__, 'framework')\n")
    assert check_source(source, "circle.py", "project2") == []
    assert check_source("import torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
                        "x = torch.zeros(1, requires_grad=True)\n", "models.py", "project1") == []


def test_sibling_files_and_notebook_cells_are_read(tmp_path):
    (tmp_path / "framework.py").write_text("import torch\nimport helper\n")
    (tmp_path / "helper.py").write_text("import torch\nbackward = torch.autograd.grad\n")
    (tmp_path / "project2.ipynb").write_text('{"cells": [{"cell_type": "code", "source": ["%matplotlib inline\\n", '
                                             '"exec(\'1\')"]}]}')
    found = [str(v) for v in breaches(tmp_path, "project2")]
    assert found == ["helper.py, line 2: torch.autograd.grad: project 2 computes every gradient by hand: no "
                     "autograd, torch.nn or compiler",
                     "project2.ipynb (cell 1), line 2: exec(...): no dynamic code, file access or namespace "
                     "reflection"], found


def test_a_syntax_error_is_no_violation(tmp_path):
    (tmp_path / "framework.py").write_text("def f(:\n")
    assert [v.syntax for v in check_project(tmp_path, "project2")] == [True] and breaches(tmp_path, "project2") == []


ENTRIES = [KIT_ROOT / "solutions", KIT_ROOT / "assignments", KIT_ROOT / "tests" / "fixtures" / "plain",
           *sorted(p for p in (KIT_ROOT / "examples" / "class").iterdir() if p.is_dir())]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda p: p.name)
def test_the_reference_skeletons_fixture_and_demo_class_break_no_rule(entry: Path):
    for project in ("project1", "project2"):
        assert breaches(entry / project, project) == [], (entry, project)


def test_the_students_own_tests_may_use_autograd_but_may_not_be_imported(tmp_path):
    (tmp_path / "framework.py").write_text("import torch\n")
    (tmp_path / "test_framework.py").write_text("import pytest\nimport torch\ntorch.autograd.gradcheck\n")
    assert breaches(tmp_path, "project2") == []
    (tmp_path / "framework.py").write_text("import torch\nimport test_framework\n")
    assert [v.construct for v in breaches(tmp_path, "project2")] == ["import test_framework"]
