"""A project's implementation — the solutions, the student skeletons, or a student's folder — loaded by path, and
the student's failures turned into messages.

``load_module("solutions", "project1", "models")`` imports ``<root>/project1/models.py`` under a private,
unique module name, so two implementations can be loaded side by side and nothing needs installing; files of one
project load each other with :func:`load_sibling`. A missing folder, a syntax error or an exception at import
becomes a :class:`course.errors.SubmissionError` naming the file, the line and what to do.

Code that calls student functions wraps the calls in :func:`student_code`: a stub that still raises
``NotImplementedError`` becomes "X is not implemented yet", with the task id its docstring names, and any other
exception a message that shows the student's own lines (never torch's) and a likely cause.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import re
import sys
import traceback
import types
from pathlib import Path

from course.errors import CourseError, SubmissionError

KIT_ROOT = Path(__file__).resolve().parent.parent
NAMED = ("solutions", "assignments")
PROJECTS = ("project1", "project2")


def resolve_root(impl: str | Path) -> Path:
    """``"solutions"``/``"assignments"`` (in the current folder, or beside the kit) or any folder path."""
    candidates = [Path(impl).expanduser()]
    if str(impl) in NAMED:
        candidates.append(KIT_ROOT / str(impl))
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    raise SubmissionError(
        f"implementation folder {impl!s} not found; give 'solutions', 'assignments' or a folder that "
        "contains project1/ and project2/ laid out like assignments/"
    )


def _package(root: Path, project: str) -> str:
    folder = root / project
    if not folder.is_dir():
        raise SubmissionError(f"{root} has no {project}/ folder; it should be laid out like assignments/")
    name = f"_impl_{hashlib.sha1(str(folder).encode()).hexdigest()[:10]}_{project}"
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        package.__file__ = str(folder / "__init__.py")
        sys.modules[name] = package
    return name


def describe_import_error(path: Path, exc: BaseException) -> str:
    """One paragraph for a student: which file, which line, what Python said (a caret under a syntax error)."""
    if isinstance(exc, SyntaxError):
        where = f"{Path(exc.filename or path).name}, line {exc.lineno}"
        text = (exc.text or "").rstrip("\n")
        lines = [f"{path.name} does not import: syntax error at {where}: {exc.msg}"]
        if text.strip():
            indent = len(text) - len(text.lstrip())
            lines.append(f"    {text.strip()}")
            if exc.offset and exc.offset - 1 >= indent:
                lines.append("    " + " " * (exc.offset - 1 - indent) + "^")
        lines.append("Fix that line; nothing in this file can run until then.")
        return "\n".join(lines)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).name == path.name]
    where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames else ""
    return (f"{path.name} does not import: it raised {type(exc).__name__}: {exc}{where}\n"
            "Code at the top level of the file runs on import; move experiments under "
            "`if __name__ == '__main__':`.")


def load_module(impl: str | Path, project: str, module: str) -> types.ModuleType:
    """Import ``<impl>/<project>/<module>.py``; cached, so a second call returns the same module."""
    root = resolve_root(impl)
    package = _package(root, project)
    name = f"{package}.{module}"
    if name in sys.modules:
        return sys.modules[name]
    path = root / project / f"{module}.py"
    if not path.is_file():
        raise SubmissionError(f"{path} is missing; the {project} submission must contain {module}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # a ``.py`` path always has a loader: a guard for the type checker
        raise SubmissionError(f"{path} cannot be imported as a Python module; it must be a plain {module}.py file")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException as exc:  # noqa: BLE001 - any failure at import is the submission's
        del sys.modules[name]
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise SubmissionError(describe_import_error(path, exc)) from exc
    return mod


def load_sibling(file: str | Path, module: str) -> types.ModuleType:
    """The module ``<module>.py`` beside ``file`` (a project file's ``__file__``), as :func:`load_module` loads it.

    ``circle.py`` uses it to reach ``framework.py``: wherever the folder lies, both files load once, under the
    same names the ``course`` command and the grader use.
    """
    folder = Path(file).resolve().parent
    return load_module(folder.parent, folder.name, module)


# ------------------------------------------------------------------------------------------------ student failures

SHAPE_WORDS = ("shape", "size", "mat1", "dimension", "dim ")
# "Task `p2.linear.backward` (8 points)", "`p2.bonus.adam` (2 bonus points)": a task id with its points
TASK_IN_DOCSTRING = re.compile(r"`(p[12](?:\.[a-z0-9_]+)+)` \((\d+(?:\.\d+)?) (bonus )?points?")


def student_frames(exc: BaseException, folder: Path) -> list[traceback.FrameSummary]:
    """The frames of ``exc``'s traceback that lie in files under ``folder`` (the student's), innermost last."""
    folder = Path(folder).resolve()
    return [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve().is_relative_to(folder)]


def student_failure(exc: BaseException, what: str, folder: Path) -> CourseError:
    """A CourseError for an exception raised by student code: what failed, the student's lines, a likely cause.

    ``folder`` is the student's project folder: only frames from files under it are shown (innermost last),
    so the message points at the student's own code, not at torch's internals.
    """
    frames = student_frames(exc, folder)
    lines = [f"{what} raised {type(exc).__name__}: {exc}"]
    for f in frames[-5:]:
        lines.append(f"  at {Path(f.filename).name}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}")
    if any(word in str(exc).lower() for word in SHAPE_WORDS):
        lines.append("likely cause: a tensor of the wrong shape reaches that line; print the shapes just before "
                     "it and compare them with the shapes the docstring states")
    else:
        lines.append("fix the line above (the last one is where it failed), then run the command again")
    return CourseError("\n".join(lines))


def _innermost_frame(exc: BaseException):
    tb, last = exc.__traceback__, None
    while tb is not None:
        last, tb = tb, tb.tb_next
    return last


def innermost_function(exc: BaseException) -> tuple[str, str, int] | None:
    """``(qualified name, file name, line)`` of the innermost frame of ``exc``'s traceback, or None.

    For a NotImplementedError raised by a skeleton this names the part still to write.
    """
    last = _innermost_frame(exc)
    if last is None:
        return None
    code = last.tb_frame.f_code
    return getattr(code, "co_qualname", code.co_name), Path(code.co_filename).name, last.tb_lineno


def task_of(exc: BaseException) -> str | None:
    """The task id (``p2.linear.backward``) named by the docstring of the function that raised ``exc``.

    The method's own docstring first, then its class's; among several ids the one ending in the method's name.
    """
    last = _innermost_frame(exc)
    if last is None:
        return None
    code = last.tb_frame.f_code
    parts = getattr(code, "co_qualname", code.co_name).split(".")
    owners, obj = [], last.tb_frame.f_globals.get(parts[0])
    for part in parts[1:]:
        owners.append(obj)
        obj = getattr(obj, part, None)
    for holder in [obj] + owners[::-1]:
        ids = [m.group(1) for m in TASK_IN_DOCSTRING.finditer(getattr(holder, "__doc__", None) or "")]
        if ids:
            return next((i for i in ids if i.rsplit(".", 1)[-1] == parts[-1]), ids[0])
    return None


def not_implemented(exc: NotImplementedError, what: str) -> CourseError:
    """"<function> in <file> (line N) is not implemented yet", with the task to check once it is written."""
    frame = innermost_function(exc)
    name = f"{frame[0]} in {frame[1]} (line {frame[2]})" if frame else "a part of your code"
    task = task_of(exc)
    advice = (f"It is task {task}: write its body, then check it with `autograder check --task {task}`."
              if task else "Write its body, then run the command again.")
    return CourseError(f"{name} is not implemented yet (needed by {what}). {advice}")


@contextlib.contextmanager
def student_code(what: str, folder: str | Path):
    """Run student code: a stub becomes :func:`not_implemented`, any other exception :func:`student_failure`.

    ``what`` names the call for the message ("training the circle network"); ``folder`` is the student's
    project folder, whose frames the message shows. Errors of the kit itself (``CourseError``) pass unchanged.
    """
    try:
        yield
    except CourseError:
        raise
    except NotImplementedError as exc:
        raise not_implemented(exc, what) from exc
    except Exception as exc:  # noqa: BLE001 - student code: a message, not a traceback
        raise student_failure(exc, what, Path(folder)) from exc
