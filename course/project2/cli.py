"""Project 2: train the circle network with a from-scratch framework over seeded rounds; errors, table, figures.

``course run project2`` loads ``circle.py`` (and the ``framework.py`` beside it) from ``<impl>/project2/``, so the
same command runs a student's code, and trains the circle network for ``--rounds`` rounds (fresh data and a fresh
initialisation per round, see :mod:`course.project2.protocol`). It prints the train and test error of every
round and their mean ± std, and writes into ``--out`` (default ``results/project2``): ``project2.json`` /
``project2.csv`` (per-round rows and the summary), ``project2_loss.png`` (loss curves) and
``project2_boundary.png`` (the decision regions of the first round over the unit square, with its test points).

On CPU the training runs on one thread (``--threads``): the circle network's matrices are so small that more
threads only add synchronisation, and on a shared machine they can slow training down tenfold.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from course import protocol
from course.cli import add_run_options, at_least_one, autograding
from course.progress import Progress
from course.project2 import protocol as proto

QUICK = {"rounds": 2, "epochs": 20}
GRADING = {"rounds": 1, "epochs": 2}  # while nbgrader autogrades the notebook
ROUNDS = 10


def add_arguments(parser) -> None:
    add_run_options(parser, epochs=f"default circle.EPOCHS, else {proto.DEFAULT_EPOCHS}; --quick: {QUICK['epochs']}",
                    lr="default circle.LEARNING_RATE", batch_size="default circle.BATCH_SIZE",
                    quick=f"{QUICK['rounds']} rounds of {QUICK['epochs']} epochs", out="results/project2")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                        help="the framework's optimiser (default sgd, with circle.MOMENTUM)")
    parser.add_argument("--verbose", action="store_true", help="print the loss of every epoch instead of a bar")


@contextlib.contextmanager
def _threads(n: int | None):
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _bar(total: int, desc: str) -> Progress:
    """The epochs of one round: a bar on a terminal only (each round ends with its own line)."""
    return Progress(total, desc=desc, unit="epoch", leave=False, lines=False)


def run(args) -> int:
    # every input is checked before anything starts: options, device, then the implementation
    if autograding():
        print(f"nbgrader is grading this notebook: a smoke run ({GRADING})")
        args.rounds, args.epochs, args.no_progress = GRADING["rounds"], GRADING["epochs"], True
    quick: dict[str, int] = QUICK if args.quick else {}
    rounds = args.rounds if args.rounds is not None else quick.get("rounds", ROUNDS)
    at_least_one(rounds=rounds, epochs=args.epochs, batch_size=args.batch_size, threads=args.threads)
    device = protocol.select_device(args.device)
    circle = proto.load_implementation(args.impl)
    impl_dir = Path(circle.__file__).parent
    epochs: int = args.epochs or quick.get("epochs", 0) or getattr(circle, "EPOCHS", proto.DEFAULT_EPOCHS)
    print(f"project 2, circle task: {rounds} round(s), {epochs} epochs, optimizer {args.optimizer}"
          f"{'' if args.lr is None else f', lr {args.lr}'}"
          f"{'' if args.batch_size is None else f', batch {args.batch_size}'}, device {device}, "
          f"implementation {impl_dir}")

    results = []
    with _threads(args.threads if device.type == "cpu" else None):
        for r in range(rounds):
            bar = None if args.verbose or args.no_progress else _bar(epochs, f"round {r + 1}/{rounds}")

            def callback(entry, r=r, bar=bar):
                if args.verbose:
                    print(f"  round {r + 1} epoch {entry['epoch']:4d}/{epochs}  loss {entry['loss']:.6f}")
                elif bar is not None:
                    bar.update(f"loss={entry['loss']:.5f}")

            try:
                result = proto.run_round(circle, r, seed=args.seed, device=device, epochs=epochs,
                                         optimizer=args.optimizer, lr=args.lr, batch_size=args.batch_size,
                                         callback=callback)
            finally:
                if bar is not None:
                    bar.close()
            results.append(result)
            row = result.row()
            print(f"round {r + 1:2d}/{rounds}: train error {100 * row['train_error']:6.2f}%  "
                  f"test error {100 * row['test_error']:6.2f}%  final loss {row['final_loss']:.5f}  "
                  f"({row['train_seconds']:.1f}s)")

    train_errors = [r.train_error for r in results]
    test_errors = [r.test_error for r in results]
    print()
    print(f"{'':14s}{'mean ± std over ' + str(rounds) + ' round(s)':>30s}")
    print(f"{'train error':14s}{protocol.format_mean_std(train_errors):>30s}")
    print(f"{'test error':14s}{protocol.format_mean_std(test_errors):>30s}")
    print(f"{'test accuracy':14s}{protocol.format_mean_std([1 - e for e in test_errors]):>30s}")

    info = {"task": "circle", "epochs": epochs, "optimizer": args.optimizer,
            "lr": args.lr if args.lr is not None else proto.default_lr(circle, args.optimizer),
            "batch_size": args.batch_size if args.batch_size is not None else getattr(circle, "BATCH_SIZE", None),
            "device": str(device), "seed": args.seed, "impl": str(impl_dir), "threads": args.threads,
            **proto.summary(results)}
    out = Path(args.out)
    paths = protocol.write_results(out, "project2", info, [r.row() for r in results])
    from course.project2.plots import plot_decision_boundary, plot_loss_curves

    paths.append(plot_loss_curves([r.losses for r in results], out / "project2_loss.png",
                                  title=f"circle task, {args.optimizer}, {rounds} round(s): training loss"))
    first = results[0]
    test_input, test_target = first.test_set
    with torch.set_grad_enabled(False):
        paths.append(plot_decision_boundary(
            lambda points: circle.predict(first.model, points.to(device)), test_input, test_target,
            out / "project2_boundary.png", title=f"circle task, round 1: test error {100 * first.test_error:.2f}%"))
    for path in paths:
        print(f"wrote {path}")
    return 0
