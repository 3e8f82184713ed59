"""The caps on one worker (one project of one submission), each with a flag and a default.

============================  ================  =============================================================
cap                           default           enforced by
============================  ================  =============================================================
memory                        4 GiB             a private cgroup (v2 ``memory.max``, v1 ``memory.limit_in_bytes``)
                                                where the grader may create one, else ``RLIMIT_DATA``
processes (and threads)       64                the cgroup's ``pids.max``, else ``RLIMIT_NPROC``
compute threads               1                 ``torch.set_num_threads`` and ``OMP_NUM_THREADS``
output kept                   1 MB              the judge reads the worker's output and keeps the first 1 MB
private ``/tmp``              256 MiB           a size-capped tmpfs (bubblewrap ``--size``)
disk (the project's copy)     256 MiB           the copy lives in a tmpfs of the files handed in plus this cap
one reply of the worker       64 MiB            the judge reads a reply's length first and refuses a longer one
one call (per task)           the task's limit  the judge kills the worker
importing the student's files 30 s              the judge kills the worker; the project's tasks all fail at once
the whole submission          900 s             the judge refuses further calls
============================  ================  =============================================================

Time limits are multiplied by ``--limit-scale``. Each cap that fires is named in the feedback of the task it hit.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
         "g": 2**30, "gb": 2**30, "gib": 2**30}


def parse_size(text: str | int) -> int:
    """``"4G"``, ``"512M"``, ``"1MiB"``, ``1048576`` → bytes; a ValueError says what is accepted."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not match or match.group(2).lower() not in UNITS:
        raise ValueError(f"{text!r} is not a size; write e.g. 4G, 512M or 1048576 (bytes)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def format_size(n: int) -> str:
    """4294967296 → ``"4 GiB"``, 1000000 → ``"1 MB"`` (the unit a person would write)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class Limits:
    memory: int = 4 * 2**30          # bytes
    processes: int = 64              # processes and threads of the worker, together
    threads: int = 1                 # compute threads of PyTorch / OpenMP
    output: int = 10**6              # bytes of the worker's output kept
    tmp: int = 256 * 2**20           # bytes of the private /tmp
    disk: int = 256 * 2**20          # bytes the worker may write into its copy of the project, beyond the copy
    reply: int = 64 * 2**20          # bytes of one message from the worker
    import_seconds: float = 30.0     # importing the student's files of one project
    startup_seconds: float = 120.0   # the worker's own start (Python and torch), not charged to the student
    submission_seconds: float = 900.0  # every call of the submission together

    def scaled(self, factor: float) -> Limits:
        """The same caps with every time limit multiplied by ``factor`` (``--limit-scale``)."""
        return Limits(**{**asdict(self), "import_seconds": self.import_seconds * factor,
                         "startup_seconds": self.startup_seconds * factor,
                         "submission_seconds": self.submission_seconds * factor})

    def as_args(self) -> list[str]:
        """The pytest options that carry these caps from a command to the grading process."""
        return ["--memory", str(self.memory), "--max-processes", str(self.processes), "--threads", str(self.threads),
                "--max-output", str(self.output), "--tmp-size", str(self.tmp),
                "--disk-size", str(self.disk), "--max-reply", str(self.reply),
                "--import-limit", f"{self.import_seconds:g}", "--submission-limit", f"{self.submission_seconds:g}"]

    def describe(self) -> list[str]:
        return [f"memory {format_size(self.memory)}", f"processes {self.processes}", f"threads {self.threads}",
                f"output kept {format_size(self.output)}", f"/tmp {format_size(self.tmp)}",
                f"disk {format_size(self.disk)}", f"reply {format_size(self.reply)}",
                f"import {self.import_seconds:g} s", f"submission {self.submission_seconds:g} s"]


# the outer time limits, past which a grading process (or one of its tests) is killed from outside: a backstop
# behind the judge's own limits (each call's, the import's, the submission's), never the limit a student meets
WORKERS = 2                 # one worker per project
PROCESS_MARGIN = 120.0      # seconds for the grading process itself (pytest, collection, the report)
TEST_MARGIN = 60.0
CALLS_PER_TEST = 4          # a test makes a few calls, each within the task's limit


def process_timeout(limits: Limits, scale: float = 1.0) -> float:
    """Seconds a whole grading process (one submission, every task) may run before its command kills it: the
    submission's calls, each worker's start and import, and a margin; every time limit scaled by ``scale``
    (``--limit-scale``). Used by ``autograder grade`` (here and on Dask) and Gradescope's ``run_autograder``."""
    return (limits.submission_seconds + WORKERS * (limits.startup_seconds + limits.import_seconds)) * scale \
        + PROCESS_MARGIN


def cpu_seconds(limits: Limits) -> float:
    """The CPU time one process of a student uid may use (``RLIMIT_CPU`` where no namespace can bound it): the
    submission's time, a worker's start and an import."""
    return limits.submission_seconds + limits.startup_seconds + limits.import_seconds


def task_timeout(limits: Limits, task_limit: float, scale: float = 1.0) -> float:
    """Seconds one grading test may run before pytest-timeout stops it: a few calls within the task's limit
    (``task_limit``), plus a worker's start and import, and a margin; scaled by ``scale``."""
    return (CALLS_PER_TEST * task_limit + limits.startup_seconds + limits.import_seconds) * scale + TEST_MARGIN


def add_limit_options(add) -> None:
    """The cap options; ``add`` is pytest's ``group.addoption`` (the plugin) or argparse's ``add_argument`` (the
    ``autograder`` commands), which take the same arguments."""
    d = Limits()
    add("--memory", default=str(d.memory), help=f"memory cap per worker (default {format_size(d.memory)})")
    add("--max-processes", type=int, default=d.processes,
                    help=f"processes and threads per worker (default {d.processes})")
    add("--threads", type=int, default=d.threads, help=f"PyTorch compute threads per worker "
                    f"(default {d.threads})")
    add("--max-output", default=str(d.output), help=f"output of a worker kept in the feedback "
                    f"(default {format_size(d.output)}; the rest is cut)")
    add("--tmp-size", default=str(d.tmp), help=f"size of the worker's private /tmp "
                    f"(default {format_size(d.tmp)})")
    add("--disk-size", default=str(d.disk), help=f"what a worker may write into its copy of the project "
                    f"(default {format_size(d.disk)})")
    add("--max-reply", default=str(d.reply), help=f"largest message a worker may send back "
                    f"(default {format_size(d.reply)})")
    add("--import-limit", type=float, default=d.import_seconds,
                    help=f"seconds to import a project's files (default {d.import_seconds:g})")
    add("--submission-limit", type=float, default=d.submission_seconds,
                    help=f"seconds for all calls of one submission (default {d.submission_seconds:g})")


def limits_from(get) -> Limits:
    """The :class:`Limits` of parsed options; ``get(name)`` returns an option's value (``--max-output`` →
    ``get("max_output")``). A bad size is a ValueError naming the option."""
    sizes = {}
    for name, option in (("memory", "memory"), ("output", "max_output"), ("tmp", "tmp_size"),
                         ("disk", "disk_size"), ("reply", "max_reply")):
        try:
            sizes[name] = parse_size(get(option))
        except ValueError as exc:
            raise ValueError(f"--{option.replace('_', '-')}: {exc}") from None
    return Limits(memory=sizes["memory"], processes=int(get("max_processes")), threads=int(get("threads")),
                  output=sizes["output"], tmp=sizes["tmp"], disk=sizes["disk"], reply=sizes["reply"],
                  import_seconds=float(get("import_limit")),
                  submission_seconds=float(get("submission_limit")))
