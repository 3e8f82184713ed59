r"""A class's submissions as they arrive: one entry per student in a folder, each a folder or an archive.

* a folder laid out like ``assignments/`` (``alice/project1/…``, ``alice/project2/…``), also when nested one level
  (``alice/dl-miniprojects/project1/…``, as an unzipped repository looks);
* a ``.zip``, ``.tar.gz``, ``.tgz`` or ``.tar`` per student (what an LMS download gives), unpacked safely into a
  staging folder: no absolute path, no ``..``, no link or device is extracted, and the unpacked size and file count
  are capped — while streaming: a tar is read member by member (refused at the first member past a cap, from its
  header), a zip's entry count is read from its end record before its directory is parsed;
* a folder entry is capped the same way (the graded files' size and count) and may hold no link: a link is never
  followed (to grade, hash, copy or compare), the entry is unusable and says which link;
* anything else — an empty folder, a folder without ``project1/`` or ``project2/``, a corrupt archive, a stray file —
  becomes an entry with a clear ``problem`` and no ``root``; it is listed and reported, never graded, never a crash.

The student id is the entry's name without its archive extension (:func:`student_id`: NFKC, characters outside
``[\w.@+-]`` as ``_``, leading and trailing ``.``/``_`` dropped). Entries whose ids fold alike
(:func:`autograder.escape.id_fold`: case, width, a trailing space, ``alice.zip`` beside ``alice/``) are all kept:
:func:`assign_ids` gives the first of them its id and the others ``<id>~<6 hex of the SHA-256 of the entry's
name>``, so every key is distinct after case folding (its files never collide on a case-insensitive file system)
and stays the same from run to run; each of them lists the others in ``same_id`` (``Flag.SAME_ID``).

:func:`digest` hashes exactly the files that are graded (:func:`course.handin.submission_files`), so a re-zipped
but unchanged submission is recognised as unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.escape import id_fold, normalise_id, short_hash
from course.errors import CourseError
from course.handin import SKIPPED_DIRS, hash_files, submission_files
from course.submission import PROJECTS

ARCHIVES = (".tar.gz", ".tgz", ".zip", ".tar")
SKIPPED = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}
MAX_BYTES = 50 * 2**20   # unpacked size of one archive
MAX_FILES = 5000         # files in one archive
_DATA_FILTER = getattr(tarfile, "data_filter", None)  # Python 3.10.12+, 3.11.4+ (older: our own checks alone)


@dataclass
class Entry:
    """One student's entry: ``root`` holds project1/ and/or project2/ (None when ``problem`` says why not)."""

    student: str
    source: Path
    root: Path | None = None
    problem: str = ""
    same_id: list[str] = field(default_factory=list)  # the keys of the other entries whose ids fold alike

    @property
    def usable(self) -> bool:
        return self.root is not None


class ArchiveError(Exception):
    pass


def student_id(name: str) -> str:
    """The id of an entry named ``name``: Unicode NFKC, the archive extension dropped, characters outside
    ``[\\w.@+-]`` as ``_``."""
    name = normalise_id(name)
    for ext in ARCHIVES:
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    return re.sub(r"[^\w.@+-]", "_", name).strip("._") or "_"


SAME_ID = "~"  # between an id and the hash that tells apart entries whose ids fold alike (never in an id itself)


def _rank(path: Path) -> tuple[bool, bool, bool, str]:
    """Which of the entries whose ids fold alike keeps the plain id: one named exactly as its id, then one whose id
    is already folded (``alice`` before ``Alice``), then a folder before an archive, then the name in code-point
    order."""
    sid = student_id(path.name)
    return path.name != sid, sid != id_fold(sid), not (path.is_dir() and not path.is_symlink()), path.name


def assign_ids(paths) -> dict[str, tuple[str, tuple[str, ...]]]:
    """An entry's name → its key and the keys of the other entries whose ids fold alike (:func:`id_fold`).

    The first of such a group (:func:`_rank`) keeps its id; each other gets ``<its id>~<hex>``, the first six hex
    digits of the SHA-256 of its name (more when those are taken). No two keys fold alike, and a key depends only
    on the names in the folder: the same class gives the same keys at every run."""
    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault(id_fold(student_id(path.name)), []).append(path)
    taken = set(groups)
    keys: dict[str, str] = {}
    for group in groups.values():
        first, *others = sorted(group, key=_rank)
        keys[first.name] = student_id(first.name)
        for path in others:
            length = 6
            while id_fold(key := f"{student_id(path.name)}{SAME_ID}{short_hash(path.name, length)}") in taken \
                    and length < 64:
                length += 2
            taken.add(id_fold(key))
            keys[path.name] = key
    return {path.name: (keys[path.name], tuple(sorted(keys[p.name] for p in group if p is not path)))
            for group in groups.values() for path in group}


def find_root(folder: Path) -> tuple[Path | None, str]:
    """The folder holding project1/ or project2/: ``folder`` itself, or its only sub-folder that does."""
    if any((folder / p).is_dir() for p in PROJECTS):
        return folder, ""
    visible = [p for p in folder.iterdir() if p.name not in SKIPPED and not p.name.startswith(".")]
    if not visible:
        return None, "empty: nothing was handed in"
    nested = [p for p in visible if p.is_dir() and not p.is_symlink() and any((p / q).is_dir() for q in PROJECTS)]
    if len(nested) == 1:
        return nested[0], ""
    if len(nested) > 1:
        return None, (f"several folders hold a project ({', '.join(sorted(p.name for p in nested))}); "
                      "hand in one folder laid out like assignments/")
    return None, ("no project1/ or project2/ folder, neither at the top nor one level down; hand in the folder "
                  "laid out like assignments/ (project1/models.py, project2/framework.py, ...)")


def _safe_name(name: str) -> Path | None:
    """The relative path an archive member may take, or None for an absolute path or one that climbs out."""
    path = Path(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


def _check_total(total: int, count: int) -> None:
    if total > MAX_BYTES:
        raise ArchiveError(f"it unpacks to more than {MAX_BYTES // 2**20} MB")
    if count > MAX_FILES:
        raise ArchiveError(f"it holds more than {MAX_FILES} files")


def _copy_capped(source, target: Path, budget: list[int]) -> None:
    """Copy a member's stream, counting the bytes really written against the archive's budget."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        while chunk := source.read(1 << 16):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise ArchiveError(f"it unpacks to more than {MAX_BYTES // 2**20} MB")
            out.write(chunk)


def _zip_entries(archive: Path) -> int | None:
    """The entry count a zip's end record announces (read before its central directory is parsed), if readable."""
    try:
        with open(archive, "rb") as f:
            end = zipfile._EndRecData(f)  # type: ignore[attr-defined]  # the stdlib's own end-record reader
        return int(end[zipfile._ECD_ENTRIES_TOTAL]) if end else None  # type: ignore[attr-defined]
    except (AttributeError, OSError, IndexError, TypeError, ValueError):
        return None


def _unzip(archive: Path, target: Path) -> None:
    count = _zip_entries(archive)
    if count is not None:
        _check_total(0, count)
    with zipfile.ZipFile(archive) as z:
        members = z.infolist()
        _check_total(sum(m.file_size for m in members), len(members))
        budget = [MAX_BYTES]
        for member in members:
            path = _safe_name(member.filename)
            mode = member.external_attr >> 16
            if path is None or member.is_dir() or stat.S_ISLNK(mode):
                continue  # nothing outside the target, and no links
            with z.open(member) as source:
                _copy_capped(source, target / path, budget)


def _untar(archive: Path, target: Path) -> None:
    """Read the tar as a stream, twice: first its headers alone, each counted and its announced size added before
    the next is read (a huge archive is refused at the first member past a cap, nothing written, the rest unread);
    then, vetted, each member through Python's ``data`` filter and only regular files written, their bytes capped."""
    with tarfile.open(archive, "r|*") as t:
        total = 0
        for count, member in enumerate(t, 1):
            total += member.size if member.isfile() else 0
            _check_total(total, count)
            # a stream needs no index of past members: memory stays flat however many there are
            t.members = []  # type: ignore[attr-defined]  # typeshed lacks TarFile.members
    with tarfile.open(archive, "r|*") as t:
        budget = [MAX_BYTES]
        for member in t:
            t.members = []  # type: ignore[attr-defined]  # typeshed lacks TarFile.members
            path = _safe_name(member.name)  # before the filter, which would make an absolute name relative
            try:
                member = _DATA_FILTER(member, str(target)) if _DATA_FILTER else member
            except tarfile.TarError:  # tarfile.FilterError
                continue  # climbing out, a link out, a device or a fifo: never extracted
            if path is None or not member.isfile():
                continue  # only regular files: no link, device or fifo
            source = t.extractfile(member)
            if source is not None:
                with source:
                    _copy_capped(source, target / path, budget)


def unpack(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into ``target`` safely; an ArchiveError says what is wrong with it."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        if archive.name.lower().endswith(".zip"):
            _unzip(archive, target)
        else:
            _untar(archive, target)
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise ArchiveError(f"corrupt or unreadable archive ({type(exc).__name__}: {exc})") from exc


def _walk(root: Path):
    """``(relative path, lstat)`` of everything under the project folders of ``root``, links included and never
    followed; caches and results left out."""
    for project in PROJECTS:
        base = root / project
        if base.is_symlink():
            yield project, base.lstat()
            continue
        if not base.is_dir():
            continue
        for folder, dirs, files in os.walk(base, followlinks=False):
            rel = Path(folder).relative_to(root)
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(dirs + files):
                path = Path(folder) / name
                if name in dirs and not path.is_symlink():
                    continue
                yield (rel / name).as_posix(), path.lstat()


def vet_folder(root: Path) -> str:
    """Why a folder entry cannot be graded ("" when it can): a link in it, or more files or bytes than an archive
    may unpack to. Stops at the first problem: a million files are not all visited."""
    if root.is_symlink():
        return f"{root.name} is a link; hand in the files themselves, not a link to them"
    total = count = 0
    for rel, st in _walk(root):
        if stat.S_ISLNK(st.st_mode):
            return f"{rel} is a link; hand in the files themselves, not a link to them"
        if not stat.S_ISREG(st.st_mode):
            continue
        total, count = total + st.st_size, count + 1
        if total > MAX_BYTES:
            return f"its project folders hold more than {MAX_BYTES // 2**20} MB; hand in the code, not data or results"
        if count > MAX_FILES:
            return f"its project folders hold more than {MAX_FILES} files; hand in the code, not data or results"
    return ""


def _entry(source: Path, staging: Path, student: str) -> Entry:
    if source.is_symlink():
        return Entry(student, source, None, f"{source.name} is a link; hand in the files themselves, not a link")
    if source.is_dir():
        root, problem = find_root(source)
        if root is None:
            return Entry(student, source, None, problem)
        problem = vet_folder(root)
        return Entry(student, source, None if problem else root, problem)
    if not source.name.lower().endswith(ARCHIVES):
        return Entry(student, source, None, "not a folder or a .zip/.tar.gz archive")
    target = staging / student
    shutil.rmtree(target, ignore_errors=True)
    try:
        unpack(source, target)
    except ArchiveError as exc:
        shutil.rmtree(target, ignore_errors=True)
        return Entry(student, source, None, f"{source.name}: {exc}")
    root, problem = find_root(target)
    return Entry(student, source, root, f"{source.name}: {problem}" if problem else "")


def check_folder(path: str | Path) -> Path:
    """The class folder, or a clear error."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise CourseError(f"{folder} does not exist; give the folder that holds one folder or archive per student")
    if not folder.is_dir():
        raise CourseError(f"{folder} is a file; give the folder that holds one folder or archive per student")
    return folder


def listed(folder: Path) -> list[Path]:
    """The entries of a class folder: everything in it but hidden files and what an OS leaves (``__MACOSX``...)."""
    return [p for p in sorted(folder.iterdir()) if p.name not in SKIPPED and not p.name.startswith(".")]


def collect(folder: str | Path, staging: str | Path) -> list[Entry]:
    """Every entry of ``folder``, sorted by key (:func:`assign_ids`: entries whose ids fold alike are all kept,
    each listing the others); archives unpack into ``staging`` (created)."""
    folder, staging = Path(folder), Path(staging)
    staging.mkdir(parents=True, exist_ok=True)
    sources = listed(folder)
    keys = assign_ids(sources)
    entries = []
    for source in sources:
        key, others = keys[source.name]
        entry = _entry(source, staging, key)
        entry.same_id = list(others)
        entries.append(entry)
    return sorted(entries, key=lambda e: e.student)


def graded_files(root: Path) -> list[Path]:
    """The files of a submission that grading reads (:func:`course.handin.submission_files`), as paths."""
    return [root / rel for rel in submission_files(root)]


def digest(entry: Entry) -> str:
    """A hash of what is graded (the submission's files' paths and bytes, streamed), or of the entry itself when it
    is unusable."""
    if entry.root is None:
        h = hashlib.sha256(entry.problem.encode())
        if entry.source.is_file() and not entry.source.is_symlink():
            with open(entry.source, "rb") as source:
                while chunk := source.read(1 << 16):
                    h.update(chunk)
        return h.hexdigest()
    return hash_files(entry.root, submission_files(entry.root)).hexdigest()
