"""autograder/sandbox/procs.py: the one way the kit starts a process group and kills it whole."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from autograder.sandbox import procs
from course.submission import KIT_ROOT

# a parent that starts a child (same process group) which prints its pid, then both sleep
FAMILY = ("import subprocess, sys, time\n"
          "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
          "print(child.pid, flush=True)\n"
          "time.sleep(60)\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by its parent) counts as dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_timeout_kills_the_process_and_what_it_started():
    proc = procs.start([sys.executable, "-c", FAMILY], stdout=subprocess.PIPE, text=True)
    assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)
    child = int(proc.stdout.readline())
    started = time.monotonic()
    _, timed_out = procs.communicate(proc, 1.0)
    assert timed_out and time.monotonic() - started < 30 and proc.returncode is not None
    assert _gone(child), "the child the process started outlived the timeout"


def test_kill_group_and_a_finished_process():
    proc = procs.start([sys.executable, "-c", FAMILY], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    procs.kill_group(proc)
    proc.wait(10)
    assert _gone(child)
    procs.kill_group(proc)  # gone already: nothing happens
    done = procs.start([sys.executable, "-c", "print('ok')"], stdout=subprocess.PIPE, text=True)
    assert procs.communicate(done, 30) == ("ok\n", False)


def test_no_other_module_manages_process_groups():
    offenders = []
    for folder in ("autograder", "course"):
        for path in sorted((KIT_ROOT / folder).rglob("*.py")):
            if path.name == "procs.py":
                continue
            text = path.read_text()
            offenders += [f"{path.relative_to(KIT_ROOT)}: {word}" for word in
                          ("start_new_session", "killpg", "setsid", "setpgid") if word in text]
    assert not offenders, f"start and kill process groups with autograder/sandbox/procs.py: {offenders}"


def test_a_process_that_survives_the_student_uid_s_sweep_is_flagged_integrity(tmp_path):
    """As a student uid (autograder/sandbox/account.py), a worker's stop kills every process of its uid; one that
    survives the sweep is a note with the flag integrity (simulated: the sweep cannot be defeated here)."""
    from autograder.record import Flag
    from autograder.sandbox.judge import Worker

    class Escaped:
        cgroup = None

        def close(self):
            return ["pid 4242 (python -c 'escape')"]

    worker = Worker(tmp_path, "project1")
    worker.launch = Escaped()
    worker.stop()
    assert [(n.kind.flag, "4242" in n.text) for n in worker.fired] == [(Flag.INTEGRITY, True)]
    assert worker.launch is None
