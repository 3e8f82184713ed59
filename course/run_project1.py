"""Project 1: train the baseline, siamese and auxiliary digit-pair nets over seeded rounds; table and figures.

``course run project1`` loads ``models.py`` and ``train.py`` from ``--impl`` (the reference ``solutions``, the
student ``assignments`` or any folder laid out like them), trains each network for ``--rounds`` rounds (fresh
pairs and a fresh initialisation per round, see :mod:`course.p1_protocol`), prints mean ± std of the test
accuracy (and of the digit accuracy where a net predicts digits) and writes into ``--out``:

* ``project1.json`` / ``project1.csv``: one row per network and round, and the summary;
* ``project1_epochs.json`` / ``project1_epochs.csv``: the per-epoch history of every run;
* ``learning_curves.png`` (train/test accuracy per epoch, mean ± 1 std), ``loss_curves.png``,
  ``test_accuracy.png`` (bars of mean ± 1 std).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from course import p1_protocol as proto
from course.errors import CourseError
from course.protocol import format_mean_std, select_device, write_results

QUICK = {"rounds": 2, "epochs": 2, "pairs": 200}


def add_arguments(parser) -> None:
    d = proto.DEFAULTS
    parser.add_argument("--rounds", type=int, default=None, help="rounds per network (default 10; --quick: 2)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"training epochs (default {d['epochs']}; --quick: {QUICK['epochs']})")
    parser.add_argument("--pairs", type=int, default=None,
                        help="train and test pairs per round (default 1000; --quick: 200)")
    parser.add_argument("--batch-size", type=int, default=d["batch_size"],
                        help=f"mini-batch size (default {d['batch_size']})")
    parser.add_argument("--lr", type=float, default=d["lr"], help=f"peak learning rate (default {d['lr']})")
    parser.add_argument("--aux-weight", type=float, default=d["aux_weight"],
                        help=f"weight of the auxiliary digit losses (default {d['aux_weight']})")
    parser.add_argument("--nets", default="baseline,siamese,aux",
                        help="comma-separated networks among baseline, siamese, aux (default: all three)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run; round r uses round_seed(seed, r)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for PyTorch (default 1: on a shared 2-core machine a second thread "
                             "made these small convolutions up to 10× slower)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="trainings run at the same time, in separate processes (default: one per CPU core, "
                             "at most 4, on cpu; 1 on cuda); the numbers do not depend on it")
    parser.add_argument("--impl", default="solutions",
                        help="implementation: solutions (default), assignments, or a folder holding project1/")
    parser.add_argument("--out", default="results/project1", help="folder for figures and raw numbers")
    parser.add_argument("--data-dir", default=None,
                        help="folder of full-MNIST IDX files (default: $COURSE_MNIST_DIR, else the bundled subset)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 2 rounds, 2 epochs, 200 pairs (unless given explicitly)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _settings(args) -> tuple[int, int, dict]:
    quick = QUICK if args.quick else {}
    rounds = args.rounds if args.rounds is not None else quick.get("rounds", 10)
    pairs = args.pairs if args.pairs is not None else quick.get("pairs", 1000)
    epochs = args.epochs if args.epochs is not None else quick.get("epochs", proto.DEFAULTS["epochs"])
    for name, value in (("--rounds", rounds), ("--pairs", pairs), ("--epochs", epochs),
                        ("--batch-size", args.batch_size)):
        if value < 1:
            raise CourseError(f"{name} must be at least 1, got {value}")
    settings = {"epochs": epochs, "batch_size": args.batch_size, "lr": args.lr, "aux_weight": args.aux_weight}
    return rounds, pairs, settings


def run(args) -> int:
    rounds, pairs, settings = _settings(args)
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    if not nets or any(n not in proto.NETS for n in nets):
        raise CourseError(f"--nets {args.nets!r}: give a comma-separated list among {', '.join(proto.NETS)}")
    device = select_device(args.device)
    threads = args.threads or 1
    torch.set_num_threads(threads)
    jobs = args.jobs if args.jobs is not None else (1 if device.type == "cuda" else min(4, os.cpu_count() or 1))
    if jobs < 1:
        raise CourseError(f"--jobs must be at least 1, got {jobs}")

    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=rounds * len(nets), desc="project1", unit="net")

    def progress(key, r, res):
        if bar is not None:
            bar.set_postfix_str(f"round {r + 1}/{rounds} {key}: test {100 * res.test_accuracy[-1]:.1f}%")
            bar.update(1)

    start = time.perf_counter()
    try:
        results = proto.run_rounds(args.impl, nets, rounds=rounds, seed=args.seed, pairs=pairs, device=device,
                                   data_dir=args.data_dir, settings=settings, progress=progress, jobs=jobs,
                                   threads=threads)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - start

    # ---- table
    print(f"\nProject 1 — {rounds} round(s), {pairs} train / {pairs} test pairs per round, "
          f"{settings['epochs']} epochs, batch {settings['batch_size']}, lr {settings['lr']}, "
          f"aux weight {settings['aux_weight']}, seed {args.seed}, device {device}, {jobs} job(s) × {threads} "
          f"thread(s), "
          f"impl {args.impl}")
    header = f"{'network':<36} {'params':>8}  {'test accuracy':>16}  {'digit accuracy':>16}  {'s/round':>8} {'cpu s':>7}"
    print(header)
    print("-" * len(header))
    for key, res in results.items():
        digits = format_mean_std(res.digit_accuracy) if res.digit_accuracy else "—"
        print(f"{res.label:<36} {res.parameters:>8,}  {format_mean_std(res.test_accuracy):>16}  {digits:>16}  "
              f"{sum(res.seconds) / len(res.seconds):>8.1f} {sum(res.cpu_seconds) / len(res.cpu_seconds):>7.1f}")
    print(f"wall time {wall:.0f} s with {jobs} job(s) (s/round: wall-clock seconds of one training; cpu s: its "
          f"CPU time)")

    # ---- raw numbers
    out = Path(args.out)
    rows, epoch_rows = [], []
    for key, res in results.items():
        for r in range(len(res.test_accuracy)):
            rows.append({
                "net": key, "round": r, "seed": args.seed, "parameters": res.parameters,
                "test_accuracy": res.test_accuracy[r], "train_accuracy": res.train_accuracy[r],
                "digit_accuracy": res.digit_accuracy[r] if res.digit_accuracy else "",
                "seconds": round(res.seconds[r], 3), "cpu_seconds": round(res.cpu_seconds[r], 3),
            })
            for entry in res.histories[r]:
                if isinstance(entry, dict):
                    epoch_rows.append({"net": key, "round": r, **{
                        k: entry.get(k, "") for k in ("epoch", "loss", "train_accuracy", "test_accuracy",
                                                      "test_loss")}})
    info = {"rounds": rounds, "pairs": pairs, **settings, "seed": args.seed, "device": str(device),
            "threads": threads, "jobs": jobs, "impl": str(args.impl), "wall_seconds": round(wall, 1),
            "nets": proto.summary(results)}
    paths = write_results(out, "project1", info, rows)
    paths += write_results(out, "project1_epochs", {"rounds": rounds, "epochs": settings["epochs"]}, epoch_rows)

    # ---- figures
    from course import plots

    acc_curves, loss_curves = {}, {}
    for key, res in results.items():
        for metric, name in (("train_accuracy", "train"), ("test_accuracy", "test")):
            runs = proto.curves(res, metric)
            if runs:
                acc_curves[f"{key}: {name}"] = [[100 * v for v in run] for run in runs]
        for metric, name in (("loss", "train"), ("test_loss", "test")):
            runs = proto.curves(res, metric)
            if runs:
                loss_curves[f"{key}: {name}"] = runs
    if acc_curves:
        paths.append(plots.learning_curves(acc_curves, out / "learning_curves.png", ylabel="accuracy (%)"))
    if loss_curves:
        paths.append(plots.learning_curves(loss_curves, out / "loss_curves.png", ylabel="loss"))
    paths.append(plots.mean_std_bars({key: res.test_accuracy for key, res in results.items()},
                                     out / "test_accuracy.png"))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
