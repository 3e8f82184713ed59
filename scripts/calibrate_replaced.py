"""Measure honest nets' test accuracy with their trained parameters shuffled (thresholds.P1_REPLACED_LIMIT).

Trains each net of each implementation by the kit's protocol (the ``train_kit`` probe, as the suite calls it) and
prints its accuracy and its accuracy with every parameter tensor's entries permuted (the probe's ``scrambled``:
the lowest over its draws, as the suite counts it, and the highest single draw), per seed, and the worst case:

    python scripts/calibrate_replaced.py --seeds 3                       # reference, plain, the family
    python scripts/calibrate_replaced.py --seeds 1 --impl mine=path/to/submission
    python scripts/calibrate_replaced.py --seeds 1 --student        # the student's own train_model instead
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT))

from autograder import thresholds  # noqa: E402
from autograder.integrity import perturb  # noqa: E402
from autograder.sandbox.judge import Worker  # noqa: E402
from course.data import BUNDLED, generate_pair_sets  # noqa: E402

FIRST_SEED = 1000


def impls() -> dict[str, Path]:
    found = {"solutions": KIT / "solutions", "plain": KIT / "tests" / "fixtures" / "plain"}
    for design in sorted((KIT / "tests" / "fixtures" / "family").iterdir()):
        if (design / "project1").is_dir():
            found[f"family/{design.name}"] = design
    return found


def runs(impl: Path, seed: int, student: bool = False) -> dict[str, tuple[float, float, float]]:
    cfg = thresholds.P1
    train_input, train_target, train_classes, test_input, test_target, _ = generate_pair_sets(
        cfg["pairs"], seed=seed, data_dir=BUNDLED)
    test_input = perturb(test_input, seed)
    out = {}
    worker = Worker(impl, "project1")
    try:
        for net in ("aux",) if student else ("baseline", "siamese", "aux"):
            data = dict(net=net, train_input=train_input, train_target=train_target, train_classes=train_classes,
                        test_input=test_input, seed=seed)
            if student:  # the student's own train_model, as p1.train_model calls it
                got = worker.call("train_student", timeout=900, **data, epochs=cfg["train_model_epochs"])
                got = {**got["test"], "scrambled": got["scrambled"]}
                net = "train_model"
            else:
                got = worker.call("train_kit", timeout=600, **data, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                                  lr=cfg["lr"], aux_weight=cfg["aux_weight"])
            out[net] = (float((got["target"] == test_target).double().mean()),
                        min(float((draw == test_target).double().mean()) for draw in got["scrambled"]),
                        max(float((draw == test_target).double().mean()) for draw in got["scrambled"]))
    finally:
        worker.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--impl", action="append", default=[], help="NAME=PATH (PATH holds project1/)")
    parser.add_argument("--student", action="store_true", help="the student's own train_model (p1.train_model) "
                                                                "instead of the kit's protocol")
    args = parser.parse_args()
    chosen = dict(item.split("=", 1) for item in args.impl) if args.impl else impls()
    jobs = [(name, Path(path), FIRST_SEED + k) for name, path in chosen.items() for k in range(args.seeds)]
    worst = worst_single = 0.0
    with ThreadPoolExecutor(args.jobs) as pool:
        for (name, _, seed), result in zip(jobs, pool.map(lambda job: runs(job[1], job[2], args.student), jobs)):
            for net, (trained, shuffled, single) in result.items():
                worst, worst_single = max(worst, shuffled), max(worst_single, single)
                print(f"{name:24s} seed {seed} {net:9s} trained {100 * trained:5.1f}%  shuffled {100 * shuffled:5.1f}% "
                      f"(lowest of the draws; highest {100 * single:5.1f}%)", flush=True)
    print(f"highest single draw: {100 * worst_single:.1f}%")
    print(f"highest accuracy with shuffled parameters (the lowest of the probe's draws, as the suite counts): "
          f"{100 * worst:.1f}% "
          f"(limit {100 * thresholds.P1_REPLACED_LIMIT:.0f}%)")


if __name__ == "__main__":
    main()
