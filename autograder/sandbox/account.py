"""Student code as an unprivileged user, where bubblewrap cannot run but the grader is root (Gradescope's containers:
root, Docker's seccomp refuses the user namespace bubblewrap needs, the cgroup file systems read-only).

Each worker (and a notebook's kernel) gets a uid of its own from ``BASE_UID`` up (61000, 61001…: no account needs to
exist; the ids are used as numbers), claimed with a lock so that two gradings on one machine never share one. Its
process starts as root only to join its cgroup (where there is one), then, before anything of Python runs:

* resource limits, hard (so nothing it starts can raise them): address space (the memory cap plus room for the
  libraries' mappings), data (the memory cap), processes (counted per uid, so the cap holds for the whole tree,
  detached processes included), file size (the disk cap), CPU seconds, no core files;
* no new privileges (``PR_SET_NO_NEW_PRIVS``: a set-uid program cannot take it back to root), no supplementary
  groups, gid and uid the student's, umask 077;
* an environment of its own (nothing of the grader's: no instructor's seed, no cache folder), ``HOME`` and
  ``TMPDIR`` in its private copy, and the kit it may import (:func:`worker_kit`: ``course/``,
  ``autograder/__init__.py`` and ``autograder/sandbox/`` — never the suite, the thresholds or the rubric) on its
  ``PYTHONPATH``, owned by root, read-only.

When the worker stops, :func:`sweep` kills every process of its uid — a forked child of the grader becomes that uid
and repeats ``kill(-1, SIGKILL)`` until nothing is left — and a process that survives is reported (the
``integrity`` flag). What it relies on: the kernel's permission checks (the student's uid can write nothing of
root's; the grader hides its files with ``chmod o=``: :func:`autograder.gradescope.protect`), and a uid nobody
else uses.
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import functools
import os
import resource
import shutil
import signal
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.sandbox import isolation

BASE_UID = 61000
COUNT = 64                      # uids BASE_UID … BASE_UID + COUNT - 1
LIBRARY_ROOM = 4 * 2**30        # address space beyond the memory cap: the mappings of Python, torch and their libraries
PR_SET_NO_NEW_PRIVS = 38
SIMULATE_NO_USERNS = "AUTOGRADER_SIMULATE_NO_USERNS"   # tests: bubblewrap treated as refused (Gradescope's seccomp)
SIMULATE_NO_CGROUPS = "AUTOGRADER_SIMULATE_NO_CGROUPS"  # tests: the cgroup file systems treated as read-only


def simulated(name: str) -> bool:
    return os.environ.get(name, "").strip() not in ("", "0")


def _lock_dir() -> Path:
    """A folder only root may use, for the uids' locks (one path per machine, whatever ``$TMPDIR`` says)."""
    folder = Path("/tmp/autograder-accounts")
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o077:
        raise OSError(f"{folder} is not a folder only root can use; remove it")
    return folder


def live_processes(uid: int) -> list[int]:
    """The processes whose real, effective or saved uid is ``uid`` and that are not zombies (read from /proc)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        uids = {int(u) for u in fields.get("Uid", "").split()[:3] if u.isdigit()}
        if uid in uids and not fields.get("State", "").strip().startswith(("Z", "X")):
            found.append(int(entry.name))
    return found


def _describe(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmd = ""
    return f"pid {pid}" + (f" ({cmd[:80]})" if cmd else "")


def _kill_all_as(uid: int, gid: int) -> None:
    """In a forked child that becomes ``uid``: ``kill(-1, SIGKILL)`` until no process of that uid is left to signal
    (the kernel lets a process signal exactly the processes of its own uid; the child itself is spared)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            code = 0
            for _ in range(1000):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break  # none left (zombies excepted: they run nothing and are counted by the caller)
                except OSError:
                    code = 2
                    break
        finally:
            os._exit(code)
    os.waitpid(pid, 0)


def sweep(uid: int, gid: int | None = None, seconds: float = 5.0) -> list[str]:
    """Kill every process of ``uid``; the ones still running after ``seconds`` (none, unless one escaped), described."""
    gid = uid if gid is None else gid
    deadline = time.monotonic() + seconds
    while True:
        if not live_processes(uid):
            return []
        _kill_all_as(uid, gid)
        time.sleep(0.01)
        left = live_processes(uid)
        if not left:
            return []
        if time.monotonic() > deadline:
            return [_describe(p) for p in left]


def sweep_all(seconds: float = 5.0) -> list[str]:
    """:func:`sweep` every student uid that has a process (``run_autograder`` does it before writing results)."""
    escaped = []
    for uid in range(BASE_UID, BASE_UID + COUNT):
        if live_processes(uid):
            escaped += sweep(uid, seconds=seconds)
    return escaped


@dataclass
class Account:
    """A student uid claimed for one worker (its lock held until :meth:`release`)."""

    uid: int
    lock: int = field(repr=False)

    @property
    def gid(self) -> int:
        return self.uid

    def release(self) -> list[str]:
        """Kill every process of the uid, unlock it; the processes that survived (an escape), described."""
        try:
            return sweep(self.uid, self.gid)
        finally:
            if self.lock >= 0:
                os.close(self.lock)
                self.lock = -1


def claim() -> Account:
    """The first free student uid (unlocked, no process left of it)."""
    folder = _lock_dir()
    for uid in range(BASE_UID, BASE_UID + COUNT):
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if sweep(uid):  # a leftover of a grading that died: killed, or unusable
            os.close(fd)
            continue
        return Account(uid, fd)
    raise OSError(f"no free student uid in {BASE_UID}-{BASE_UID + COUNT - 1}")


def give(path: Path, account: Account) -> None:
    """Make ``path`` (a folder of the grader's, holding the student's private copy) the student's, links untouched."""
    os.lchown(path, account.uid, account.gid)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), account.uid, account.gid)


def _libc_prctl():
    return ctypes.CDLL(None, use_errno=True).prctl


def demote(account: Account, *, memory: int, processes: int, disk: int, cpu_seconds: float,
           cgroup_procs: tuple[str, ...] = ()):
    """The ``preexec_fn`` that turns the child into the student (see the module's docstring); it runs in the forked
    child, as root, before ``exec``."""
    prctl = _libc_prctl()
    limits = [(resource.RLIMIT_AS, memory + LIBRARY_ROOM), (resource.RLIMIT_DATA, memory),
              (resource.RLIMIT_NPROC, processes), (resource.RLIMIT_FSIZE, disk),
              (resource.RLIMIT_CPU, max(1, int(cpu_seconds))), (resource.RLIMIT_CORE, 0)]
    uid, gid = account.uid, account.gid

    def preexec() -> None:  # pragma: no cover - runs in the child
        pid = str(os.getpid())
        for procs in cgroup_procs:
            with open(procs, "w") as f:
                f.write(pid)
        for which, value in limits:
            resource.setrlimit(which, (value, value))
        if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        os.umask(0o077)
        if os.getuid() != uid or os.geteuid() != uid:
            raise OSError("the student's uid did not take")

    return preexec


# ---------------------------------------------------------------------------------------------------------------
# The kit the student's user may read
# ---------------------------------------------------------------------------------------------------------------


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), symlinks=False)


@functools.lru_cache(maxsize=1)
def worker_kit() -> str:
    """A root-owned, read-only copy of what the worker imports of the kit (:func:`.isolation.worker_kit`), made once
    per grading process and removed at its exit; its folder goes on the worker's ``PYTHONPATH``. No hidden test,
    threshold, seed or rubric is in it, and no ``__pycache__`` may be written there."""
    top = Path(tempfile.mkdtemp(prefix="autograder-worker-kit-"))
    atexit.register(shutil.rmtree, top, True)
    for path, name in isolation.worker_kit():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            _copy_tree(path, top / name)
        else:
            shutil.copyfile(path, top / name)
    for folder, _dirs, files in os.walk(top):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return str(top)


def _reachable_as(uid: int, paths: list[str]) -> str:
    """``""`` when the uid can read (and traverse to) every path, else the first it cannot (checked in a child)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        bad = b""
        try:
            os.close(read)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for path in paths:
                if not os.access(path, os.R_OK):
                    bad = path.encode()
                    break
        except OSError:
            bad = b"?"
        finally:
            os.write(write, bad)
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        answer = f.read().decode(errors="replace")
    os.waitpid(pid, 0)
    return answer


@functools.lru_cache(maxsize=1)
def probe() -> tuple[bool, str]:
    """``(True, "")`` where student code can run as a student uid here (Linux, the grader is root, the student's
    user can read the Python that runs the worker and its site-packages), else ``(False, why not)``."""
    if not sys.platform.startswith("linux"):
        return False, "not Linux"
    if os.geteuid() != 0:
        return False, "the grader is not root (it cannot switch to another user)"
    import torch

    paths = [os.path.realpath(sys.executable), str(Path(torch.__file__).resolve().parent)]
    try:
        _lock_dir()
        unreachable = _reachable_as(BASE_UID, paths)
    except OSError as exc:
        return False, str(exc)
    if unreachable:
        return False, f"the student's user cannot read {unreachable} (the Python that runs the worker)"
    return True, ""
