"""Load a project's implementation (the solutions, the student skeletons, or a student's folder) by path.

``load_module("solutions", "project1", "models")`` imports ``<root>/project1/models.py`` under a private,
unique module name, so two implementations can be loaded side by side and nothing needs installing.
A missing folder, a syntax error or an exception at import becomes a :class:`SubmissionError` naming the
file, the line and what to do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
import types
from pathlib import Path

from course.errors import CourseError

KIT_ROOT = Path(__file__).resolve().parent.parent
NAMED = ("solutions", "assignments")


class SubmissionError(CourseError):
    """The implementation could not be imported."""


def resolve_root(impl: str | Path) -> Path:
    """``"solutions"``/``"assignments"`` (beside the kit, or in the current folder) or any folder path."""
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
    """One paragraph for a student: which file, which line, what Python said."""
    if isinstance(exc, SyntaxError):
        where = f"{exc.filename or path}, line {exc.lineno}"
        text = (exc.text or "").rstrip()
        return (f"{path.name} has a syntax error at {where}: {exc.msg}"
                + (f"\n    {text}" if text else "") + "\nFix the line above; nothing in this file can run until then.")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).name == path.name]
    where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames else ""
    return (f"importing {path.name} raised {type(exc).__name__}: {exc}{where}\n"
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


SHAPE_WORDS = ("shape", "size", "mat1", "dimension", "dim ")


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


def innermost_function(exc: BaseException) -> tuple[str, str, int] | None:
    """``(qualified name, file name, line)`` of the innermost frame of ``exc``'s traceback, or None.

    For a NotImplementedError raised by a skeleton this names the part still to write.
    """
    tb, last = exc.__traceback__, None
    while tb is not None:
        last, tb = tb, tb.tb_next
    if last is None:
        return None
    code = last.tb_frame.f_code
    return getattr(code, "co_qualname", code.co_name), Path(code.co_filename).name, last.tb_lineno
