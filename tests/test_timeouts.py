"""One outer timeout per thing killed from outside, computed in autograder/sandbox/limits.py: a grading process
(`autograder grade`, Dask, Gradescope) and one grading test (the plugin's pytest-timeout backstop)."""

from __future__ import annotations

import ast

from autograder.sandbox.limits import Limits, process_timeout, task_timeout
from course.submission import KIT_ROOT

TIMES = {"submission_seconds", "startup_seconds", "import_seconds"}


def _names(node: ast.AST) -> set[str]:
    return {n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(node)
            if isinstance(n, (ast.Attribute, ast.Name))}


def test_no_module_has_its_own_timeout_formula():
    """A formula over the caps' times, or a constant scaled by --limit-scale, lives in limits.py only."""
    offenders = []
    for path in sorted((KIT_ROOT / "autograder").rglob("*.py")):
        if path.name == "limits.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.BinOp):
                continue
            names = _names(node)
            scaled_constant = isinstance(node.op, ast.Mult) and "limit_scale" in names and any(
                isinstance(side, ast.Constant) for side in (node.left, node.right))
            if len(names & TIMES) >= 2 or (names & TIMES and "limit_scale" in names) or scaled_constant:
                offenders.append(f"{path.relative_to(KIT_ROOT)}:{node.lineno}")
    assert not offenders, f"use process_timeout/task_timeout of autograder/sandbox/limits.py: {sorted(set(offenders))}"


def test_outer_timeouts_leave_room_for_the_judges_own_limits():
    """Killed from outside only after every limit the judge enforces itself could have fired, at any scale."""
    lim = Limits()
    for scale in (1.0, 2.5):
        inner = (lim.submission_seconds + 2 * (lim.startup_seconds + lim.import_seconds)) * scale
        assert process_timeout(lim, scale) > inner
        assert task_timeout(lim, 20.0, scale) > (20.0 + lim.startup_seconds + lim.import_seconds) * scale
    assert process_timeout(lim, 2.0) > process_timeout(lim, 1.0)
    assert process_timeout(lim.scaled(2.0), 1.0) > process_timeout(lim, 1.0)
