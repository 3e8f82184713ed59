"""The Gradescope autograder: a zip to upload in the assignment's "Configure Autograder" page (``autograder
gradescope`` builds it; :mod:`autograder.gradescope` is what it runs there).

The zip holds `setup.sh` (installs Python, bubblewrap, the pinned CPU wheel of torch and the kit), `run_autograder`
(grades /autograder/submission with the whole suite and writes /autograder/results/results.json: one test per task,
hidden tasks visible after publication, the benchmark leaderboard) and the kit itself, hidden tests included: keep
the zip private. Students may upload their project folders or the files alone.
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

from course import versions
from course.files import atomic_write
from course.handin import tree_files
from course.submission import KIT_ROOT

GRADESCOPE = "/autograder"            # Gradescope's folder: source/, submission/, results/
VENV = f"{GRADESCOPE}/venv"
KIT = f"{GRADESCOPE}/source/kit"      # where the zip's kit/ lands
TORCH = f"torch=={versions.TORCH}"     # the CPU wheel, pinned: a looser requirement pulls CUDA packages
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"

KIT_TREES = ("course", "autograder")
KIT_FILES = ("pyproject.toml", "README.md", "LICENSE")


def scripts() -> dict[str, str]:
    """The zip's two scripts, ``setup.sh`` and ``run_autograder``, rendered from their templates."""
    from autograder.templating import render

    values = {"venv": VENV, "pip": f"{VENV}/bin/pip", "python": f"{VENV}/bin/python", "kit": KIT, "root": GRADESCOPE,
              "torch": TORCH, "torch_index": TORCH_INDEX}
    return {"setup.sh": render("setup.sh.j2", **values), "run_autograder": render("run_autograder.j2", **values)}


def _kit_files():
    for tree in KIT_TREES:
        for rel in tree_files(KIT_ROOT / tree):
            yield KIT_ROOT / tree / rel, f"kit/{tree}/{rel}"
    for name in KIT_FILES:
        if (KIT_ROOT / name).is_file():
            yield KIT_ROOT / name, f"kit/{name}"


def build(out: Path) -> Path:
    """Write the autograder zip to ``out`` (atomically); returns its path."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in scripts().items():
            info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
        for path, name in _kit_files():
            z.write(path, name)
    return atomic_write(out, buffer.getvalue())

