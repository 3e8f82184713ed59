"""Project 1: train the baseline, siamese and auxiliary digit-pair nets over seeded rounds; table and figures.

``course run project1`` loads ``models.py`` and ``train.py`` from ``--impl`` (the reference ``solutions``, the
student ``assignments`` or any folder laid out like them), trains each network for ``--rounds`` rounds (fresh
pairs and a fresh initialisation per round, see :mod:`course.project1.protocol`), prints mean ± std of the test
accuracy (and of the digit accuracy where a net predicts digits) and writes into ``--out``:

* ``project1.json`` / ``project1.csv``: one row per network and round, and the summary;
* ``project1_epochs.json`` / ``project1_epochs.csv``: the per-epoch history of every run;
* ``learning_curves.png`` (train/test accuracy per epoch, mean ± 1 std), ``loss_curves.png`` (the nets trained on
  the target loss in one panel, the auxiliary net's combined loss in another, each on its own scale),
  ``test_accuracy.png`` (bars of mean ± 1 std on a 0-100% axis, the 50% of a random guess marked).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from course.cli import add_run_options, at_least_one, autograding
from course.errors import CourseError
from course.progress import Progress
from course.project1 import protocol as proto
from course.project1.spec import NETS
from course.protocol import format_mean_std, select_device, write_results

QUICK = {"rounds": 2, "epochs": 2, "pairs": 200}
GRADING = {"rounds": 1, "epochs": 1, "pairs": 100, "jobs": 1}  # while nbgrader autogrades the notebook
ROUNDS, PAIRS = 10, 1000


def add_arguments(parser) -> None:
    d = proto.DEFAULTS
    add_run_options(parser, epochs=f"default {d['epochs']}; --quick: {QUICK['epochs']}",
                    lr=f"peak of the one-cycle schedule, default {d['lr']}", batch_size=f"default {d['batch_size']}",
                    quick=f"{QUICK['rounds']} rounds, {QUICK['epochs']} epochs, {QUICK['pairs']} pairs",
                    out="results/project1")
    parser.add_argument("--pairs", type=int, default=None,
                        help=f"train and test pairs per round (default {PAIRS}; --quick: {QUICK['pairs']})")
    parser.add_argument("--aux-weight", type=float, default=d["aux_weight"],
                        help=f"weight of the auxiliary digit losses (default {d['aux_weight']})")
    parser.add_argument("--nets", default=",".join(NETS),
                        help=f"comma-separated networks among {', '.join(NETS)} (default: all three)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="trainings run at the same time, in separate processes (default: one per CPU core, "
                             "at most 4, on cpu; 1 on cuda); the numbers do not depend on it")
    parser.add_argument("--data-dir", default=None,
                        help="folder of full-MNIST IDX files (default: $COURSE_MNIST_DIR, else the bundled subset)")


def _settings(args) -> tuple[int, int, dict]:
    if autograding():
        print(f"nbgrader is grading this notebook: a smoke run ({GRADING})")
        args.rounds, args.epochs, args.pairs, args.jobs = (GRADING[k] for k in ("rounds", "epochs", "pairs", "jobs"))
        args.no_progress = True
    quick = QUICK if args.quick else {}
    rounds = args.rounds if args.rounds is not None else quick.get("rounds", ROUNDS)
    pairs = args.pairs if args.pairs is not None else quick.get("pairs", PAIRS)
    epochs = args.epochs if args.epochs is not None else quick.get("epochs", proto.DEFAULTS["epochs"])
    batch_size = args.batch_size if args.batch_size is not None else proto.DEFAULTS["batch_size"]
    lr = args.lr if args.lr is not None else proto.DEFAULTS["lr"]
    at_least_one(rounds=rounds, pairs=pairs, epochs=epochs, batch_size=batch_size, jobs=args.jobs,
                 threads=args.threads)
    return rounds, pairs, {"epochs": epochs, "batch_size": batch_size, "lr": lr, "aux_weight": args.aux_weight}


def run(args) -> int:
    # every input is checked before anything starts: options, networks, device, then the implementation
    rounds, pairs, settings = _settings(args)
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    if not nets or any(n not in NETS for n in nets):
        raise CourseError(f"--nets {args.nets!r}: give a comma-separated list among {', '.join(NETS)}")
    device = select_device(args.device)
    proto.load_implementation(args.impl)
    threads = args.threads
    torch.set_num_threads(threads)
    jobs = args.jobs if args.jobs is not None else (1 if device.type == "cuda" else min(4, os.cpu_count() or 1))

    bar = None if args.no_progress else Progress(rounds * len(nets), desc="project1", unit="net")

    def progress(key, r, res):
        if bar is not None:
            bar.update(f"round {r + 1}/{rounds} {key}: test {100 * res.test_accuracy[-1]:.1f}%")

    start = time.perf_counter()
    try:
        results = proto.run_rounds(args.impl, nets, rounds=rounds, seed=args.seed, pairs=pairs, device=device,
                                   data_dir=args.data_dir, settings=settings, progress=progress, jobs=jobs,
                                   threads=threads)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - start
    print_table(results, rounds=rounds, pairs=pairs, settings=settings, seed=args.seed, device=device, jobs=jobs,
                threads=threads, impl=args.impl, wall=wall)

    out = Path(args.out)
    info = {"rounds": rounds, "pairs": pairs, **settings, "seed": args.seed, "device": str(device),
            "threads": threads, "jobs": jobs, "impl": str(args.impl), "wall_seconds": round(wall, 1),
            "nets": proto.summary(results)}
    rows, epoch_rows = proto.result_rows(results, args.seed)
    paths = write_results(out, "project1", info, rows)
    paths += write_results(out, "project1_epochs", {"rounds": rounds, "epochs": settings["epochs"]}, epoch_rows)
    from course.project1.plots import write_figures

    paths += write_figures(results, out)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def print_table(results, *, rounds, pairs, settings, seed, device, jobs, threads, impl, wall) -> None:
    print(f"\nProject 1 — {rounds} round(s), {pairs} train / {pairs} test pairs per round, "
          f"{settings['epochs']} epochs, batch {settings['batch_size']}, lr {settings['lr']}, "
          f"aux weight {settings['aux_weight']}, seed {seed}, device {device}, {jobs} job(s) × {threads} "
          f"thread(s), impl {impl}")
    header = f"{'network':<36} {'params':>8}  {'test accuracy':>16}  {'digit accuracy':>16}  {'s/round':>8} {'cpu s':>7}"
    print(header)
    print("-" * len(header))
    for res in results.values():
        digits = format_mean_std(res.digit_accuracy) if res.digit_accuracy else "—"
        print(f"{res.label:<36} {res.parameters:>8,}  {format_mean_std(res.test_accuracy):>16}  {digits:>16}  "
              f"{sum(res.seconds) / len(res.seconds):>8.1f} {sum(res.cpu_seconds) / len(res.cpu_seconds):>7.1f}")
    print(f"wall time {wall:.0f} s with {jobs} job(s) (s/round: wall-clock seconds of one training; cpu s: its "
          f"CPU time)")

