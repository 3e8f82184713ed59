"""A private control group for one worker: its memory and process caps, which of them fired, and killing
everything in it.

cgroup v2 (``memory.max``, ``pids.max``, ``memory.events``/``pids.events``) is used where the grader's own cgroup
lets it create a child with both controllers; cgroup v1 (``memory.limit_in_bytes``, ``pids.max``,
``memory.oom_control``) where those hierarchies are mounted writable. Where neither works, :func:`create` returns
``None`` and the worker caps itself with resource limits instead (see :mod:`.worker`).

A process joins the group before it starts anything: the worker is launched through
``sh -c 'for f in $AUTOGRADER_CGROUP_PROCS; do echo $$ > "$f"; done; exec "$@"'``, so its whole tree is inside
from the first instruction.
"""

from __future__ import annotations

import os
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path

JOIN = 'for f in $AUTOGRADER_CGROUP_PROCS; do echo $$ > "$f" || exit 125; done; exec "$@"'


def _mounts() -> dict[str, Path]:
    """controller (``memory``, ``pids``) or ``"unified"`` → its mount point, from /proc/self/mountinfo."""
    found: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if " - " not in line:
            continue
        after = line.split(" - ", 1)[1].split()
        fstype, options = after[0], after[2] if len(after) > 2 else ""
        mount = Path(fields[4])
        if fstype == "cgroup2":
            found.setdefault("unified", mount)
        elif fstype == "cgroup":
            for controller in ("memory", "pids"):
                if controller in options.split(","):
                    found.setdefault(controller, mount)
    return found


def _own_paths() -> dict[str, str]:
    """controller or ``"unified"`` → this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and controllers == "":
            paths["unified"] = path
        for controller in controllers.split(","):
            if controller in ("memory", "pids"):
                paths[controller] = path
    return paths


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


@dataclass
class Cgroup:
    version: int
    dirs: list[Path]                      # the group's folder in each hierarchy (one for v2, two for v1)
    memory: int = 0
    processes: int = 0
    _baseline: dict = field(default_factory=dict)

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def _read(self, name: str) -> str:
        for d in self.dirs:
            try:
                return (d / name).read_text()
            except OSError:
                continue
        return ""

    def _counter(self, file: str, key: str) -> int:
        for line in self._read(file).splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == key:
                return int(parts[1])
        return 0

    def oom_kills(self) -> int:
        """How many processes of the group the kernel killed for memory so far."""
        return self._counter("memory.events" if self.version == 2 else "memory.oom_control", "oom_kill")

    def pids_refusals(self) -> int:
        """How many forks the process cap refused so far."""
        return self._counter("pids.events", "max")

    def kill(self) -> None:
        """SIGKILL every process still in the group (v2: ``cgroup.kill`` where the kernel has it)."""
        if self.version == 2 and (self.dirs[0] / "cgroup.kill").exists():
            try:
                _write(self.dirs[0] / "cgroup.kill", "1")
                return
            except OSError:
                pass
        for _ in range(50):  # a fork bomb may keep forking between reads: repeat until empty
            pids = {int(p) for f in self.procs_files for p in _read_lines(f)}
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def remove(self) -> None:
        """Kill what is left and delete the group's folders."""
        self.kill()
        for d in self.dirs:
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes still exiting
                    import time

                    time.sleep(0.02)


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().split()
    except OSError:
        return []


def _create_v2(mount: Path, own: str, memory: int, processes: int) -> Cgroup | None:
    parent = mount / own.lstrip("/")
    try:
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        if not {"memory", "pids"} <= set(enabled):
            _write(parent / "cgroup.subtree_control", "+memory +pids")
    except OSError:
        return None
    folder = parent / f"autograder-{uuid.uuid4().hex[:12]}"
    try:
        folder.mkdir()
        _write(folder / "memory.max", str(memory))
        if (folder / "memory.swap.max").exists():
            _write(folder / "memory.swap.max", "0")
        _write(folder / "pids.max", str(processes))
    except OSError:
        try:
            folder.rmdir()
        except OSError:
            pass
        return None
    return Cgroup(2, [folder], memory, processes)


def _create_v1(mounts: dict[str, Path], own: dict[str, str], memory: int, processes: int) -> Cgroup | None:
    if "memory" not in mounts or "pids" not in mounts:
        return None
    name = f"autograder-{uuid.uuid4().hex[:12]}"
    made = []
    try:
        for controller in ("memory", "pids"):
            folder = mounts[controller] / own.get(controller, "/").lstrip("/") / name
            folder.mkdir()
            made.append(folder)
        memory_dir, pids_dir = made
        _write(memory_dir / "memory.limit_in_bytes", str(memory))
        if (memory_dir / "memory.memsw.limit_in_bytes").exists():
            try:
                _write(memory_dir / "memory.memsw.limit_in_bytes", str(memory))
            except OSError:
                pass
        _write(pids_dir / "pids.max", str(processes))
    except OSError:
        for folder in made:
            try:
                folder.rmdir()
            except OSError:
                pass
        return None
    return Cgroup(1, made, memory, processes)


def create(memory: int, processes: int) -> Cgroup | None:
    """A new group capped at ``memory`` bytes and ``processes`` tasks, or ``None`` where none can be made (or where
    ``$AUTOGRADER_SIMULATE_NO_CGROUPS`` says to act as if the cgroup file systems were read-only)."""
    if os.environ.get("AUTOGRADER_SIMULATE_NO_CGROUPS", "").strip() not in ("", "0"):
        return None
    mounts, own = _mounts(), _own_paths()
    if "unified" in mounts and "unified" in own:
        group = _create_v2(mounts["unified"], own["unified"], memory, processes)
        if group is not None:
            return group
    return _create_v1(mounts, own, memory, processes)


def available() -> str:
    """``"cgroup v2"``, ``"cgroup v1"`` or ``""``: what :func:`create` can use on this machine (tries it)."""
    group = create(2**30, 64)
    if group is None:
        return ""
    group.remove()
    return f"cgroup v{group.version}"
