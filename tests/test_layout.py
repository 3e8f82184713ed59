"""The kit's architecture holds: every listed command exists (and every command is listed), and every task a
docstring names is the rubric's, with its points."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re

import pytest

import autograder.commands
from autograder import cli as autograder_cli
from autograder import rubric
from course import cli as course_cli
from course.submission import KIT_ROOT, TASK_IN_DOCSTRING


@pytest.mark.parametrize("table,package", [(autograder_cli.COMMANDS, "autograder.commands"),
                                           (course_cli.RUNNERS, None)])
def test_listed_commands_exist_and_run(table, package):
    for name, path in table.items():
        module = importlib.import_module(path)  # a missing module fails here, loudly
        assert callable(module.add_arguments) and callable(module.run), path
    if package:
        found = {m.name for m in pkgutil.iter_modules(autograder.commands.__path__)}
        listed = {path.rsplit(".", 1)[1] for path in table.values()}
        assert found == listed, f"commands not listed in autograder/cli.py: {found - listed}"


def test_every_command_has_help():
    for parser in (autograder_cli.build_parser(), course_cli.build_parser()):
        assert parser.format_help()


def _docstrings(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                yield getattr(node, "name", path.name), doc


def test_docstring_tasks_are_the_rubrics():
    named = set()
    for path in sorted((KIT_ROOT / "solutions").rglob("*.py")):
        for owner, doc in _docstrings(path):
            for match in TASK_IN_DOCSTRING.finditer(re.sub(r"\s+", " ", doc)):
                task_id, points, bonus = match.group(1), float(match.group(2)), bool(match.group(3))
                where = f"{path.relative_to(KIT_ROOT)}: {owner}"
                assert task_id in rubric.BY_ID, f"{where} names {task_id}, which is not in the rubric"
                task = rubric.BY_ID[task_id]
                assert (points, bonus) == (task.points, task.bonus), \
                    f"{where} gives {task_id} {points:g}{' bonus' if bonus else ''} points; the rubric {task.points:g}"
                named.add(task_id)
    public = {t.id for t in rubric.TASKS if t.visibility == "public"}
    assert public <= named, f"graded parts whose docstring names no task: {sorted(public - named)}"
