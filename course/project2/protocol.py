"""Project 2's experimental protocol: the circle network trained with a from-scratch framework over seeded rounds.

Round ``r`` of a run seeded with ``seed`` uses ``s = round_seed(seed, r)``: fresh train and test sets of 1,000
points (``generate_disc_set(1000, seed=2s)`` and ``seed=2s + 1``), a fresh initialisation
(``torch.manual_seed(s)`` right before ``circle.build_model()``, inside ``torch.random.fork_rng`` so the caller's
random state is left alone) and ``circle.train(..., seed=s)`` (batch order). Everything runs with autograd off.

The implementation (``circle.py``, which loads ``framework.py`` beside it) is loaded with
:func:`course.submission.load_module`, so the same code runs the reference solution and a student's work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from course.data import generate_disc_set
from course.errors import CourseError
from course.project2.spec import CIRCLE_FUNCTIONS, N_POINTS
from course.protocol import mean_std, round_seed
from course.submission import load_module, student_code

DEFAULT_EPOCHS = 250  # when circle.py defines no EPOCHS


@dataclass
class RoundResult:
    """One round: the errors, the per-epoch history, and the trained model with its test set (for figures)."""

    round: int
    seed: int
    train_error: float
    test_error: float
    train_seconds: float
    history: list = field(default_factory=list)  # one dict per epoch: {"epoch": 1, "loss": ...}
    model: object = field(default=None, repr=False)
    test_set: tuple[torch.Tensor, torch.Tensor] = field(default_factory=lambda: (torch.empty(0, 2), torch.empty(0)),
                                                 repr=False)  # (test_input, test_target)

    @property
    def losses(self) -> list[float]:
        return [float(entry["loss"]) for entry in self.history]

    def row(self) -> dict:
        """The round as a flat row for the JSON and CSV results."""
        losses = self.losses
        return {"round": self.round, "seed": self.seed, "train_error": self.train_error,
                "test_error": self.test_error, "test_accuracy": 1.0 - self.test_error,
                "final_loss": losses[-1] if losses else float("nan"), "train_seconds": round(self.train_seconds, 3)}


def load_implementation(impl):
    """The ``circle`` module of ``<impl>/project2/`` (its ``framework.py`` loads with it); a missing function is a
    clear error."""
    circle = load_module(impl, "project2", "circle")
    missing = [name for name in CIRCLE_FUNCTIONS if not callable(getattr(circle, name, None))]
    if missing:
        raise CourseError(f"{circle.__file__} must define {', '.join(f'{n}()' for n in missing)}; keep the names of "
                          "the handout")
    load_module(impl, "project2", "framework")
    return circle


def default_lr(circle, optimizer: str):
    rates = getattr(circle, "LEARNING_RATE", None)
    return rates.get(optimizer) if isinstance(rates, dict) else rates


def run_round(circle, r: int, *, seed: int, device, epochs: int, optimizer: str = "sgd", lr=None, batch_size=None,
              callback=None) -> RoundResult:
    """Round ``r`` of a run seeded with ``seed``: draw the data, build and train the network, measure the errors.

    ``callback(entry)`` is passed on to ``circle.train`` (called after every epoch); ``lr``/``batch_size`` of
    ``None`` leave circle.py's defaults.
    """
    device = torch.device(device)
    s = round_seed(seed, r)
    train_input, train_target = (t.to(device) for t in generate_disc_set(N_POINTS, seed=2 * s))
    test_input, test_target = (t.to(device) for t in generate_disc_set(N_POINTS, seed=2 * s + 1))
    kwargs = {"epochs": epochs, "optimizer": optimizer, "seed": s, "callback": callback}
    if lr is not None:
        kwargs["lr"] = lr
    if batch_size is not None:
        kwargs["batch_size"] = batch_size
    cuda = [device.index or 0] if device.type == "cuda" else []
    with student_code("training the circle network", Path(circle.__file__).parent), \
            torch.random.fork_rng(devices=cuda), torch.device(device), torch.set_grad_enabled(False):
        torch.manual_seed(s)
        model = circle.build_model()
        start = time.perf_counter()
        history = circle.train(model, train_input, train_target, **kwargs)
        seconds = time.perf_counter() - start
        train_error = float(circle.compute_error(model, train_input, train_target))
        test_error = float(circle.compute_error(model, test_input, test_target))
    if not isinstance(history, list) or not all(isinstance(e, dict) and "loss" in e for e in history):
        raise CourseError(f"circle.train must return its history, a list of one dict per epoch with a 'loss' "
                          f"entry; it returned {repr(history)[:120]}")
    return RoundResult(r, s, train_error, test_error, seconds, history, model, (test_input, test_target))


def summary(results: list[RoundResult]) -> dict:
    """Mean and std of the errors over the rounds, as plain numbers (fractions, not percent)."""
    train_mean, train_std = mean_std([r.train_error for r in results])
    test_mean, test_std = mean_std([r.test_error for r in results])
    return {"rounds": len(results), "train_error_mean": train_mean, "train_error_std": train_std,
            "test_error_mean": test_mean, "test_error_std": test_std, "test_accuracy_mean": 1.0 - test_mean,
            "train_seconds_mean": mean_std([r.train_seconds for r in results])[0]}
