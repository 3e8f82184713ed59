"""Gradescope's container, reproduced on this machine (issue 25): the grader is root, bubblewrap is refused
(``$AUTOGRADER_SIMULATE_NO_USERNS``: Docker's seccomp refuses user namespaces), the cgroup file systems are read-only
(``$AUTOGRADER_SIMULATE_NO_CGROUPS``). A temporary ``/autograder`` holds the real zip (``source/``), a virtual
environment with the kit installed as a regular copy (its ``autograder/``, ``course/`` and RECORD in
site-packages, as setup.sh's ``pip install`` leaves them), and ``run_autograder``'s command runs on it.

One grading of a hostile skeleton (``p1.shapes`` only) runs every attack of the issue's table at once; one test per
row checks its outcome. The bubblewrap row runs the same reading attack with bubblewrap allowed. The reference's
full marks in the simulated container, and a notebook's kernel as a student uid, are ``slow``.

Needs root (the grader switches to a student uid) and a Python of this version that a student uid can read (a
system one: this machine's own may live under a private /root); skipped otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from conftest import sandbox_or_skip

from gradescope_format import validate

from autograder import rubric, thresholds
from autograder.gradescope import CACHE
from autograder.gradescope_build import build
from autograder.sandbox import account
from course.submission import KIT_ROOT

DEMO = KIT_ROOT / "examples" / "class"
TASK = "p1.shapes"
SIMULATED = {account.SIMULATE_NO_USERNS: "1", account.SIMULATE_NO_CGROUPS: "1"}
HOSTILE = ("--withhold", "none")  # the static rules would withhold these files before they run: test the wall itself
VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


def student_python() -> str | None:
    """A Python of this version outside /root (a student uid must be able to run it), or None."""
    for folder in ("/usr/bin", "/usr/local/bin"):
        path = Path(folder) / VERSION
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                       reason="the container's grader is root: it switches to a student uid"),
    pytest.mark.skipif(student_python() is None, reason=f"no system {VERSION} a student uid can run"),
]


@dataclass
class Container:
    root: Path        # Gradescope's /autograder
    python: Path      # its venv's python

    @property
    def kit(self) -> Path:
        return self.root / "source" / "kit"

    @property
    def site(self) -> Path:
        return next((self.root / "venv" / "lib").glob("python*/site-packages"))

    @property
    def home(self) -> Path:
        return self.root / "home"  # the grader's HOME (root's in the container)

    def report_copies(self) -> list[Path]:
        return [self.kit / "autograder" / "report.py", self.site / "autograder" / "report.py"]


def _install(container: Container) -> None:
    """setup.sh's ``pip install /autograder/source/kit``, as files: the packages copied into site-packages, a
    dist-info with a RECORD; the kit's dependencies (torch…) from this environment, through a .pth."""
    site = container.site
    deps = Path(torch.__file__).resolve().parent.parent
    (site / "kit-dependencies.pth").write_text(f"{deps}\n")
    record = []
    for package in ("autograder", "course"):
        shutil.copytree(container.kit / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
        record += [f"{p.relative_to(site)},," for p in sorted((site / package).rglob("*")) if p.is_file()]
    info = site / "dl_miniprojects-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dl-miniprojects\nVersion: 0.1.0\n")
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture(scope="module")
def container(tmp_path_factory) -> Container:
    root = Path(tempfile.mkdtemp(prefix="gradescope-autograder-"))  # under /tmp: a student uid may traverse it
    try:
        os.chmod(root, 0o755)
        with zipfile.ZipFile(build(tmp_path_factory.mktemp("zip") / "autograder.zip")) as z:
            z.extractall(root / "source")
        for folder in (root / "source").rglob("*"):
            os.chmod(folder, 0o755 if folder.is_dir() else 0o644)
        subprocess.run([student_python(), "-m", "venv", "--without-pip", str(root / "venv")], check=True)
        made = Container(root, root / "venv" / "bin" / "python")
        _install(made)
        made.home.mkdir(mode=0o755)
        yield made
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_autograder(container: Container, files: dict[str, str | Path], *, simulate: bool = True,
                   task: str | None = TASK, extra: tuple[str, ...] = (), check: bool = True) -> tuple[dict, str]:
    """The zip's run_autograder (``cd kit; venv/bin/python -m autograder.gradescope``) on ``files``; the results
    and the command's output."""
    submission = container.root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    for rel, content in files.items():
        (submission / rel).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, submission / rel)
        else:
            (submission / rel).write_text(content)
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH")}
    env.update(HOME=str(container.home), **(SIMULATED if simulate else {}))
    command = [str(container.python), "-m", "autograder.gradescope", "--root", str(container.root)]
    done = subprocess.run(command + (["--task", task] if task else []) + list(extra), cwd=container.kit, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((container.root / "results" / "results.json").read_text())
    if check:
        validate(results)
    return results, done.stdout + done.stderr


def skeleton(models: str | None = None) -> dict[str, str | Path]:
    files: dict[str, str | Path] = {f"{p.parent.name}/{p.name}": p for p in sorted((DEMO / "ines").rglob("*.py"))}
    if models is not None:
        files["project1/models.py"] = models + (DEMO / "ines" / "project1" / "models.py").read_text() + SHOW
    return files


# What a student who read the kit would try, at the import of models.py (the worker imports it first). Each part
# is one row of the issue's table; what it read is raised by the nets' forward (SHOW), so the feedback shows it.
ATTACK = '''
import glob, hashlib, io, json, os, time
ROOT, GRADER_HOME = {root!r}, {home!r}


def forge_results():  # row 1: a detached process rewrites results.json once the grader has written it
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            path, end = os.path.join(ROOT, "results", "results.json"), time.time() + 60
            while time.time() < end:
                try:
                    if os.path.exists(path) and b"forged" not in open(path, "rb").read():
                        with open(path, "w") as f:
                            json.dump({{"score": 115.0, "execution_time": 1, "output": "forged", "tests": []}}, f)
                except OSError:
                    pass
                time.sleep(0.05)
        os._exit(0)
    os.wait()


def edit_report():  # row 2: the grader imports autograder/report.py at the very end
    patch = ("\\n_real_score = score\\n\\n\\ndef score(results, selected):\\n    r = _real_score(results, selected)\\n"
             "    for t in r.tasks:\\n        t.points = t.max_points\\n    r.score = r.max_score\\n    return r\\n")
    for path in glob.glob(ROOT + "/source/kit/autograder/report.py") + glob.glob(
            ROOT + "/venv/lib/python*/site-packages/autograder/report.py"):
        try:
            with open(path, "a") as f:
                f.write(patch)
        except OSError:
            pass


def read_hidden():  # row 3 (and 5): the hidden tests and the hidden seed, from any copy of the kit
    found = []
    paths = []
    for kit in (ROOT + "/source/kit", ROOT + "/venv/lib/python*/site-packages"):
        paths += glob.glob(kit + "/autograder/suite/*.py") + glob.glob(kit + "/autograder/thresholds.py")
    paths += glob.glob(ROOT + "/venv/lib/python*/site-packages/dl_miniprojects*/RECORD")
    try:
        import importlib.util
        for name in ("autograder.thresholds", "autograder.suite.test_project1"):
            spec = importlib.util.find_spec(name)
            if spec and spec.origin:
                paths.append(spec.origin)
    except Exception:
        pass
    for path in paths:
        try:
            text = open(path).read()
        except OSError:
            continue
        found += [line.strip() for line in text.splitlines()
                  if "HIDDEN_SEED =" in line or line.startswith("def test_hidden") or "suite/test_project1" in line]
    return found


def forge_mnist():  # row 4: digits that encode their labels, where the grader caches MNIST
    import numpy as np
    from course import data
    try:
        key = hashlib.sha1(data._bundled_csv().read_bytes()).hexdigest()[:16]
    except Exception:  # MNIST is not readable here (masked in bubblewrap): the key is public anyway
        key = "{mnist_key}"
    labels = (np.arange(5000) % 10).astype(np.int64)
    images = np.repeat(np.repeat((labels * 25).astype(np.uint8)[:, None, None], 28, 1), 28, 2)
    buffer = io.BytesIO()
    np.savez(buffer, images=images, labels=labels, forged=np.array(1))
    for folder in (os.path.expanduser("~/.cache/dl-miniprojects"), GRADER_HOME + "/.cache/dl-miniprojects",
                   ROOT + "/{cache}/dl-miniprojects"):
        try:
            os.makedirs(folder, exist_ok=True)
            with open(folder + "/mnist_5k-" + key + ".npz", "wb") as f:
                f.write(buffer.getvalue())
        except OSError:
            pass


forge_results()
edit_report()
forge_mnist()
_found = read_hidden()
LEAK = "LEAKED " + str(len(_found)) + ": " + " | ".join(_found[:12])
'''
# after the skeleton: the nets' forward (p1.shapes calls it, after the grader has loaded its pairs) shows the leak
SHOW = '''
import torch

def _leaky_init(self, *args, **kwargs):
    torch.nn.Module.__init__(self)


def _leaky_forward(self, x):
    raise RuntimeError(LEAK)


for _net in (BaselineNet, SiameseNet, AuxiliaryNet):
    _net.__init__, _net.forward = _leaky_init, _leaky_forward
'''


def attack(container: Container) -> str:
    from course import data  # the cache key of the bundled MNIST: a public file's hash, which a student can know

    key = hashlib.sha1(data._bundled_csv().read_bytes()).hexdigest()[:16]
    return ATTACK.format(root=str(container.root), home=str(container.home), cache=CACHE, mnist_key=key)


def digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def leaks(text: str) -> list[str]:
    """What of the hidden material a results text shows."""
    secrets = [f"P1_HIDDEN_SEED = {thresholds.P1_HIDDEN_SEED}", "def test_hidden_", "suite/test_project1"]
    return [s for s in secrets if s in text]


def student_processes() -> list[int]:
    return [pid for uid in range(account.BASE_UID, account.BASE_UID + account.COUNT)
            for pid in account.live_processes(uid)]


@pytest.fixture(scope="module")
def hostile(container):
    """One grading of the skeleton with every attack in models.py, in the simulated container."""
    before = digest(container.report_copies())
    results, output = run_autograder(container, skeleton(attack(container)), extra=HOSTILE, check=False)
    time.sleep(2)  # the forger polls every 0.05 s: it would have struck by now
    after = json.loads((container.root / "results" / "results.json").read_text())
    return {"results": results, "after": after, "output": output, "before": before,
            "text": json.dumps(results)}


def test_student_code_runs_as_a_student_uid(container):
    env = {**os.environ, **SIMULATED}
    done = subprocess.run([str(container.python), "-m", "autograder", "check", "--sandbox-info"], cwd=container.kit,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "isolation: UNPRIVILEGED USER" in done.stdout and "simulated" in done.stdout, done.stdout


def test_row1_a_detached_process_cannot_rewrite_results(hostile, container):
    assert "LEAKED" in hostile["text"]  # the attack ran
    assert hostile["results"]["score"] == 0 and hostile["after"]["score"] == 0  # the skeleton's own score
    assert "forged" not in json.dumps(hostile["after"])
    validate(hostile["after"])
    assert student_processes() == []  # every process of the student uids was gone before results.json
    st = os.stat(container.root / "results" / "results.json")
    assert st.st_uid == 0 and os.stat(container.root / "results").st_mode & 0o022 == 0


def test_row2_the_grader_s_own_files_cannot_be_edited(hostile, container):
    assert digest(container.report_copies()) == hostile["before"]
    assert hostile["results"]["score"] == 0


def test_row3_the_hidden_tests_cannot_be_read_on_gradescope(hostile):
    assert "LEAKED 0:" in hostile["text"], hostile["text"][:3000]
    assert leaks(hostile["text"]) == []


def test_row4_the_grader_s_mnist_cache_cannot_be_forged(hostile, container):
    import numpy as np

    caches = list((container.home / ".cache" / "dl-miniprojects").glob("*.npz"))
    caches += list((container.root / CACHE).rglob("*.npz"))
    assert caches, "the grader cached MNIST somewhere"
    for path in caches:
        with np.load(path) as z:
            assert "forged" not in z.files, path
    grader_cache = container.root / CACHE
    assert os.stat(grader_cache).st_mode & 0o777 == 0o700 and list(grader_cache.rglob("*.npz"))


def test_row5_the_installed_kit_is_masked_in_bubblewrap(container):
    sandbox_or_skip()
    results, _ = run_autograder(container, skeleton(attack(container)), simulate=False, extra=HOSTILE)
    text = json.dumps(results)
    assert "LEAKED 0:" in text, text[:3000]
    assert leaks(text) == []


def test_the_sweep_kills_a_detached_process_of_a_student_uid():
    claimed = account.claim()
    try:
        sleeper = subprocess.Popen(["/bin/sh", "-c", "(setsid sleep 600 &) ; exit 0"],
                                   preexec_fn=account.demote(claimed, memory=2**30, processes=16, disk=2**20,
                                                             cpu_seconds=60))
        sleeper.wait()
        deadline = time.monotonic() + 5
        while not account.live_processes(claimed.uid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert account.live_processes(claimed.uid), "the detached sleep runs as the student uid"
    finally:
        assert claimed.release() == []
    assert account.live_processes(claimed.uid) == []


@pytest.mark.slow
def test_the_reference_gets_100_and_every_bonus_in_the_container(container):
    files = {f"{p.parent.name}/{p.name}": p for p in sorted((DEMO / "ada").rglob("*.py"))}
    results, _ = run_autograder(container, files, task=None)
    assert results["score"] == rubric.core_total() + rubric.bonus_total(), \
        [(t["name"], t["output"][:300]) for t in results["tests"] if t["status"] == "failed"]


NOTEBOOK = '''
import sys
import nbformat
from autograder.notebooks.execute import SandboxedExecute
cell = ("import os, subprocess\\nprint('uid', os.getuid(), os.environ.get('AUTOGRADER_DATA_SEED'))\\n"
        "subprocess.Popen(['sleep', '300'], start_new_session=True)")
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
out, _ = SandboxedExecute(sandbox="auto", timeout=60).preprocess(nb, {"metadata": {"path": sys.argv[1]}})
print([o.get("text") for c in out.cells for o in c.outputs if o.get("text")])
'''


@pytest.mark.slow
def test_a_notebook_s_kernel_runs_as_a_student_uid(container, tmp_path):
    folder = container.root / "notebook"
    folder.mkdir(exist_ok=True)
    env = {**os.environ, **SIMULATED, "AUTOGRADER_DATA_SEED": "4242"}
    done = subprocess.run([str(container.python), "-c", NOTEBOOK, str(folder)], cwd=container.kit, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    uid = int(done.stdout.split("uid ")[1].split()[0])
    assert account.BASE_UID <= uid < account.BASE_UID + account.COUNT and "4242" not in done.stdout, done.stdout
    assert student_processes() == []  # the detached sleep went with the kernel
