"""Static rules, checked by reading the student's file (the judge never imports it).

Project 2's framework may use tensor operations and ``math`` only: no ``torch.nn``, ``torch.autograd``,
``torch.func``, ``requires_grad``, ``enable_grad``/``set_grad_enabled`` or ``.backward()`` on a torch tensor.
No submission file may import the grader or pytest, or reach into ``sys.modules``/``builtins``.
"""

from __future__ import annotations

import ast
from pathlib import Path

TAMPERING_MODULES = ("autograder", "pytest", "_pytest")
NO_AUTOGRAD_ATTRS = {"nn": "torch.nn", "autograd": "torch.autograd", "func": "torch.func",
                     "requires_grad": "requires_grad", "requires_grad_": "requires_grad_",
                     "enable_grad": "torch.enable_grad", "set_grad_enabled": "torch.set_grad_enabled"}
FRAMEWORK_IMPORTS = ("torch", "math", "typing", "__future__", "collections", "dataclasses", "abc",
                     "functools", "itertools")


def _violations(tree: ast.AST, *, framework: bool):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top in TAMPERING_MODULES:
                    yield node.lineno, f"imports {name}: submissions may not touch the grader or pytest"
                elif framework and (name.startswith(("torch.nn", "torch.autograd", "torch.func"))
                                    or top not in FRAMEWORK_IMPORTS):
                    yield node.lineno, f"imports {name}: the framework may import only torch and math"
            if framework and isinstance(node, ast.ImportFrom) and node.module == "torch":
                for alias in node.names:
                    if alias.name in ("nn", "autograd", "func"):
                        yield node.lineno, f"imports torch.{alias.name}: autograd and torch.nn are off limits"
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "sys" and node.attr == "modules":
                yield node.lineno, "uses sys.modules: submissions may not patch other modules"
            on_torch = isinstance(node.value, ast.Name) and node.value.id == "torch"
            if framework and node.attr in NO_AUTOGRAD_ATTRS and (on_torch or node.attr not in ("nn", "autograd", "func")):
                yield node.lineno, f"uses {NO_AUTOGRAD_ATTRS[node.attr]}: the framework must not use autograd or torch.nn"
        elif isinstance(node, ast.Name) and node.id in ("__builtins__", "builtins"):
            yield node.lineno, f"uses {node.id}: submissions may not patch Python itself"
        elif framework and isinstance(node, ast.keyword) and node.arg == "requires_grad":
            yield node.lineno, "passes requires_grad=: the framework must compute gradients by hand"


def check_file(path: str | Path, *, framework: bool = False) -> list[str]:
    """The rule violations in ``path`` as ``"file.py, line N: ..."`` (empty when the file is clean).

    A file that does not parse is reported as such (the import test reports its syntax error in detail).
    """
    path = Path(path)
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as exc:
        return [f"{path.name}, line {exc.lineno}: syntax error ({exc.msg})"]
    except OSError as exc:
        return [f"{path.name}: cannot be read ({exc.strerror})"]
    return sorted({f"{path.name}, line {line}: {msg}" for line, msg in _violations(tree, framework=framework)})
