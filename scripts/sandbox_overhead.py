"""The sandbox's cost on grading: `autograder check solutions --all` with and without bubblewrap, interleaved.

    python scripts/sandbox_overhead.py [--repeats 5] [--path solutions] [--task p1,p2]

Prints every run's wall time, the median of each and the median of the per-pair ratios (sandboxed / not).
Interleaving the two keeps a busy machine from favouring one of them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def one(path: str, task: str | None, sandbox: bool) -> float:
    command = [sys.executable, "-m", "autograder.cli", "check", path, "--all"]
    if task:
        command += ["--task", task]
    if not sandbox:
        command.append("--no-sandbox")
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or "Total: 100 / 100" not in done.stdout and not task:
        sys.exit(f"grading failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--path", default="solutions")
    parser.add_argument("--task", default=None)
    args = parser.parse_args(argv)
    pairs = []
    for r in range(args.repeats):
        on, off = one(args.path, args.task, True), one(args.path, args.task, False)
        pairs.append((on, off))
        print(f"run {r + 1}: sandboxed {on:.1f} s, not sandboxed {off:.1f} s, ratio {on / off:.3f}", flush=True)
    ons, offs = [p[0] for p in pairs], [p[1] for p in pairs]
    ratio = statistics.median(on / off for on, off in pairs)
    print(f"median: sandboxed {statistics.median(ons):.1f} s, not sandboxed {statistics.median(offs):.1f} s; "
          f"median ratio {ratio:.3f} (overhead {100 * (ratio - 1):+.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
