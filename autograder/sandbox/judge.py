"""The judge's side of the wall between the grader and the student's code.

Student code never runs in the grading (pytest) process. Each project of a submission gets a *worker*: a
separate Python process (``python -m autograder.sandbox.worker``) that imports the student's files and runs
*probes* (``autograder.sandbox.probes``) on inputs the judge sends. It runs inside bubblewrap (see
:mod:`.isolation`) on a private copy of its project folder, in a private cgroup where one can be made (see
:mod:`.cgroups`), under the caps of :mod:`.limits`. What comes back is decoded with
``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts only — no object of the
student's can run code in the judge. The judge computes every expected value itself, asserts, and records
points.

A worker's life: start (Python and torch, not charged to the student) → import the project's files (one
limit for all of them; a file that hangs fails every task of the project at once) → probe calls, each within
its task's limit and what is left of the submission's. A call that hangs kills the worker, one that crashes it
gets a fresh worker for the next call; every process the student started dies with the worker.

The judge is bounded against its worker: a reply's length is read first and refused past ``limits.reply`` (nothing
of it is read), a call ends at its deadline however slowly the reply's bytes trickle, and a reply that does not
decode is the submission's failure (``invalid``), not the grader's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import escape, integrity
from autograder.record import Note, NoteKind, Status
from autograder.sandbox import account, cgroups, isolation, procs, wire
from autograder.sandbox.limits import Limits, cpu_seconds, format_size
from autograder.sandbox.wire import decode, encode
from autograder.sandbox.worker import footprint
from course.errors import CourseError
from course.handin import copy_files, submission_files


class StudentError(Exception):
    """The student's code failed inside the worker.

    ``status``: what the failure was (:class:`autograder.record.Status`; given as a Status or its code, e.g.
    ``"timeout"``, ``"disk"`` for a write past the disk cap, ``"invalid"`` for a reply that is not plain data, too
    large or undecodable); ``where`` names the student's file and line when known; ``details`` is the trimmed
    traceback; ``output`` what the code printed during the call; ``notes`` caps that fired on the way; ``file`` the
    student's file that does not import; ``limit`` the limit that stopped it (seconds or bytes), when a limit did.
    Every text is stripped of control characters (:mod:`autograder.escape`): the student's code wrote it.
    """

    def __init__(self, status: Status | str, message: str, where: str = "", details: str = "", output: str = "",
                 notes: tuple[str, ...] = (), file: str = "", *, limit: float | None = None):
        message, where, details, output = (escape.control(t) for t in (message, where, details, output))
        super().__init__(message)
        self.status = status if isinstance(status, Status) else Status.of(status)
        self.message, self.where, self.details, self.output = message, where, details, output
        self.notes, self.file, self.limit = tuple(notes), file, limit

    @property
    def kind(self) -> str:
        """The status's code (``"timeout"``, ``"not_implemented"``, …)."""
        return self.status.code


class GraderError(CourseError):
    """The grader itself could not run a worker (not the student's fault)."""


@dataclass
class Sandbox:
    """How workers run: inside bubblewrap (``bwrap`` is its path), else as an unprivileged uid of their own (``user``:
where bubblewrap cannot run and the grader is root), else with the grader's permissions (``reason`` says why), and
their caps."""

    bwrap: str | None
    limits: Limits = field(default_factory=Limits)
    reason: str = ""
    user: bool = False  # no bubblewrap, but the grader is root: student code runs as a student uid (:mod:`.account`)

    @classmethod
    def choose(cls, mode: str, limits: Limits | None = None) -> Sandbox:
        """``mode``: ``auto`` (bubblewrap where it runs), ``require`` (a clear error where it does not) or ``off``."""
        limits = limits or Limits()
        if mode == "off":
            return cls(None, limits, "switched off (--no-sandbox)")
        bwrap, reason = isolation.probe()
        if bwrap is None and mode == "require":
            raise CourseError(f"the sandbox cannot run here: {reason}. Grading other people's code needs it; "
                              "run on a Linux machine with user namespaces, or pass --no-sandbox to accept the risk")
        if bwrap is None:
            usable, why_not = account.probe()
            if usable:
                return cls(None, limits, reason, user=True)
            reason = f"{reason}; no student user either: {why_not}"
        return cls(bwrap, limits, reason)

    @property
    def kind(self) -> str:
        """``bubblewrap``, ``user`` (an unprivileged uid of its own, :mod:`.account`) or ``none``."""
        return "bubblewrap" if self.bwrap else "user" if self.user else "none"

    def describe(self) -> list[str]:
        """What isolation is in force, one line each (``autograder check --sandbox-info``)."""
        lim = self.limits
        group = cgroups.available()
        root = os.geteuid() == 0
        if self.bwrap:
            lines = [f"isolation: {isolation.version(self.bwrap)} ({self.bwrap})",
                     "  namespaces: user, pid, network (no network), ipc, uts; dies with the grader",
                     f"  files: read-only Python, site-packages, course/ and autograder/sandbox/; a private copy of the "
                     f"project read-write, in a tmpfs of its size plus {format_size(lim.disk)}; a private /tmp of "
                     f"{format_size(lim.tmp)}; nothing else of the host (no copy of MNIST: "
                     f"{len(isolation.data_folders())} data folder(s) hidden)"]
        elif self.user:
            lines = [f"isolation: UNPRIVILEGED USER — no bubblewrap ({self.reason}); student code runs as a uid of "
                     f"its own ({account.BASE_UID} and up), without new privileges",
                     "  files: it reads only what any user may read, and a read-only copy of course/ and "
                     "autograder/sandbox/; it writes only its private copy of the project and the world-writable "
                     "folders; the grader hides its kit, results and caches (chmod o=, Gradescope: protect())",
                     f"  limits: address space {format_size(lim.memory + account.LIBRARY_ROOM)}, file size "
                     f"{format_size(lim.disk)}, CPU {self.cpu_seconds:g} s per process; every process of its uid "
                     "is killed when the worker stops (a survivor is flagged integrity)",
                     "  no namespaces: it shares the network, /tmp and the process list with the machine"]
        else:
            lines = [f"isolation: NONE — {self.reason}; student code runs with your own permissions"]
        lines.append(f"memory: {format_size(lim.memory)} per worker, by "
                     + (f"{group} (memory cap)" if group else "RLIMIT_DATA"))
        nproc = "RLIMIT_NPROC" + (" (not enforced: the grader runs as root)" if root and not group and not self.user
                                  else " (per student uid)" if self.user and not group else "")
        lines.append(f"processes: {lim.processes} per worker, by " + (f"{group} (pids.max)" if group else nproc))
        lines += [f"threads: {lim.threads} per worker", f"output kept: {format_size(lim.output)} per worker",
                  f"replies: {format_size(lim.reply)} each, read within the call's time limit",
                  f"time: each task's own limit per call; {lim.import_seconds:g} s to import a project's files; "
                  f"{lim.submission_seconds:g} s for the whole submission"]
        return lines

    @property
    def cpu_seconds(self) -> float:
        """The CPU time of one process of a student uid: the submission's time, a start and an import."""
        return cpu_seconds(self.limits)


class Budget:
    """The time left to one submission, shared by its workers; it starts with the first call."""

    def __init__(self, seconds: float):
        self.seconds: float = seconds
        self.deadline: float | None = None

    def remaining(self) -> float:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.seconds
        return self.deadline - time.monotonic()


class Output:
    """The worker's stdout and stderr, read by a thread: the first ``cap`` bytes are kept, the rest is counted."""

    def __init__(self, cap: int):
        self.cap, self.data, self.dropped = cap, bytearray(), 0
        self._thread: threading.Thread | None = None

    def follow(self, pipe) -> None:
        def drain():
            for chunk in iter(lambda: pipe.read1(65536), b""):
                room = self.cap - len(self.data)
                self.data += chunk[:max(room, 0)]
                self.dropped += max(len(chunk) - max(room, 0), 0)
            pipe.close()

        self._thread = threading.Thread(target=drain, daemon=True)
        self._thread.start()

    def settle(self, timeout: float = 1.0) -> None:
        """Wait (briefly) for the reader to catch up, once the worker has stopped."""
        if self._thread is not None:
            self._thread.join(timeout)

    def mark(self) -> tuple[int, int]:
        return len(self.data), self.dropped

    def since(self, mark: tuple[int, int], lines: int = 15) -> str:
        """The last ``lines`` lines printed since ``mark``."""
        text = self.data[mark[0]:].decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def cut_since(self, mark: tuple[int, int]) -> bool:
        return self.dropped > mark[1]


class _Crashed(Exception):
    pass


class _Invalid(Exception):
    """The worker sent something the judge does not accept (the message says what, to the student)."""


@dataclass
class Launch:
    """How to start a process on a private copy of a project folder (``<copy>/<project>``): inside bubblewrap
    with the folder at ``/submission/<project>``, as a student uid of its own (:mod:`.account`: the copy is given
    to that uid, :meth:`close` kills whatever of it is left), or neither; in a fresh cgroup where one can be made,
    else with the resource limits the worker sets on itself (``caps``)."""

    sandbox: Sandbox
    folder: Path
    cgroup: cgroups.Cgroup | None
    env: dict
    disk: int | None = None  # in bubblewrap: ``folder`` is read-only and the process copies it into a capped tmpfs
    student: account.Account | None = None  # the student uid it runs as
    escaped: list[str] = field(default_factory=list)  # processes of the student uid that survived :meth:`close`
    # in bubblewrap, every copy of MNIST hidden (isolation.data_folders): a worker gets its data from the judge; a
    # notebook loads its own (its autograded answers measure no accuracy, so it has nothing to look up)
    hide_data: bool = True

    @classmethod
    def prepare(cls, sandbox: Sandbox, folder: Path, env: dict | None = None, disk: int | None = None,
                hide_data: bool = True) -> Launch:
        """For a process on ``folder``; as a student uid, ``folder``'s parent (a folder of the grader's that holds
        only the copy) is given to the uid, with a private ``.home`` there (its ``HOME`` and ``TMPDIR``)."""
        lim = sandbox.limits
        base = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": str(lim.threads),
                "MKL_NUM_THREADS": str(lim.threads), "MPLBACKEND": "Agg", **(env or {})}
        folder = Path(folder)
        user = None
        if sandbox.user and not sandbox.bwrap:
            user = account.claim()
            home = folder.parent / ".home"
            home.mkdir(exist_ok=True)
            account.give(folder.parent, user)
            base = {key: value.replace("/tmp/", f"{home}/", 1) if value.startswith("/tmp/") else value
                    for key, value in base.items()}  # the kernel's runtime folders: private, not the shared /tmp
        return cls(sandbox, folder, cgroups.create(lim.memory, lim.processes), base, disk, user, hide_data=hide_data)

    @property
    def root(self) -> str:
        """The folder that holds the project, as the process sees it."""
        return isolation.SANDBOX_ROOT if self.sandbox.bwrap else str(self.folder.parent)

    @property
    def caps(self) -> list[str]:
        """The worker's own resource limits, where no cgroup enforces the caps."""
        lim = self.sandbox.limits
        return [] if self.cgroup else ["--rlimit-data", str(lim.memory), "--rlimit-nproc", str(lim.processes)]

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` wrapped: in bubblewrap (environment cleared to :attr:`env`), joining the cgroup first (a student
        uid joins it in :attr:`popen_kwargs`' ``preexec_fn``, while still root). Start it with :attr:`popen_env`
        and :attr:`popen_kwargs`; :attr:`env` is left as it is, so a second command is wrapped the same way."""
        if self.sandbox.bwrap:
            command = isolation.command(self.sandbox.bwrap, project_copy=self.folder, project=self.folder.name,
                                        tmp_size=self.sandbox.limits.tmp, env=self.env, argv=argv,
                                        disk_size=self.disk, hide_data=self.hide_data)
        else:
            command = list(argv)
        if self.cgroup is not None and self.student is None:
            command = ["/bin/sh", "-c", cgroups.JOIN, "sh", *command]
        return command

    @property
    def popen_env(self) -> dict:
        """The environment to start :meth:`command`'s result with: bubblewrap sets the inner one itself (so only
        ``PATH``); a student uid gets none of the grader's (no instructor's seed, no cache folder), only
        :attr:`env`, its private ``HOME`` and the kit it may read (:func:`.account.worker_kit`); without either,
        the grader's own plus :attr:`env`. The cgroup's files to join, where there is one."""
        if self.sandbox.bwrap:
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        elif self.student is not None:
            home = str(self.folder.parent / ".home")
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
                   "PYTHONPATH": account.worker_kit(), "PYTHONNOUSERSITE": "1", **self.env}
        else:
            env = {**os.environ, **self.env}
        if self.cgroup is not None and self.student is None:
            env["AUTOGRADER_CGROUP_PROCS"] = " ".join(self.cgroup.procs_files)
        return env

    @property
    def popen_kwargs(self) -> dict:
        """``preexec_fn`` for a student uid (:func:`.account.demote`: cgroup, limits, no new privileges, the uid)."""
        if self.student is None:
            return {}
        lim = self.sandbox.limits
        procs_files = tuple(self.cgroup.procs_files) if self.cgroup is not None else ()
        return {"preexec_fn": account.demote(self.student, memory=lim.memory, processes=lim.processes,
                                             disk=lim.disk, cpu_seconds=self.sandbox.cpu_seconds,
                                             cgroup_procs=procs_files)}

    def close(self) -> list[str]:
        """The process has ended: remove the cgroup; kill every process of the student uid and release it. The
        processes that survived (an escape), described."""
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.student is not None:
            self.escaped = self.student.release()
            self.student = None
        return self.escaped


SIGNAL_WORDS: dict[int, str] = {signal.SIGSEGV: "a segmentation fault", signal.SIGKILL: "SIGKILL",
                                signal.SIGABRT: "an abort"}


def describe_exit(code: int, *, bwrap: bool) -> tuple[str, int | None]:
    """``(words, signal)`` for a worker's exit status ``code``; ``signal`` is the one that (likely) killed it.

    Without bubblewrap, a negative status is the signal that killed the worker. Under bubblewrap, a negative
    status is a signal that killed bwrap itself, and bwrap exits with its child's status, or with 128 + N for a
    child killed by signal N (bash's convention; ``--json-status-fd`` reports the same number): a status of 129 to
    128 + the highest signal is that signal or an ``exit()`` with that number, which nothing outside can tell apart,
    so the words name both; above that it is an exit status.
    """
    if code < 0:
        return f"killed by {SIGNAL_WORDS.get(-code, f'signal {-code}')}", -code
    if bwrap and code - 128 in {int(s) for s in signal.valid_signals()}:
        sig = code - 128
        return f"exit status {code}: killed by {SIGNAL_WORDS.get(sig, f'signal {sig}')}, or exit({code})", sig
    return f"exit code {code}", None


class Worker:
    """One worker process for one project of one submission, started on first use.

    ``modules`` are the project's files the probes use (``("models", "train")``): they are imported once, right
    after the start, within ``limits.import_seconds``.
    """

    def __init__(self, root: str | Path, project: str, *, sandbox: Sandbox | None = None, modules=(),
                 budget: Budget | None = None):
        self.root, self.project = Path(root).resolve(), project
        self.sandbox = sandbox or Sandbox(None, Limits(), "no sandbox asked for")
        self.limits = self.sandbox.limits
        self.modules = tuple(modules)
        self.budget = budget
        self.proc: subprocess.Popen | None = None
        self.conn: socket.socket | None = None
        self.output = Output(self.limits.output)
        self.cgroup: cgroups.Cgroup | None = None
        self.launch: Launch | None = None
        self.copy: Path | None = None
        self.importing = ""
        self.import_errors: dict[str, str] = {}  # module -> why it does not import
        self.import_failure: StudentError | None = None  # the import did not finish: every call fails with it
        self.fired: list[Note] = []  # caps that fired during the worker's life, for the report
        self.served_hidden = False  # it ran a hidden task: the plugin restarts it before a public one
        self.tripped = ""  # what the worker's autograd tripwire saw (autograder/sandbox/tripwire.py), once it fired

    # -- process management ------------------------------------------------------------------------
    def _command(self, fd: int) -> tuple[list[str], dict, str]:
        """The command line, environment and working folder of a fresh worker on a fresh copy of the project.

        The submission's files (:func:`course.handin.submission_files`: regular files, no link followed, no venv or
        cache) are copied into a host folder. In bubblewrap that folder is bound read-only and the worker copies it
        again into a tmpfs of its size plus ``limits.disk``: whatever it writes stops there. Without bubblewrap the
        host folder is the worker's copy (no disk cap).
        """
        self.copy = Path(tempfile.mkdtemp(prefix=f"autograder-{self.project}-"))
        target = self.copy / self.project
        target.mkdir()
        copy_files(self.root, submission_files(self.root, (self.project,)), self.copy)
        if self.sandbox.bwrap:  # the copy, read-only, is copied again by the worker into a tmpfs of capped size
            launch = Launch.prepare(self.sandbox, target, disk=footprint(target) + self.limits.disk)
            extra = ["--copy-from", f"{isolation.HANDED_IN}/{self.project}"]
        else:
            launch = Launch.prepare(self.sandbox, target)
            extra = []
        self.cgroup, self.launch = launch.cgroup, launch
        return launch.command([sys.executable, "-P", "-m", "autograder.sandbox.worker", str(fd), launch.root, self.project,
                               "--threads", str(self.limits.threads), *launch.caps, *extra]), launch.popen_env, \
            str(target)

    def start(self) -> None:
        """Start the worker, wait until it is ready, and import the project's files."""
        parent, child = socket.socketpair()
        try:
            command, env, cwd = self._command(child.fileno())
            assert self.launch is not None
            self.proc = procs.start(command, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                    **self.launch.popen_kwargs)
        except OSError as exc:
            parent.close()
            self.stop()
            raise GraderError(f"the grader could not start its worker for {self.project}: {exc}") from None
        finally:
            child.close()
        self.conn = parent
        self.output = Output(self.limits.output)
        self.output.follow(self.proc.stdout)
        mark = self.output.mark()
        try:
            ready = self._receive(time.monotonic() + self.limits.startup_seconds)
        except (_Crashed, _Invalid):
            ready = None
        if ready is None or ready.get("status") != "ready":
            tail = self.output.since(mark)
            self.stop()
            raise GraderError(f"the grader's worker for {self.project} did not start within "
                              f"{self.limits.startup_seconds:g} s; the machine may be overloaded (try --limit-scale 2)"
                              + (f". It printed:\n{tail}" if tail else ""))
        if self.modules:
            self._import(mark)

    def _import(self, mark) -> None:
        oom_before = self.cgroup.oom_kills() if self.cgroup else 0
        limit = self.limits.import_seconds
        try:
            self._send({"import": list(self.modules)}, time.monotonic() + limit)
            reply = self._receive(time.monotonic() + limit)
        except _Invalid as exc:
            self.import_failure = StudentError(
                "import", f"{self.importing}.py sent the grader something it cannot read while being imported: {exc}",
                output=self.output.since(mark), file=f"{self.importing}.py")
            self.stop()
            raise self.import_failure from None
        except (_Crashed, OSError):
            how, _ = self._exit_code()
            if self.cgroup is not None and self.cgroup.oom_kills() > oom_before:
                cap = self._memory_cap()
                message, details = (f"{self.importing}.py {cap} while it was being imported: the system stopped it",
                                    "Code at the top level of a file runs when the grader imports it: allocate less "
                                    "there, and keep experiments under `if __name__ == '__main__':`.")
            else:
                message, details = (f"{self.importing}.py ended the Python process while it was being imported "
                                    f"({how})", "Code at the top level of a file runs when the grader imports it; "
                                    "keep experiments under `if __name__ == '__main__':`.")
            self.import_failure = StudentError("import", message, details=details, output=self.output.since(mark),
                                               file=f"{self.importing}.py")
            self.stop()
            raise self.import_failure from None
        if reply is None:
            self.import_failure = StudentError(
                "import", f"{self.importing}.py did not finish importing within {limit:g} s, so no task of "
                          f"{self.project} could be graded",
                details="Code at the top level of a file runs when the grader imports it: a training loop or an "
                        "endless loop there never ends. Keep experiments under `if __name__ == '__main__':`.",
                output=self.output.since(mark), notes=self._notes(mark), file=f"{self.importing}.py", limit=limit)
            self.stop()
            raise self.import_failure
        if self.cgroup is not None and self.cgroup.oom_kills() > oom_before:
            self._fire(NoteKind.MEMORY, f"a process your code started while it was imported {self._memory_text()} "
                                        "and was stopped by the system")
        failed = reply.get("failed", {})
        self.import_errors = {escape.control(str(k)): escape.control(str(v))
                              for k, v in (failed.items() if isinstance(failed, dict) else ())}

    def _exit_code(self) -> tuple[str, int | None]:
        """How the worker ended, in words, and the signal that (likely) killed it: see :func:`describe_exit`."""
        code = self.proc.wait() if self.proc is not None else None
        if code is None:
            return "it stopped", None
        return describe_exit(code, bwrap=bool(self.sandbox.bwrap))

    def kill(self) -> None:
        """SIGKILL the worker and every process it started, without waiting (:meth:`stop` cleans up after)."""
        if self.proc is not None and self.proc.poll() is None:
            procs.kill_group(self.proc)
        if self.cgroup is not None:
            self.cgroup.kill()

    def stop(self) -> None:
        if self.proc is not None:
            self._notes((0, 0))  # output cut outside any call (while importing, say) is reported too
        if self.proc is not None and self.proc.poll() is None:
            procs.kill_group(self.proc)
        if self.proc is not None:
            self.proc.wait()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.launch is not None:  # as a student uid: every process of the uid is killed (a survivor is flagged)
            for escaped in self.launch.close():
                self._fire(NoteKind.INTEGRITY, f"a process of your code outlived the grader's attempts to stop it "
                                               f"({escaped}); your instructor will review it")
            self.launch = None
        if self.conn is not None:
            self.conn.close()
        self.output.settle()
        if self.copy is not None:
            shutil.rmtree(self.copy, ignore_errors=True)
        self.proc, self.conn, self.copy = None, None, None

    def close(self) -> None:
        self.stop()

    def output_tail(self, lines: int = 15) -> str:
        return self.output.since((0, 0), lines)

    # -- calls -------------------------------------------------------------------------------------
    def _send(self, message: dict, deadline: float) -> None:
        """Send a request; a worker that stops reading cannot hold the judge past ``deadline`` (it counts as hung)."""
        assert self.conn is not None, "a call starts the worker first"
        try:
            wire.send(self.conn, encode(message), deadline)
        except wire.Deadline:
            raise _Crashed from None

    def _receive(self, deadline: float):
        """The next final message, or None at ``deadline``; ``importing`` notes update :attr:`importing`.

        _Invalid for a message longer than ``limits.reply`` (refused from its length, unread) or one that does not
        decode to a dict of plain data; _Crashed when the worker's end closes."""
        assert self.conn is not None, "a call starts the worker first"
        while True:
            try:
                data = wire.receive(self.conn, deadline, self.limits.reply)
            except wire.Deadline:
                return None
            except wire.FrameTooLarge as exc:
                raise _Invalid(f"a reply of {exc.size / 2**20:.0f} MiB, more than the {format_size(self.limits.reply)}"
                               " the grader accepts") from None
            except (EOFError, OSError):
                raise _Crashed from None
            try:
                message = decode(data)
            except Exception as exc:  # noqa: BLE001 - whatever the bytes were, they are not plain data
                raise _Invalid(f"a reply that is not plain data ({type(exc).__name__})") from None
            if not isinstance(message, dict):
                raise _Invalid(f"a reply that is not a message ({type(message).__name__})")
            if message.get("status") == "importing":
                self.importing = str(message.get("module", ""))
                continue
            return message

    def _fire(self, kind: NoteKind, text: str) -> None:
        note = Note(kind, text)
        if note not in self.fired:
            self.fired.append(note)

    def _memory_text(self) -> str:
        return f"ran out of memory (limit {format_size(self.limits.memory)})"

    def _memory_cap(self) -> str:
        text = self._memory_text()
        self._fire(NoteKind.MEMORY, text)
        return text

    def _notes(self, mark) -> tuple[str, ...]:
        if not self.output.cut_since(mark):
            return ()
        text = f"printed more than {format_size(self.limits.output)}; the rest was cut"
        self._fire(NoteKind.OUTPUT, text)
        return (text,)

    def call(self, probe: str, *, timeout: float, **kwargs):
        """Run ``autograder.sandbox.probes.<project>.<probe>(**kwargs)`` in the worker; return its value.

        Raises :class:`StudentError` when the student's code fails, hangs past ``timeout`` seconds (or past what is
        left of the submission's time), kills its process, hits a cap, or returns something that is not plain data.
        """
        if self.import_failure is not None:
            raise self.import_failure
        budget = self.budget
        budget_left = budget.remaining() if budget is not None else float("inf")
        if budget is not None and budget_left <= 0:
            raise StudentError("timeout", f"not graded: the submission used up its "
                                          f"{budget.seconds:g} s of grading time")
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.start()
        limit = min(timeout, budget_left)
        mark = self.output.mark()
        before = (self.cgroup.oom_kills(), self.cgroup.pids_refusals()) if self.cgroup else (0, 0)
        deadline = time.monotonic() + limit
        try:
            self._send({"probe": probe, "kwargs": kwargs}, deadline)
            reply = self._receive(deadline)
        except _Invalid as exc:
            notes = self._notes(mark)
            self.stop()
            raise StudentError("invalid", f"your code sent the grader {exc}",
                               details="Return tensors, numbers, strings, lists or dicts of reasonable size, and "
                                       "never write on the grader's socket.",
                               output=self.output.since(mark), notes=notes) from None
        except (_Crashed, BrokenPipeError, OSError):
            return self._crashed(mark, before)
        if reply is None:
            notes = self._notes(mark)
            self.stop()
            whose = "the submission's remaining time" if limit < timeout else "its time limit"
            raise StudentError(
                "timeout", f"timed out after {limit:g} s ({whose})",
                details="Your code was still running when the time limit passed: look for an infinite loop "
                        "(a while loop whose condition never changes) or far too many epochs.",
                output=self.output.since(mark), notes=notes)
        if self.cgroup is not None and self.cgroup.oom_kills() > before[0]:
            # a process the student's code started was stopped at the memory cap while the call went on: said in
            # the report (a note naming the cap), never silent
            self._fire(NoteKind.MEMORY, f"a process your code started {self._memory_text()} and was stopped by the "
                                        "system")
        if reply.get("integrity") and not self.tripped:
            self.tripped = str(reply["integrity"])[:300]
        if self.tripped:
            raise StudentError(Status.INTEGRITY, integrity.tripwire_verdict(self.project, self.tripped).message())
        if reply.get("status") == "ok":
            return reply.get("value")
        status = Status.from_worker(str(reply.get("kind", "exception")))  # the reply may be forged
        if self.cgroup is not None and self.cgroup.pids_refusals() > before[1]:
            status = Status.PROCESSES
        message, cap = str(reply.get("message", "unknown error")), None
        if status is Status.MEMORY:
            message, cap = f"{self._memory_cap()}: {message}", self.limits.memory
        elif status is Status.PROCESSES:
            text = f"too many processes (limit {self.limits.processes})"
            self._fire(NoteKind.PROCESSES, text)
            message, cap = f"{text}: {message}", self.limits.processes
        elif status is Status.DISK:
            text = f"ran out of disk (limit {format_size(self.limits.disk)})"
            self._fire(NoteKind.DISK, text)
            message, cap = f"{text}: {message}", self.limits.disk
        raise StudentError(status, message, str(reply.get("where", "")), str(reply.get("details", "")),
                           self.output.since(mark), self._notes(mark), str(reply.get("file", "")), limit=cap)

    def _crashed(self, mark, before):
        how, killer = self._exit_code()
        oom = self.cgroup is not None and self.cgroup.oom_kills() > before[0]
        notes = self._notes(mark)
        self.stop()
        output = self.output.since(mark)
        if oom:
            raise StudentError("memory", f"{self._memory_cap()}: the system stopped your code",
                               details="Allocate less: smaller batches, fewer copies of large tensors.",
                               output=output, notes=notes, limit=self.limits.memory)
        if killer == signal.SIGSEGV:
            raise StudentError("crash", f"your code crashed the Python process ({how})",
                               details="A segmentation fault comes from native code (ctypes, a C extension, or "
                                       "unsafe tensor storage tricks), not from plain PyTorch.",
                               output=output, notes=notes)
        raise StudentError("crash", f"your code ended the Python process ({how})",
                           details="Something in your code called exit(), crashed the interpreter, or ran out "
                                   "of memory.", output=output, notes=notes)
