"""Small bugs of issue 20, each pinned by a test that failed before its fix: a message missing its ``f`` prefix,
the nbgrader course guard, the umask read, a launch's environment, colliding round seeds, bwrap's exit statuses
and the memory cap named when it stops an import."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from course.submission import KIT_ROOT

# ``{name}``, ``{name!r}``, ``{name:.2f}``, ``{a.b}``: a replacement field (not CSS's ``{font-size:1em}``, not ``{{``)
FIELD = re.compile(r"(?<!\{)\{[A-Za-z_][\w.]*(\[[\w'\"]+\])?(![rsa])?(:[<>^=+\- #0-9.,_]*[bcdeEfFgGnosxX%]?)?\}(?!\})")


def unformatted_fields(source: str) -> list[tuple[int, str]]:
    """(line, text) of each plain string literal holding a replacement field: neither part of an f-string nor a
    template (a literal, or a name bound to one, whose ``.format``/``.format_map`` the module calls)."""
    tree = ast.parse(source)
    templates = {node.func.value.id for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "format_map")
                 and isinstance(node.func.value, ast.Name)}
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            exempt.update(id(n) for n in ast.walk(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("format", "format_map"):
            exempt.add(id(node.func.value))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in templates for t in node.targets):
            exempt.add(id(node.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in exempt
            and FIELD.search(node.value)]


def test_the_scan_finds_a_missing_f_prefix():
    assert unformatted_fields('x = 1\nrequire(ok, expected="class {name}(Module)")\n') == [(2, "class {name}(Module)")]
    assert not unformatted_fields('name = "a"\nmsg = f"class {name}"\nT = "{a}"\nT.format(a=1)\n"{b:>4}".format(b=2)\n')
    assert not unformatted_fields('CSS = "h1{font-size:1.5em}"\nJINJA = "{{ name }}"\n')


def test_no_message_of_the_kit_shows_a_literal_replacement_field():
    found = [f"{path.relative_to(KIT_ROOT)}:{line}: {text[:60]!r}"
             for root in ("autograder", "course") for path in sorted((KIT_ROOT / root).rglob("*.py"))
             for line, text in unformatted_fields(path.read_text())]
    assert not found, "string literals with {fields} but no f prefix:\n" + "\n".join(found)


# ------------------------------------------------------------------------------------------------ the umask


def test_atomic_write_reads_the_umask_without_setting_it(tmp_path, monkeypatch):
    import os

    from course import files

    mask = os.umask(0o027)
    try:
        def no_umask(_mask):
            raise AssertionError("os.umask was called: threads creating files meanwhile would get mode 0o777")

        monkeypatch.setattr(files.os, "umask", no_umask)
        path = files.atomic_write(tmp_path / "a" / "report.txt", "x")
    finally:
        monkeypatch.undo()
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o640  # 0o644 less the umask in force
