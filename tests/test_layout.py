"""The kit's architecture holds: every listed command exists (and every command is listed) and has a help line;
no two modules of autograder/ and course/ import each other, even round a loop, and the library never imports the
command line; every task a docstring names is the rubric's, with its points."""

from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
import re
from pathlib import Path

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


def _subcommands(parser, prefix):
    """(name, one-line help, sub-parser) of every sub-command under ``parser``, recursively."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", helps.get(name), sub
                yield from _subcommands(sub, f"{prefix} {name}")


def test_every_command_has_help():
    """Every sub-command has a one-line help in its parent's listing (its module's docstring's first line)."""
    found = [*_subcommands(autograder_cli.build_parser(), "autograder"), *_subcommands(course_cli.build_parser(), "course")]
    assert {"autograder check", "autograder grade", "course run project1"} <= {name for name, _, _ in found}
    for name, line, sub in found:
        assert line and line.strip(), f"`{name}` has no help line: give its module (or add_parser) a docstring"
        assert sub.format_help().startswith("usage:"), name


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


# ------------------------------------------------------------------------------------------------ the import graph

PACKAGES = ("autograder", "course")
# the command-line layer: argument parsing only; the library below it never imports it
CLI = re.compile(r"^(autograder\.cli|autograder\.commands(\..*)?|autograder\.__main__|course\.cli|course\.__main__|"
                 r"course\.project\d+\.cli)$")


def _modules(root=KIT_ROOT) -> dict[str, Path]:
    """Dotted name -> file of every module of the kit's packages (the student bundle's templates are not modules)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "templates" in path.relative_to(root).parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The kit's modules ``name`` imports, at module level or inside functions alike."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from a import b`: the module a.b where it is one, else a itself
            candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:  # `import a.b.c` of a name inside a module: that module
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def import_graph(root=KIT_ROOT) -> dict[str, set[str]]:
    modules = _modules(root)
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_walk_sees_module_and_function_level_imports():
    graph = import_graph()
    assert "autograder.batch.digest" in graph["autograder.batch.runner"]  # module level
    assert "autograder.sandbox.judge" in graph["autograder.commands.check"]  # inside its run()
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "modules that import each other (directly or round a loop): " + "; ".join(
        " <-> ".join(c) for c in found)


def test_the_library_never_imports_the_command_line():
    wrong = sorted(f"{name} imports {target}" for name, targets in import_graph().items() if not CLI.match(name)
                   for target in targets if CLI.match(target))
    assert not wrong, "the library imports the command-line layer (move the shared code into a library module): " \
        + "; ".join(wrong)
