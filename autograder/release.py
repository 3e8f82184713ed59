"""The student release, built from the reference solutions (solutions/ -> assignments/, and the student bundle);
``autograder release`` (:mod:`autograder.commands.release`) runs it.

Every ``.py`` file and every notebook of the source folder goes through nbgrader's own preprocessors:
``ClearSolutions`` replaces each solution region with nbgrader's code stub (``# YOUR CODE HERE`` then
``raise NotImplementedError()``, indented like the region's opening marker) and ``ClearHiddenTests`` deletes
each hidden-test region. nbgrader by itself copies ``.py`` files unchanged (its issue #1237), so a ``.py``
file is wrapped as the single code cell of an in-memory notebook, marked as a solution/grade cell, run
through the same preprocessors, and its source taken back: one set of marker semantics for both. Notebooks
also lose their outputs (``ClearOutput``), their grade cells are locked (``LockCells``) and their nbgrader
checksums are computed (``ComputeChecksums``). Other files are copied byte for byte; caches, checkpoints and
``results/`` folders are skipped.

Markers are validated before nbgrader sees them: an unclosed, unopened or nested region stops the release
with the file and line. The release is deterministic (same sources -> byte-identical files) and atomic: it is
built in a temporary folder beside the destination, which then replaces the destination in one rename, so a
failure never leaves a half-written folder.

The source must hold ``project1/`` and/or ``project2/`` (the folder that contains them, not one project's
folder). A release never silently shrinks its destination: when the destination holds a project the source
lacks, or holds files but no project at all (it is not a release), nothing is written or deleted unless
``--force`` says so.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from course import versions
from course.errors import CourseError
from course.handin import tree_files
from course.submission import KIT_ROOT, PROJECTS

TEMPLATES = Path(__file__).resolve().parent / "templates"
# nbgrader's own files, should a course have been made among the solutions: never released
NBGRADER_FILES = frozenset({"gradebook.db", "nbgrader_config.py"})
# the student bundle: these kit paths, plus assignments/ (a fresh release) and the templates
BUNDLE_TREES = ("course", "autograder")
BUNDLE_FILES = ("pyproject.toml", "LICENSE")
# autograder/templates/<name> -> the bundle's root (gitignore is stored without its dot, so that git does not read
# it as the kit's own ignore file for that folder)
BUNDLE_TEMPLATES = {"README.md": "README.md", "tox.ini": "tox.ini", "toxfile.py": "toxfile.py",
                    "gitignore": ".gitignore"}
BUNDLE_DOCS = "docs/handout-project*.md"  # the handouts, copied to the bundle's docs/


class ReleaseError(CourseError):
    """The sources cannot be released (bad markers, bad notebook metadata, a dangerous destination)."""


# --------------------------------------------------------------------------------------------- markers

@dataclass(frozen=True)
class Region:
    kind: str            # "solution" or "hidden tests"
    begin: int           # 1-based line of the opening marker (within the file or the cell)
    end: int             # 1-based line of the closing marker
    body: tuple          # the lines strictly between the markers


def delimiters() -> dict[str, tuple[str, str]]:
    """kind -> (begin, end) delimiters, read from nbgrader's own (configurable) defaults."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    solutions, hidden = ClearSolutions(), ClearHiddenTests()
    return {
        "solution": (solutions.begin_solution_delimeter, solutions.end_solution_delimeter),
        "hidden tests": (hidden.begin_test_delimeter, hidden.end_test_delimeter),
    }


def find_regions(text: str, where: str) -> list[Region]:
    """The marked regions of ``text``, with nbgrader's semantics (a line *containing* a delimiter is a marker).

    Raises :class:`ReleaseError` naming ``where`` and the line for an unclosed, unopened or nested region.
    """
    delims = delimiters()
    regions: list[Region] = []
    open_kind: str | None = None
    open_line, body = 0, list[str]()
    for number, line in enumerate(text.split("\n"), start=1):
        for kind, (begin, end) in delims.items():
            if begin in line:
                if open_kind is not None:
                    raise ReleaseError(
                        f"{where}, line {number}: a {kind} region opens inside the {open_kind} region opened at "
                        f"line {open_line}; regions cannot be nested; close the first one before opening another")
                open_kind, open_line, body = kind, number, []
                break
            if end in line:
                if open_kind != kind:
                    opened = f" (the {open_kind} region opened at line {open_line} is still open)" if open_kind else ""
                    raise ReleaseError(f"{where}, line {number}: this closes a {kind} region that was never "
                                       f"opened{opened}")
                regions.append(Region(kind, open_line, number, tuple(body)))
                open_kind = None
                break
        else:
            if open_kind is not None:
                body.append(line)
    if open_kind is not None:
        raise ReleaseError(f"{where}, line {open_line}: the {open_kind} region opened here is never closed "
                           f"(expected a line containing {delims[open_kind][1]!r})")
    return regions


# --------------------------------------------------------------------------------------------- stripping

def _kernelspec() -> dict:
    return {"display_name": "Python 3", "language": "python", "name": "python3"}


def _run(preprocessors, nb, where: str):
    resources: dict = {}
    for preprocessor in preprocessors:
        try:
            nb, resources = preprocessor.preprocess(nb, resources)
        except CourseError:
            raise
        except Exception as exc:  # nbgrader raises RuntimeError/ValidationError without a location
            raise ReleaseError(f"{where}: nbgrader's {type(preprocessor).__name__} failed: {exc}") from exc
    return nb


def strip_python(text: str, where: str = "<source>") -> str:
    """``text`` with solution regions stubbed and hidden-test regions deleted, by nbgrader's preprocessors."""
    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    kinds = {region.kind for region in find_regions(text, where)}
    if not kinds:
        return text
    # one code cell holding the whole file; nbgrader only touches solution cells (stub) and grade cells
    # (hidden tests), and replaces a solution cell *without* regions by the bare stub, hence the flags
    cell = nbformat.v4.new_code_cell(text, id="source")
    cell.metadata["nbgrader"] = {
        "schema_version": 3, "grade_id": "source", "locked": False, "task": False,
        "solution": "solution" in kinds, "grade": "hidden tests" in kinds, "points": 0,
    }
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": _kernelspec()})
    nb = _run([ClearSolutions(), ClearHiddenTests()], nb, where)
    return nb.cells[0].source


def strip_notebook(text: str, where: str = "<notebook>") -> str:
    """The student version of an nbgrader source notebook, as the JSON text to write."""
    import nbformat
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )
    from nbgrader.utils import is_grade, is_solution

    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - malformed JSON or schema
        raise ReleaseError(f"{where}: not a readable notebook: {exc}") from exc
    nb.setdefault("metadata", {}).setdefault("kernelspec", _kernelspec())
    nb.nbformat_minor = max(nb.get("nbformat_minor", 5), 5)
    for index, cell in enumerate(nb.cells, start=1):
        if not cell.get("id"):  # nbformat would invent a random id; keep the release deterministic
            cell["id"] = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell-{index}"
        label = f"{where}, cell {index} (id {cell['id']})"
        kinds = {region.kind for region in find_regions(cell.source, label)}
        if "solution" in kinds and not is_solution(cell):
            raise ReleaseError(f"{label}: a solution region in a cell not marked as a solution cell; set "
                               "metadata nbgrader.solution = true")
        if "hidden tests" in kinds and not is_grade(cell):
            raise ReleaseError(f"{label}: a hidden-test region in a cell not marked as a grade cell; set "
                               "metadata nbgrader.grade = true and its points")
    try:
        MetadataValidator().validate_nb(nb)
    except ValidationError as exc:
        raise ReleaseError(f"{where}: invalid nbgrader metadata: {exc}") from exc
    nb = _run([LockCells(), ClearSolutions(), ClearOutput(), ClearHiddenTests(), ComputeChecksums(),
               CheckCellMetadata()], nb, where)
    out = nbformat.writes(nb)
    return out if out.endswith("\n") else out + "\n"


# --------------------------------------------------------------------------------------------- trees

def source_files(root: Path) -> list[PurePosixPath]:
    """Files of ``root`` to release, relative and sorted: :func:`course.handin.tree_files` (no caches, results,
    links or editor droppings)."""
    return [rel for rel in tree_files(root) if rel.name not in NBGRADER_FILES]


def _read_text(path: Path, rel: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReleaseError(f"{rel}: not UTF-8 text ({exc}); save it as UTF-8") from exc


def transform(path: Path, rel: Path) -> bytes:
    """The released bytes of one file."""
    if path.suffix == ".py":
        return strip_python(_read_text(path, rel), str(rel)).encode("utf-8")
    if path.suffix == ".ipynb":
        return strip_notebook(_read_text(path, rel), str(rel)).encode("utf-8")
    return path.read_bytes()


def write_tree(source: Path, target: Path, label: str | None = None) -> int:
    """Release every file of ``source`` into ``target`` (created); returns the number of files."""
    files = source_files(source)
    for rel in files:
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(transform(source / rel, Path(label or source.name) / rel))
        if os.access(source / rel, os.X_OK):
            out.chmod(0o755)
    return len(files)


def _check_destination(dest: Path, source: Path) -> None:
    dest, source = dest.resolve(), source.resolve()
    if dest == source or dest in source.parents or source in dest.parents:
        raise ReleaseError(f"destination {dest} overlaps the sources {source}; choose a separate folder")
    if dest == KIT_ROOT or dest in KIT_ROOT.parents or dest == Path.home() or dest == Path(dest.anchor):
        raise ReleaseError(f"refusing to replace {dest}: it holds the kit (or is your home folder)")
    if dest.exists() and not dest.is_dir():
        raise ReleaseError(f"destination {dest} exists and is not a folder")
    if (dest / ".git").exists():
        raise ReleaseError(f"refusing to replace {dest}: it is a git repository")


def projects(root: Path) -> list[str]:
    """The project folders (``project1``, ``project2``) that ``root`` holds."""
    return [name for name in PROJECTS if (Path(root) / name).is_dir()]


def _check_source(source: Path) -> None:
    """Refuse a source that is not a folder of projects (an empty folder, or one project's own folder)."""
    if not source.is_dir():
        raise ReleaseError(f"source folder {source} not found; give --source, the folder of annotated solutions")
    if not projects(source):
        raise ReleaseError(f"source folder {source} holds neither project1/ nor project2/; give --source the folder "
                           "that contains them (like solutions/, not solutions/project1)")


def _check_not_shrinking(source: Path, dest: Path, force: bool, inside: str = "") -> None:
    """Refuse to replace ``dest`` (whose release is ``dest/inside``) by a release of ``source`` that would delete a
    project, or to replace a non-empty folder that holds no release at all, unless ``force``."""
    if force or not dest.is_dir():
        return
    released = dest / inside
    lost = [name for name in projects(released) if name not in projects(source)]
    if lost:
        raise ReleaseError(f"{released} holds {' and '.join(n + '/' for n in lost)}, which {source} lacks: the "
                           "release would delete it. Release from the folder holding every project, or give --force "
                           "to replace it anyway")
    if not projects(released) and any(dest.iterdir()):
        raise ReleaseError(f"{dest} is not empty and holds no release (no project1/ or project2/"
                           f"{' in ' + inside + '/' if inside else ''}): replacing it would delete its files. Choose "
                           "another folder, or give --force")


def build_atomically(dest: Path, build) -> int:
    """Call ``build(tmp)`` on a fresh folder beside ``dest``, then swap it in; on error ``dest`` is untouched."""
    dest = dest.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.build-", dir=dest.parent))
    old = None
    try:
        count = build(tmp)
        tmp.chmod(0o755)
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            old.rmdir()
            os.replace(dest, old)
        try:
            os.replace(tmp, dest)
        except BaseException:
            if old is not None:
                os.replace(old, dest)
                old = None
            raise
        return count
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def release(source: Path, dest: Path, *, force: bool = False) -> int:
    """Write the student version of ``source`` into ``dest`` (replaced atomically); returns the file count.

    Refuses a source without projects, and (unless ``force``) a destination the release would shrink."""
    source = Path(source)
    _check_source(source)
    _check_destination(Path(dest), source)
    _check_not_shrinking(source, Path(dest), force)
    return build_atomically(Path(dest), lambda tmp: write_tree(source, tmp, source.name))


def build_bundle(dest: Path, source: Path, kit_root: Path = KIT_ROOT, *, force: bool = False) -> int:
    """Write what a student receives into ``dest`` (replaced atomically): course/, autograder/ (every .py
    through the same stripping, so hidden tests never ship), a fresh release of ``source`` as assignments/,
    pyproject.toml, the templates (the student README.md, tox.ini, toxfile.py, .gitignore) and the handouts in
    docs/. Never solutions/ or the kit's tests/.

    Refuses a source without projects and, unless ``force``, a ``dest`` whose assignments/ holds a project
    ``source`` lacks, or a non-empty ``dest`` that is not a bundle."""
    kit_root, source = Path(kit_root), Path(source)
    _check_source(source)
    _check_destination(Path(dest), source)
    _check_not_shrinking(source, Path(dest), force, inside="assignments")
    for tree in BUNDLE_TREES:
        _check_destination(Path(dest), kit_root / tree)

    def build(tmp: Path) -> int:
        count = write_tree(source, tmp / "assignments", "assignments")
        for tree in BUNDLE_TREES:
            if (kit_root / tree).is_dir():
                count += write_tree(kit_root / tree, tmp / tree, tree)
        for name in BUNDLE_FILES:
            if (kit_root / name).is_file():
                shutil.copyfile(kit_root / name, tmp / name)
                count += 1
        for name, target in BUNDLE_TEMPLATES.items():
            template = TEMPLATES / name
            if not template.is_file():
                raise ReleaseError(f"student template {template} is missing")
            (tmp / target).write_bytes(versions.render(template.read_text()).encode())  # the pins filled in
            count += 1
        return count + _copy_handouts(kit_root, tmp)

    return build_atomically(Path(dest), build)


def _copy_handouts(kit_root: Path, bundle: Path) -> int:
    """Copy the handouts (``BUNDLE_DOCS``) into ``bundle/docs/``; returns how many. None found is an error: the
    bundle's README points to them."""
    handouts = sorted(kit_root.glob(BUNDLE_DOCS))
    if not handouts:
        raise ReleaseError(f"no handout matches {kit_root / BUNDLE_DOCS}; the student README points to them")
    (bundle / "docs").mkdir()
    for path in handouts:
        shutil.copyfile(path, bundle / "docs" / path.name)
    return len(handouts)


def diff_release(source: Path, dest: Path) -> list[str]:
    """How ``dest`` differs from a fresh release of ``source`` (:func:`compare_trees`); writes nothing there."""
    _check_source(Path(source))
    with tempfile.TemporaryDirectory() as tmp:
        write_tree(Path(source), Path(tmp) / "release", Path(source).name)
        return compare_trees(Path(tmp) / "release", Path(dest))


def check_bundle(source: Path, bundle: Path, *, force: bool = False) -> None:
    """Refuse, before anything is written, a bundle folder the release of ``source`` would shrink (unless
    ``force``): see :func:`build_bundle`."""
    _check_source(Path(source))
    _check_not_shrinking(Path(source), Path(bundle), force, inside="assignments")


def compare_trees(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ between two trees (missing, extra or different bytes), sorted; caches and
    results folders (what :func:`source_files` skips) are ignored on both sides."""
    def files(root):
        return {rel.as_posix(): root / rel for rel in source_files(root)} if root.is_dir() else {}
    a, b = files(Path(expected)), files(Path(actual))
    diff = [f"missing: {k}" for k in sorted(a.keys() - b.keys())]
    diff += [f"extra:   {k}" for k in sorted(b.keys() - a.keys())]
    diff += [f"differs: {k}" for k in sorted(a.keys() & b.keys()) if a[k].read_bytes() != b[k].read_bytes()]
    return diff
