"""Time `autograder similarity` on a generated class of N submissions (default 100).

    python scripts/similarity_scale.py [--students 100]

The class: variations of the reference and of the plain fixture (project 1) and of the reference framework
(project 2), each with its names renamed at random, a few near-copies among them, and some untouched skeletons;
the notebooks come along as the students hand them in. Prints the wall time of the comparison alone and the pairs
flagged.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT))

from autograder.batch import intake  # noqa: E402
from autograder.batch.similarity import compare  # noqa: E402

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "lam"]


def rename(text: str, rng: random.Random) -> str:
    names = sorted(set(re.findall(r"\b([a-z_][a-z0-9_]{3,})\s*=", text)))
    for name in rng.sample(names, k=len(names) // 2):
        text = re.sub(rf"\b{name}\b", f"{name}_{rng.choice(WORDS)}", text)
    return text


def build(root: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    sources = {"project1": [KIT / "solutions", KIT / "tests" / "fixtures" / "plain"], "project2": [KIT / "solutions"]}
    for i in range(n):
        student = root / f"student{i:03d}"
        for project, options in sources.items():
            source = KIT / "assignments" if i % 10 == 9 else rng.choice(options)
            shutil.copytree(source / project, student / project, ignore=shutil.ignore_patterns("__pycache__", "*.md"))
            for path in (student / project).glob("*.py"):
                path.write_text(rename(path.read_text(), rng))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "class"
        build(root, args.students)
        entries = intake.collect(root, Path(tmp) / "staging")
        start = time.perf_counter()
        pairs = compare(entries, Path(tmp) / "out")
        seconds = time.perf_counter() - start
    print(f"{args.students} submissions, {len(pairs)} pairs compared in {seconds:.1f} s; "
          f"{sum(p.flagged for p in pairs)} flagged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
