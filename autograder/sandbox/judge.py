"""The judge's side of the wall between the grader and the student's code.

Student code never runs in the grading (pytest) process. Each project of a submission gets a *worker*: a
separate Python process (``python -m autograder.sandbox.worker``) that imports the student's files and runs
*probes* (``autograder.sandbox.probes``) on inputs the judge sends. What comes back is decoded with
``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts only — no object of the
student's can run code in the judge. The judge computes every expected value itself, asserts, and records
points; a worker that hangs is killed after the call's time limit, one that dies is restarted for the next
call.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from autograder.sandbox.wire import decode, encode


class StudentError(Exception):
    """The student's code failed inside the worker.

    ``kind`` is ``not_implemented``, ``import``, ``exception``, ``timeout``, ``crash`` or ``invalid``;
    ``where`` names the student's file and line when known; ``details`` is the trimmed traceback.
    """

    def __init__(self, kind: str, message: str, where: str = "", details: str = "", output: str = ""):
        super().__init__(message)
        self.kind, self.message, self.where, self.details, self.output = kind, message, where, details, output


class Worker:
    """One worker process for one project of one submission, started on first use."""

    def __init__(self, root: str | Path, project: str, *, threads: int | None = 1):
        self.root, self.project = str(Path(root).resolve()), project
        self.threads = threads
        self.proc: subprocess.Popen | None = None
        self.conn: Connection | None = None
        self.log = tempfile.NamedTemporaryFile(prefix=f"worker-{project}-", suffix=".log", delete=False)

    # -- process management ------------------------------------------------------------------------
    def start(self) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
        if self.threads:
            env["OMP_NUM_THREADS"] = str(self.threads)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.sandbox.worker", str(child.fileno()), self.root, self.project],
            pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            cwd=str(Path(self.root) / self.project) if (Path(self.root) / self.project).is_dir() else self.root,
            env=env, start_new_session=True,
        )
        child.close()
        self.conn = Connection(parent.detach())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait()
        if self.conn is not None:
            self.conn.close()
        self.proc, self.conn = None, None

    def close(self) -> None:
        self.stop()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def output_tail(self, lines: int = 15) -> str:
        try:
            text = Path(self.log.name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- calls -------------------------------------------------------------------------------------
    def call(self, probe: str, *, timeout: float, **kwargs):
        """Run ``autograder.sandbox.probes.<project>.<probe>(**kwargs)`` in the worker; return its value.

        Raises :class:`StudentError` when the student's code fails, hangs past ``timeout`` seconds, kills
        its process, or returns something that is not plain data.
        """
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.start()
        try:
            self.conn.send_bytes(encode({"probe": probe, "kwargs": kwargs}))
        except (BrokenPipeError, OSError):
            return self._crashed()
        started = time.monotonic()
        if not self.conn.poll(timeout):
            self.stop()
            raise StudentError(
                "timeout", f"timed out after {timeout:g} s",
                details="Your code was still running when the time limit passed: look for an infinite loop "
                        "(a while loop whose condition never changes) or far too many epochs.",
                output=self.output_tail())
        try:
            data = self.conn.recv_bytes()
        except (EOFError, OSError):
            return self._crashed()
        try:
            reply = decode(data)
        except Exception as exc:  # noqa: BLE001 - anything that is not plain data is refused
            raise StudentError("invalid", f"the worker returned something that is not plain data ({exc})") from None
        reply.setdefault("seconds", time.monotonic() - started)
        if reply.get("status") == "ok":
            return reply.get("value")
        raise StudentError(reply.get("kind", "exception"), reply.get("message", "unknown error"),
                           reply.get("where", ""), reply.get("details", ""), self.output_tail())

    def _crashed(self):
        code = self.proc.wait() if self.proc is not None else None
        self.stop()
        raise StudentError("crash", f"your code ended the Python process (exit code {code})",
                           details="Something in your code called exit(), crashed the interpreter, or ran out "
                                   "of memory.", output=self.output_tail())
