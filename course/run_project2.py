"""Project 2: train the circle network with a from-scratch framework over seeded rounds; errors, table, figures.

``course run project2 [--rounds 10] [--optimizer sgd|adam] [--epochs E] [--device cpu|cuda]
[--impl solutions|assignments|PATH] [--out DIR] [--quick] [--seed S]`` loads ``framework.py`` and
``circle.py`` from ``<impl>/project2/`` (so the same command runs a student's code), and for every round
``r`` draws fresh train and test sets of 1,000 points and a fresh initialisation from
``round_seed(seed, r)``. It prints a progress bar (or, with ``--verbose``, the loss of every epoch), the
train and test error of every round and their mean ± std, and writes to ``--out`` (default
``results/project2``): ``project2.json``/``project2.csv`` (per-round rows and the summary),
``project2_loss.png`` (loss curves) and ``project2_boundary.png`` (decision boundary of the first round
over the unit square with its test points, correct or not).

On CPU the training runs on one thread (``--threads``): the circle network's matrices are so small that
more threads only add synchronisation, and on a shared machine they can slow training down tenfold.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import torch

from course import protocol
from course.data import generate_disc_set
from course.errors import CourseError
from course.impl import innermost_function, load_module, student_failure

N_POINTS = 1000
DEFAULT_EPOCHS = 250
QUICK_ROUNDS, QUICK_EPOCHS = 2, 20


def add_arguments(parser) -> None:
    parser.add_argument("--rounds", type=int, default=10, help="number of seeded rounds (default 10)")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                        help="the framework's optimiser (default sgd, with circle.MOMENTUM)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epochs per round (default: circle.EPOCHS, else {DEFAULT_EPOCHS})")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: circle.LEARNING_RATE)")
    parser.add_argument("--batch-size", type=int, default=None, help="mini-batch size (default: circle.BATCH_SIZE)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--impl", default="solutions",
                        help="implementation folder: solutions (default), assignments, or a path laid out like them")
    parser.add_argument("--out", default="results/project2", help="output folder (default results/project2)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke run: {QUICK_ROUNDS} rounds of {QUICK_EPOCHS} epochs unless given explicitly")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads while training (default 1)")
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


def _not_implemented(exc: NotImplementedError, impl_dir: Path) -> CourseError:
    """Name the function the skeleton left unimplemented, from the innermost frame of the traceback."""
    frame = innermost_function(exc)
    where = f"{frame[0]} in {frame[1]} (line {frame[2]})" if frame else "a part of the framework"
    detail = f": {exc}" if str(exc) else ""
    return CourseError(
        f"{where} is not implemented yet{detail}. Write it in {impl_dir}, between the solution markers, "
        "and check it with the framework tests (python -m pytest tests/test_framework.py with "
        f"COURSE_IMPL={impl_dir.parent})")


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True, disable=None)


def run_round(circle, args, r: int, device: torch.device, epochs: int, lr, batch_size: int) -> dict:
    seed = protocol.round_seed(args.seed, r)
    train_input, train_target = generate_disc_set(N_POINTS, seed=2 * seed)
    test_input, test_target = generate_disc_set(N_POINTS, seed=2 * seed + 1)
    train_input, train_target = train_input.to(device), train_target.to(device)
    test_input, test_target = test_input.to(device), test_target.to(device)

    bar = _progress(epochs, not args.verbose, f"round {r + 1}/{args.rounds}")

    def on_epoch(epoch, loss):
        if args.verbose:
            print(f"  round {r + 1} epoch {epoch + 1:4d}/{epochs}  loss {loss:.6f}")
        elif bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.5f}")

    cuda = [device.index or 0] if device.type == "cuda" else []
    start = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=cuda), torch.device(device), torch.set_grad_enabled(False):
            torch.manual_seed(seed)
            model = circle.build_model()
            kwargs = {"epochs": epochs, "optimizer": args.optimizer, "on_epoch": on_epoch}
            if lr is not None:
                kwargs["lr"] = lr
            if batch_size is not None:
                kwargs["batch_size"] = batch_size
            history = circle.train(model, train_input, train_target, **kwargs)
            seconds = time.perf_counter() - start
            train_error = float(circle.compute_error(model, train_input, train_target))
            test_error = float(circle.compute_error(model, test_input, test_target))
    finally:
        if bar is not None:
            bar.close()
    history = [float(v) for v in (history or [])]
    return {
        "round": r, "seed": seed, "train_error": train_error, "test_error": test_error,
        "test_accuracy": 1.0 - test_error, "final_loss": history[-1] if history else float("nan"),
        "train_seconds": round(seconds, 3),
        "_history": history, "_model": model, "_test": (test_input, test_target),
    }


def _default_lr(circle, optimizer):
    rates = getattr(circle, "LEARNING_RATE", None)
    return rates.get(optimizer) if isinstance(rates, dict) else rates


def run(args) -> int:
    if args.rounds < 1:
        raise CourseError(f"--rounds must be at least 1, got {args.rounds}")
    device = protocol.select_device(args.device)
    impl_dir = None
    try:
        framework = load_module(args.impl, "project2", "framework")
        circle = load_module(args.impl, "project2", "circle")
        impl_dir = Path(circle.__file__).parent
        for name in ("build_model", "train", "predict", "compute_error"):
            if not callable(getattr(circle, name, None)):
                raise CourseError(f"{circle.__file__} must define {name}(); see the skeleton in assignments/project2")
        if args.quick:
            args.rounds = args.rounds if args.rounds != 10 else QUICK_ROUNDS
        epochs = args.epochs or (QUICK_EPOCHS if args.quick else getattr(circle, "EPOCHS", DEFAULT_EPOCHS))
        if epochs < 1:
            raise CourseError(f"--epochs must be at least 1, got {epochs}")
        lr, batch_size = args.lr, args.batch_size
        print(f"project 2, circle task: {args.rounds} round(s), {epochs} epochs, optimizer {args.optimizer}"
              f"{'' if lr is None else f', lr {lr}'}{'' if batch_size is None else f', batch {batch_size}'}, "
              f"device {device}, implementation {impl_dir}")
        rows, histories, first = [], [], None
        with _threads(args.threads if device.type == "cpu" else None):
            for r in range(args.rounds):
                row = run_round(circle, args, r, device, epochs, lr, batch_size)
                histories.append(row.pop("_history"))
                model, test = row.pop("_model"), row.pop("_test")
                if first is None:
                    first = (model, test)
                rows.append(row)
                print(f"round {r + 1:2d}/{args.rounds}: train error {100 * row['train_error']:6.2f}%  "
                      f"test error {100 * row['test_error']:6.2f}%  final loss {row['final_loss']:.5f}  "
                      f"({row['train_seconds']:.1f}s)")
    except NotImplementedError as exc:
        raise _not_implemented(exc, impl_dir or Path(str(args.impl)) / "project2") from exc
    except CourseError:
        raise
    except Exception as exc:  # noqa: BLE001 - student code: a message, not a traceback
        raise student_failure(exc, "training the circle network", impl_dir or Path(str(args.impl)) / "project2") \
            from exc

    train_errors = [row["train_error"] for row in rows]
    test_errors = [row["test_error"] for row in rows]
    summary = {
        "task": "circle", "rounds": args.rounds, "epochs": epochs, "optimizer": args.optimizer,
        "lr": lr if lr is not None else _default_lr(circle, args.optimizer),
        "batch_size": batch_size if batch_size is not None else getattr(circle, "BATCH_SIZE", None),
        "device": str(device), "seed": args.seed, "impl": str(impl_dir), "threads": args.threads,
        "train_error_mean": protocol.mean_std(train_errors)[0], "train_error_std": protocol.mean_std(train_errors)[1],
        "test_error_mean": protocol.mean_std(test_errors)[0], "test_error_std": protocol.mean_std(test_errors)[1],
        "test_accuracy_mean": 1.0 - protocol.mean_std(test_errors)[0],
        "train_seconds_mean": protocol.mean_std([row["train_seconds"] for row in rows])[0],
    }
    print()
    print(f"{'':14s}{'mean ± std over ' + str(args.rounds) + ' round(s)':>30s}")
    print(f"{'train error':14s}{protocol.format_mean_std(train_errors):>30s}")
    print(f"{'test error':14s}{protocol.format_mean_std(test_errors):>30s}")
    print(f"{'test accuracy':14s}{protocol.format_mean_std([1 - e for e in test_errors]):>30s}")

    out = Path(args.out)
    paths = protocol.write_results(out, "project2", summary, rows)
    from course.circle_plots import plot_decision_boundary, plot_loss_curves

    paths.append(plot_loss_curves(histories, out / "project2_loss.png",
                                  title=f"circle task, {args.optimizer}, {args.rounds} round(s): training loss"))
    model, (test_input, test_target) = first
    with torch.set_grad_enabled(False):
        paths.append(plot_decision_boundary(
            lambda points: circle.predict(model, points.to(device)),
            test_input, test_target, out / "project2_boundary.png",
            title=f"circle task, round 1: test error {100 * rows[0]['test_error']:.2f}%"))
    for path in paths:
        print(f"wrote {path}")
    del framework
    return 0
