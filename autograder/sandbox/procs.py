"""Processes in a session (and process group) of their own: started so, waited for with a limit, killed as a whole.

Every process the kit starts on student code — a worker, a notebook's execution, a whole grading process — runs in a
new session, so that one signal to its process group stops it and everything it started that stayed in the group
(the cgroup, where there is one, catches the rest: see :mod:`.cgroups`).
"""

from __future__ import annotations

import os
import signal
import subprocess


def start(command: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(command, **kwargs)`` in a new session: the process leads a process group of its own."""
    return subprocess.Popen(command, start_new_session=True, **kwargs)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``'s process group, without waiting; the process alone where the group is out of reach, and
    nothing when it is gone."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except OSError:
            pass


def communicate(proc: subprocess.Popen, timeout: float):
    """``(output, timed_out)``: ``proc``'s output once it ends, or once its group is killed at ``timeout`` seconds."""
    try:
        output, _ = proc.communicate(timeout=timeout)
        return output, False
    except subprocess.TimeoutExpired:
        kill_group(proc)
        output, _ = proc.communicate()
        return output, True
