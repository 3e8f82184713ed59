"""Turning one student's files, as an LMS gave them, into one folder laid out like ``assignments/``.

A student's material is a list of sources: folders, archives and flat files. :func:`gather` copies them into a raw
folder (archives unpacked with :func:`autograder.batch.intake.unpack`, the kit's one safe extraction, and archives
found inside unpacked once more), finds the folder holding ``project1/`` or ``project2/`` at any depth up to
:data:`MAX_DEPTH`, and copies those project folders to the target. Files handed in one by one (``models.py``,
``framework.py``, ...) are placed by name into their project folder (:data:`PLACES`, from the projects' specs).
When nothing can be placed, the raw material is copied as it is, so that the intake reports what is wrong with it.

Links, devices and caches are never copied; the copied bytes and files are capped like an archive's.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from autograder.batch import intake
from course.handin import SKIPPED_DIRS
from course.project1 import spec as spec1
from course.project2 import spec as spec2
from course.submission import PROJECTS

MAX_DEPTH = 5  # folders between a student's material and the folder holding project1/ (GitHub repositories nest)

# a file handed in on its own → its project folder (the student files of assignments/)
PLACES = {**{f"{m}.py": "project1" for m in spec1.MODULES}, "project1.ipynb": "project1",
          **{f"{m}.py": "project2" for m in (*spec2.MODULES, "circle")}, "project2.ipynb": "project2"}


class StagingError(Exception):
    """What is wrong with a student's material (too big, too many files)."""


def _visible(path: Path) -> bool:
    return path.name not in intake.SKIPPED and not path.name.startswith(".") and path.name not in SKIPPED_DIRS


def copy_tree(source: Path, target: Path, budget: list[int]) -> None:
    """Copy regular files of ``source`` into ``target`` (no link, no hidden file, no cache), within ``budget``:
    ``[bytes, files]`` left, decreased as files are copied."""
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if not all(_visible(Path(p)) for p in rel.parts) or path.is_symlink() or not path.is_file():
            continue
        if any(parent.is_symlink() for parent in list(path.parents)[: len(rel.parts) - 1]):
            continue
        copy_file(path, target / rel, budget)


def copy_file(source: Path, target: Path, budget: list[int]) -> None:
    size = source.stat().st_size
    budget[0] -= size
    budget[1] -= 1
    if budget[0] < 0:
        raise StagingError(f"more than {intake.MAX_BYTES // 2**20} MB of files")
    if budget[1] < 0:
        raise StagingError(f"more than {intake.MAX_FILES} files")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(intake.ARCHIVES)


def holds_project(folder: Path) -> bool:
    return any((folder / p).is_dir() and not (folder / p).is_symlink() for p in PROJECTS)


def find_project_roots(folder: Path, max_depth: int = MAX_DEPTH) -> tuple[list[Path], str]:
    """The folders under ``folder`` (itself included, up to ``max_depth`` levels down, not inside one another) that
    hold project1/ or project2/. Several are one submission when each holds other projects (project1.zip and
    project2.zip uploaded apart); two holding the same project is a problem (which one is meant?)."""
    found, level = [], [folder]
    for _ in range(max_depth + 1):
        found += [f for f in level if holds_project(f)]
        level = [p for f in level if not holds_project(f) for p in sorted(f.iterdir())
                 if p.is_dir() and not p.is_symlink() and _visible(p)]
        if not level:
            break
    for project in PROJECTS:
        holders = [f for f in found if (f / project).is_dir()]
        if len(holders) > 1:
            names = ", ".join(sorted(f.relative_to(folder).as_posix() for f in holders))
            return [], (f"several folders hold {project}/ ({names}); hand in one folder laid out like "
                        "assignments/")
    return found, ""


def loose_files(folder: Path) -> tuple[dict[str, Path], str]:
    """Student files (:data:`PLACES`) lying anywhere under ``folder`` without their project folder (a zip of the
    files themselves); a name found twice is a problem (which one is meant?)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and plain_name(path.name) in PLACES \
                and all(_visible(Path(p)) for p in rel.parts) and len(rel.parts) <= MAX_DEPTH + 1:
            found.setdefault(plain_name(path.name), []).append(path)
    twice = sorted(name for name, paths in found.items() if len(paths) > 1)
    if twice:
        return {}, f"{', '.join(twice)} found in several places; hand in one folder laid out like assignments/"
    return {name: paths[0] for name, paths in found.items()}, ""


def unpack_nested(folder: Path, rounds: int = 2) -> list[str]:
    """Unpack every archive under ``folder`` beside itself (``x.zip`` → ``x.zip.d/``), ``rounds`` times at most
    (an archive inside an archive); returns the problems of archives that could not be unpacked."""
    problems = []
    for _ in range(rounds):
        archives = [p for p in sorted(folder.rglob("*")) if is_archive(p) and not p.is_symlink()
                    and not (p.parent / f"{p.name}.d").exists()]
        if not archives:
            break
        for archive in archives:
            target = archive.parent / f"{archive.name}.d"
            try:
                intake.unpack(archive, target)
            except intake.ArchiveError as exc:
                shutil.rmtree(target, ignore_errors=True)
                problems.append(f"{archive.name}: {exc}")
            archive.unlink()
    return problems


CANVAS_COPY = re.compile(r"^(?P<stem>[^.]+?)-\d+(?P<ext>\..*)?$")


def plain_name(name: str) -> str:
    """A file name without the ``-1`` Canvas adds (before the first dot) to a re-uploaded file of the same name."""
    if name in PLACES:
        return name
    match = CANVAS_COPY.match(name)
    return f"{match['stem']}{match['ext'] or ''}" if match and f"{match['stem']}{match['ext'] or ''}" in PLACES \
        else name


def gather(sources: list[tuple[Path, str]], target: Path, raw: Path) -> str:
    """One student's submission in ``target`` from ``sources`` (each a path and the name it was handed in under),
    using ``raw`` as scratch space; returns a problem to report, or "" (the intake still checks ``target``)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir(parents=True)
    budget = [intake.MAX_BYTES, intake.MAX_FILES]
    problems: list[str] = []
    flat: dict[str, Path] = {}
    try:
        for index, (source, name) in enumerate(sources):
            if source.is_dir():
                copy_tree(source, raw / f"{index:03d}", budget)
            elif is_archive(source):
                try:
                    intake.unpack(source, raw / f"{index:03d}")
                except intake.ArchiveError as exc:
                    problems.append(f"{name}: {exc}")
            elif source.is_file():
                placed = plain_name(name)
                if placed in PLACES:
                    flat[placed] = source  # sources come oldest first: a later upload of the same file wins
                else:
                    copy_file(source, raw / f"{index:03d}" / name, budget)
        problems += unpack_nested(raw)
        roots, problem = find_project_roots(raw)
        if not roots and not problem:
            loose, problem = loose_files(raw)  # a zip of the files themselves: placed by name like flat uploads
            flat = {**loose, **flat}
        target.mkdir(parents=True)
        for root in roots:
            for project in PROJECTS:
                if (root / project).is_dir():
                    copy_tree(root / project, target / project, budget)
        for name, source in sorted(flat.items()):
            if not (target / PLACES[name] / name).exists():
                copy_file(source, target / PLACES[name] / name, budget)
        if not roots and not flat:
            copy_tree(raw, target, budget)  # nothing recognisable: the intake says what is wrong with it
            problems.append(problem)
    except StagingError as exc:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        problems.append(str(exc))
    finally:
        shutil.rmtree(raw, ignore_errors=True)
    return "; ".join(p for p in problems if p)
