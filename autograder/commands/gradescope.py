"""Build a Gradescope autograder (a zip to upload in the assignment's "Configure Autograder" page).

  autograder gradescope                          writes autograder.zip
  autograder gradescope --out course/ag.zip

The zip holds `setup.sh` (installs Python, bubblewrap, the pinned CPU wheel of torch and the kit), `run_autograder`
(grades /autograder/submission with the whole suite and writes /autograder/results/results.json: one test per task,
hidden tasks visible after publication, the benchmark leaderboard) and the kit itself, hidden tests included: keep
the zip private. Students may upload their project folders or the files alone.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

from course import versions
from course.files import atomic_write
from course.handin import tree_files
from course.submission import KIT_ROOT

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image: Python, bubblewrap, torch, the kit.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip bubblewrap > /dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q --upgrade pip
# the CPU wheel, pinned: a looser requirement pulls several GB of CUDA packages
/autograder/venv/bin/pip install -q torch=={{ torch_version }} --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install -q /autograder/source/kit
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write /autograder/results/results.json.
cd /autograder/source/kit
exec /autograder/venv/bin/python -m autograder.gradescope --root /autograder
"""

KIT_TREES = ("course", "autograder")
KIT_FILES = ("pyproject.toml", "README.md", "LICENSE")


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="autograder.zip", help="the zip to write (default autograder.zip)")


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
        for name, text in (("setup.sh", versions.render(SETUP)), ("run_autograder", RUN)):
            info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
        for path, name in _kit_files():
            z.write(path, name)
    return atomic_write(out, buffer.getvalue())


def run(args) -> int:
    path = build(Path(args.out).expanduser())
    size = os.path.getsize(path)
    print(f"wrote {path} ({size / 1e6:.1f} MB): upload it in Gradescope's Configure Autograder page. It holds the "
          "hidden tests: keep it private.")
    return 0
