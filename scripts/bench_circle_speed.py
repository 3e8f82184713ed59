"""Training time of the circle network: the from-scratch framework vs the identical torch.nn + autograd run.

A thin command-line wrapper around ``course/project2/speed.py`` (the one home of the comparison: same network,
same initial weights, same mini-batches in the same order, same optimiser, same bookkeeping) for a quick look
without pytest. The kit's benchmarks (``python -m pytest benchmarks --benchmark-only``, see
``benchmarks/README.md``) are the reference measurement; this script interleaves the two sides epoch by epoch,
``--rounds`` times, and prints each side's best epoch, their ratio, and the median of the per-round ratios.

    python scripts/bench_circle_speed.py [--batch-size 1 10 100 1000] [--optimizer sgd] [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics

import torch

from course.project2 import speed
from course.submission import load_module


def compare(fw, problem, batch_size: int, optimizer: str, rounds: int, activation: str) -> dict:
    """Interleaved epochs of both sides (one warm-up epoch each, untimed): best epochs (s) and the ratios."""
    scratch = speed.ScratchCircle(fw, problem, batch_size, optimizer, activation=activation)
    reference = speed.TorchCircle(problem, batch_size, optimizer, activation=activation)
    measured = speed.interleaved({"scratch": scratch.epoch, "torch": reference.epoch}, min_rounds=rounds,
                                 max_rounds=rounds)
    times = measured["times"]
    ratios = [s / t for s, t in zip(times["scratch"], times["torch"])]
    return {"scratch": min(times["scratch"]), "torch": min(times["torch"]),
            "ratio": min(times["scratch"]) / min(times["torch"]), "median_ratio": statistics.median(ratios),
            "losses": (scratch.epoch(), reference.epoch())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, nargs="+", default=list(speed.BATCH_SIZES))
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved epochs per side (default 15)")
    parser.add_argument("--activation", choices=("relu", "tanh"), default=speed.ACTIVATION,
                        help=f"the hidden layers' activation (default {speed.ACTIVATION}, as the benchmarks)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for both sides (default 1)")
    parser.add_argument("--impl", default="solutions", help="the framework's folder (default solutions)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    fw = load_module(args.impl, "project2", "framework")
    problem = speed.circle_problem(args.seed, epochs=5)
    print(f"circle network {'-'.join(map(str, speed.LAYERS))} ({args.activation}, MSE), {len(problem.x)} points, "
          f"{args.optimizer}, torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.rounds} "
          f"interleaved epochs per side, timed with time.{speed.default_timer()[0]}")
    print(f"{'batch':>6} {'scratch (ms/epoch)':>19} {'torch.nn (ms/epoch)':>20} {'ratio':>6} {'ratio of medians':>17}"
          f"   last epoch's loss, scratch vs torch")
    for batch_size in args.batch_size:
        r = compare(fw, problem, batch_size, args.optimizer, args.rounds, args.activation)
        print(f"{batch_size:>6} {1e3 * r['scratch']:>19.2f} {1e3 * r['torch']:>20.2f} {r['ratio']:>6.2f} "
              f"{r['median_ratio']:>17.2f}   {r['losses'][0]:.6f} vs {r['losses'][1]:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
