"""Intake under hostile class folders: archives vetted while streaming (refused after about the cap's number of
members, or from a member's header, never after reading the whole archive), folder entries capped like archives,
links never followed, files hashed in chunks."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
import tracemalloc
from pathlib import Path

from autograder.batch import intake

MODELS = b"class BaselineNet: pass\n"


def _gz(data: bytes, times: int = 1) -> bytes:
    """``data`` repeated ``times`` in a gzip file, as that many concatenated gzip members (one compressed once)."""
    return gzip.compress(data, compresslevel=9) * times


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _refused(archive: Path, tmp_path: Path) -> tuple[intake.Entry, float, int]:
    """Take in a class folder holding only ``archive``: the entry, CPU seconds (the machine may be shared), and
    the peak of Python's memory (a second run, traced)."""
    started, wall = time.process_time(), time.monotonic()
    [entry] = intake.collect(archive.parent, tmp_path / "staging")
    seconds, wall = time.process_time() - started, time.monotonic() - wall
    tracemalloc.start()
    intake.collect(archive.parent, tmp_path / "staging")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{archive.name}: {seconds:.2f} s CPU ({wall:.2f} s wall), peak {peak / 2**20:.1f} MiB: {entry.problem}")
    return entry, seconds, peak


def test_a_million_empty_headers_are_refused_after_the_cap(tmp_path):
    cls = tmp_path / "class"
    cls.mkdir()
    archive = cls / "headers.tar.gz"
    archive.write_bytes(_gz(_header("project1/x.py", 0) * 10_000, 100) + _gz(bytes(1024)))
    entry, seconds, peak = _refused(archive, tmp_path)
    assert entry.root is None and f"more than {intake.MAX_FILES} files" in entry.problem, entry
    assert seconds < 2 and peak < 32 * 2**20, (seconds, peak)


def test_a_4_gib_member_of_zeros_is_refused_from_its_header(tmp_path):
    cls = tmp_path / "class"
    cls.mkdir()
    archive = cls / "zeros.tar.gz"
    archive.write_bytes(_gz(_header("project1/zeros.bin", 4 * 2**30)) + _gz(bytes(16 * 2**20), 256)
                        + _gz(bytes(1024)))
    entry, seconds, peak = _refused(archive, tmp_path)
    assert entry.root is None and "more than" in entry.problem, entry
    assert seconds < 2 and peak < 32 * 2**20, (seconds, peak)


def test_tar_members_are_vetted_by_the_data_filter(tmp_path):
    cls = tmp_path / "class"
    cls.mkdir()
    with tarfile.open(cls / "mallory.tar.gz", "w:gz") as t:
        for name, kind in (("project1/models.py", tarfile.REGTYPE), ("project1/fifo", tarfile.FIFOTYPE),
                           ("project1/dev", tarfile.CHRTYPE), ("project1/hard.py", tarfile.LNKTYPE)):
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.LNKTYPE:
                info.linkname = "/etc/passwd"
            if kind == tarfile.REGTYPE:
                info.size = len(MODELS)
            t.addfile(info, io.BytesIO(MODELS) if kind == tarfile.REGTYPE else None)
    [entry] = intake.collect(cls, tmp_path / "staging")
    files = sorted(p.name for p in (tmp_path / "staging" / "mallory").rglob("*"))
    assert entry.root is not None and files == ["models.py", "project1"], files


def test_a_folder_entry_is_capped_like_an_archive(tmp_path):
    cls = tmp_path / "class"
    (cls / "big" / "project1").mkdir(parents=True)
    (cls / "big" / "project1" / "models.py").write_bytes(MODELS)
    with open(cls / "big" / "project1" / "data.bin", "wb") as f:
        f.truncate(2 * 2**30)  # sparse: 2 GiB to read, nothing on disk
    (cls / "many" / "project1").mkdir(parents=True)
    for i in range(intake.MAX_FILES + 1):
        (cls / "many" / "project1" / f"f{i}.py").write_bytes(b"")
    tracemalloc.start()
    entries = {e.student: e for e in intake.collect(cls, tmp_path / "staging")}
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert entries["big"].root is None and f"more than {intake.MAX_BYTES // 2**20} MB" in entries["big"].problem
    assert entries["many"].root is None and f"more than {intake.MAX_FILES} files" in entries["many"].problem
    assert peak < 32 * 2**20, peak


def test_hashing_streams(tmp_path):
    big = tmp_path / "big.zip"
    with open(big, "wb") as f:
        f.truncate(256 * 2**20)
    tracemalloc.start()
    intake.digest(intake.Entry("big", big, None, "corrupt archive"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 2**20, f"hashing a 256 MiB file peaked at {peak / 2**20:.0f} MiB"


def test_links_in_a_folder_entry_are_never_followed(tmp_path):
    cls = tmp_path / "class"
    (cls / "alice" / "project1").mkdir(parents=True)
    (cls / "alice" / "project1" / "models.py").write_bytes(MODELS)
    (cls / "mallory").mkdir()
    (cls / "mallory" / "project1").symlink_to(cls / "alice" / "project1")
    (cls / "oscar" / "project1").mkdir(parents=True)
    (cls / "oscar" / "project1" / "models.py").symlink_to("/etc/passwd")
    outside = tmp_path / "elsewhere" / "project1"
    outside.mkdir(parents=True)
    (outside / "models.py").write_bytes(MODELS)
    (cls / "trent").symlink_to(outside.parent)
    entries = {e.student: e for e in intake.collect(cls, tmp_path / "staging")}
    assert entries["alice"].usable
    for student, name in (("mallory", "project1"), ("oscar", "project1/models.py"), ("trent", "trent")):
        entry = entries[student]
        assert entry.root is None and f"{name} is a link" in entry.problem, entry
    assert os.path.islink(cls / "oscar" / "project1" / "models.py")
