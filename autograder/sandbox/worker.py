"""The worker: the only process that imports and runs a student's code (see :mod:`autograder.sandbox`).

``python -m autograder.sandbox.worker FD ROOT PROJECT [--threads N] [--rlimit-data BYTES] [--rlimit-nproc N]``
serves requests on the socket ``FD`` until it closes:

1. on start it caps itself (the resource limits given, when the judge could not make a cgroup; hard limits, so
   student code cannot raise them), imports torch and the probes, and says ``{"status": "ready"}``;
   It then snapshots torch's namespaces (:mod:`.pristine`); before and after every call, and after the import,
   a change (a rebound ``Tensor.argmax``, a patched ``nn.Module.__call__``…) is undone and the reply carries
   ``"integrity"`` (the judge withholds the project);
2. ``{"import": [modules]}``: imports the student's files of the project, saying ``{"status": "importing",
   "module": name}`` before each, then ``{"status": "imported", "failed": {module: message}}``. A file that fails
   to import fails the same way, at once, whenever a probe needs it again;
3. ``{"probe": name, "kwargs": {...}}``: runs ``autograder.sandbox.probes.<project>.<name>(ctx, **kwargs)``. The
   reply is ``{"status": "ok", "value": ...}`` or ``{"status": "error", "kind": ..., "message": ..., "where": ...,
   "details": ...}``; ``kind`` is ``not_implemented`` for a stub that still raises ``NotImplementedError``,
   ``import`` for a file that does not import, ``missing`` for a class or function the handout names that the
   file does not define, ``memory`` or ``processes`` when a cap refused an allocation or a
   fork, ``disk`` when a write found no space left, ``exception`` otherwise.

With ``--copy-from FOLDER`` (inside the sandbox: the project as handed in, read-only) the worker first copies the
project into ``ROOT/PROJECT`` (a size-capped tmpfs): regular files and folders only — never a link, a device or a
fifo — and no cache or results folder (:func:`copy_project`).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import resource
import shutil
import stat
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

IGNORED = {"__pycache__", ".ipynb_checkpoints", "results", ".git"}  # and *.pyc: never copied into a worker
PAGE = 4096


def project_files(source: Path):
    """``(relative path, size)`` of every regular file of ``source`` a worker gets, walked without following links
    (a link, a device or a fifo is left out; so are caches and results)."""
    for folder, dirs, files in os.walk(source, followlinks=False):
        dirs[:] = [d for d in dirs if d not in IGNORED and not os.path.islink(os.path.join(folder, d))]
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".pyc"):
                continue
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                yield os.path.relpath(path, source), st.st_size


def footprint(source: Path) -> int:
    """Bytes a copy of :func:`project_files` takes in a tmpfs (whole pages, one more per file for its folder)."""
    return sum((size + 2 * PAGE - 1) // PAGE * PAGE for _, size in project_files(source)) + PAGE


def copy_project(source: Path, target: Path) -> None:
    """Copy :func:`project_files` of ``source`` into ``target``, streaming (a file is never read whole)."""
    target.mkdir(parents=True, exist_ok=True)
    for rel, _ in project_files(source):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(source / rel, "rb") as src, open(target / rel, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


class Context:
    """What a probe gets: the student's modules of one project, loaded on demand; failures are remembered."""

    def __init__(self, root: str, project: str):
        self.root, self.project = root, project
        self.failed: dict[str, str] = {}

    def module(self, name: str):
        from course.errors import SubmissionError
        from course.submission import load_module

        if name in self.failed:
            exc = SubmissionError(self.failed[name])
            exc.file = f"{name}.py"
            raise exc
        try:
            return load_module(self.root, self.project, name)
        except SubmissionError as exc:
            self.failed[name] = str(exc)
            exc.file = f"{name}.py"
            raise


def _kind(exc: BaseException) -> str:
    """``memory``, ``processes`` or ``disk`` when a cap refused an allocation, a fork or a write, else ``exception``
    (the codes of :class:`autograder.record.Status`; the judge trusts only the student's own statuses from here)."""
    import torch

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):  # EFBIG: RLIMIT_FSIZE
        return "disk"
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or (isinstance(exc, OSError)
                                                                   and exc.errno == errno.ENOMEM):
        return "memory"
    if isinstance(exc, RuntimeError) and "DefaultCPUAllocator" in str(exc):
        return "memory"  # torch's CPU allocator has no exception type of its own: its RuntimeError names it
    if isinstance(exc, BlockingIOError) or (isinstance(exc, OSError) and exc.errno == errno.EAGAIN):
        return "processes"
    return "exception"


def _error(exc: BaseException, folder: Path) -> dict:
    from autograder.sandbox.probes import Missing
    from course.errors import SubmissionError
    from course.submission import student_frames

    frames = student_frames(exc, folder)
    where = ""
    if frames:
        f = frames[-1]
        where = f"{Path(f.filename).name}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}"
    if isinstance(exc, SubmissionError):
        return {"status": "error", "kind": "import", "message": str(exc), "where": where, "details": "",
                "file": getattr(exc, "file", "")}
    if isinstance(exc, Missing):
        return {"status": "error", "kind": "missing", "message": str(exc), "where": "", "details": ""}
    if isinstance(exc, NotImplementedError):
        return {"status": "error", "kind": "not_implemented", "message": "not implemented yet",
                "where": where, "details": ""}
    details = "".join(traceback.format_list(frames)) if frames else ""
    message = f"{type(exc).__name__}: {exc}"
    return {"status": "error", "kind": _kind(exc), "message": message[:2000], "where": where,
            "details": details[-4000:]}


def _send(conn: Connection, message: dict) -> None:
    from autograder.sandbox.wire import encode

    try:
        payload = encode(message)
    except Exception as exc:  # noqa: BLE001 - the value could not be serialised
        payload = encode({"status": "error", "kind": "invalid",
                          "message": f"the result could not be sent back: {type(exc).__name__}: {exc}"})
    conn.send_bytes(payload)


def _import(conn: Connection, context: Context, modules: list[str]) -> None:
    for name in modules:
        _send(conn, {"status": "importing", "module": name})
        try:
            context.module(name)
        except BaseException as exc:  # noqa: BLE001 - remembered in context.failed, reported below
            if isinstance(exc, KeyboardInterrupt):
                raise
            if name not in context.failed:
                context.failed[name] = f"{name}.py does not import: {type(exc).__name__}: {exc}"
    _send(conn, {"status": "imported", "failed": {k: v for k, v in context.failed.items() if k in modules}})


def load_kit(project: str):
    """Import everything of the kit the worker and the probes use, before any student file is reachable: the
    probes of ``project``, the wire, and the ``course`` modules a student file may import (the kit's copies, so a
    ``course/`` folder in the submission is never the one loaded)."""
    for name in ("course", "course.errors", "course.submission", "course.data", "course.project1.spec",
                 "course.project2.spec", "course.project2.speed", "autograder.sandbox.wire",
                 "autograder.sandbox.probes", "autograder.sandbox.tripwire"):
        importlib.import_module(name)
    probes = importlib.import_module(f"autograder.sandbox.probes.{project}")
    if not probes.AUTOGRAD:
        from autograder.sandbox.tripwire import guard_entry_points

        guard_entry_points()  # before any student code: its autograd calls report to the call's tripwire
    return probes


def student_path(folder: str) -> None:
    """Make the project folder importable for the student's own module names only: last on ``sys.path``, after
    the kit and site-packages (so ``import course`` or ``import torch`` finds the kit's, never a folder of the
    submission's), and not as the current folder (the worker starts with ``python -P``; '' is dropped here too)."""
    here = os.path.realpath(os.getcwd())
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != here]
    sys.path.append(folder)


def serve(conn: Connection, root: str, project: str, probes=None) -> None:
    import torch

    from autograder.sandbox import pristine
    from autograder.sandbox.tripwire import Tripwire
    from autograder.sandbox.wire import decode

    probes = probes or load_kit(project)
    pristine.snapshot()  # before any student file runs (a no-op when main took it already)
    context = Context(root, project)
    folder = (Path(root) / project).resolve()
    _send(conn, {"status": "ready"})
    pending = ""  # torch found changed outside a call (while importing): reported with the next reply
    while True:
        try:
            request = decode(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if "import" in request:
            _import(conn, context, list(request["import"]))
            pending = pending or _torch_changed("while your files were imported")
            continue
        seen = pending or _torch_changed("before a measurement")  # restored: the probe measures with torch's own
        # a probe module declares whether its probes run with autograd (project 2's framework: never, and its
        # calls run inside the tripwire, autograder/sandbox/tripwire.py)
        guard = None if probes.AUTOGRAD or request["probe"] in probes.TRIPWIRE_EXEMPT else Tripwire()
        try:
            with torch.set_grad_enabled(probes.AUTOGRAD), guard or contextlib.nullcontext():
                value = getattr(probes, request["probe"])(context, **request["kwargs"])
                if guard is not None:
                    guard.check_after()
            reply = {"status": "ok", "value": value}
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the judge
            if isinstance(exc, KeyboardInterrupt):
                raise
            reply = _error(exc, folder)
        seen = seen or _torch_changed("during a call into your code")
        if guard is not None and guard.seen:
            seen = seen or f"autograd during a call into your code: {guard.seen}"
        if seen:
            reply["integrity"] = seen  # the judge withholds the project's points (autograder/integrity.py)
        pending = ""
        _send(conn, reply)


def _torch_changed(when: str) -> str:
    """What the student's code changed in torch since the snapshot (:mod:`autograder.sandbox.pristine`), in words,
    with torch restored; "" when nothing."""
    from autograder.sandbox import pristine

    found = pristine.changes()
    if not found:
        return ""
    pristine.restore()
    return pristine.sighting(found, when)


def cap_self(data: int | None, nproc: int | None) -> None:
    """Hard resource limits on this process and everything it starts (when the judge has no cgroup)."""
    for limit, value in ((resource.RLIMIT_DATA, data), (resource.RLIMIT_NPROC, nproc)):
        if value:
            resource.setrlimit(limit, (value, value))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="autograder.sandbox.worker")
    parser.add_argument("fd", type=int)
    parser.add_argument("root")
    parser.add_argument("project")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rlimit-data", type=int, default=None)
    parser.add_argument("--rlimit-nproc", type=int, default=None)
    parser.add_argument("--copy-from", default=None)
    args = parser.parse_args(argv)
    if args.copy_from:
        copy_project(Path(args.copy_from), Path(args.root) / args.project)
    cap_self(args.rlimit_data, args.rlimit_nproc)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    probes = load_kit(args.project)
    from autograder.sandbox import pristine

    pristine.snapshot()  # torch as the kit left it, before the project folder is even on sys.path
    student_path(str(Path(args.root) / args.project))
    serve(Connection(args.fd), args.root, args.project, probes)


if __name__ == "__main__":
    main()
