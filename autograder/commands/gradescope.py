"""Build a Gradescope autograder (a zip to upload in the assignment's "Configure Autograder" page).

  autograder gradescope                          writes autograder.zip
  autograder gradescope --out course/ag.zip

The zip holds `setup.sh` (installs Python, bubblewrap, the CPU wheel of torch and the kit), `run_autograder`
(grades /autograder/submission with the whole suite and writes /autograder/results/results.json) and the kit itself,
hidden tests included: keep the zip private (:mod:`autograder.gradescope_build`).
"""

from __future__ import annotations

import os
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="autograder.zip", help="the zip to write (default autograder.zip)")


def run(args) -> int:
    from autograder.gradescope_build import build

    path = build(Path(args.out).expanduser())
    size = os.path.getsize(path)
    print(f"wrote {path} ({size / 1e6:.1f} MB): upload it in Gradescope's Configure Autograder page. It holds the "
          "hidden tests: keep it private.")
    return 0
