"""Throughput of `autograder grade --dask` with 1 and with 2 Dask worker processes (issue 13's scaling goal).

    python scripts/dask_scaling.py [--class examples/class] [--workers 1 2]

For each worker count: a fresh `LocalCluster` (worker processes of one thread each, the set-up
docs/batch-grading.md describes), then `autograder grade CLASS --dask ADDRESS --regrade` into a fresh output
folder. Prints the wall time, the submissions per minute and the speed-up over the first count, and checks the
grades are the same at every count.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent


def grade(folder: Path, address: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out), "--dask", address,
                    "--regrade", "--no-progress"], check=True, cwd=KIT)
    return time.perf_counter() - started


def grades(out: Path) -> dict[str, str]:
    with open(out / "grades.csv", newline="") as f:
        return {row["student_id"]: row["raw_score"] for row in csv.DictReader(f) if "unusable" not in row["flags"]}


def main() -> int:
    from distributed import LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class", dest="folder", default=str(KIT / "examples" / "class"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    folder = Path(args.folder)
    rows = []
    with tempfile.TemporaryDirectory(prefix="dask-scaling-") as tmp:
        for n in args.workers:
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                out = Path(tmp) / f"out-{n}"
                wall = grade(folder, cluster.scheduler_address, out)
            graded = len(grades(out))
            rows.append((n, wall, graded, grades(out)))
    base = rows[0][2] / rows[0][1]
    for n, wall, graded, _ in rows:
        rate = graded / wall
        print(f"{n} worker(s): {graded} submissions in {wall:.0f} s = {60 * rate:.2f} per minute, "
              f"{rate / base:.2f}x the first")
    same = all(r[3] == rows[0][3] for r in rows)
    print("grades identical at every worker count" if same else "GRADES DIFFER between worker counts")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
