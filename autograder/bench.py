"""The student benchmarks (tasks ``p2.bench.*``, no points): the student's framework timed against torch.nn + autograd
on the same computation, in the same worker, on the same machine, in the same run.

The worker runs the probes ``bench_circle`` / ``bench_layer`` (``autograder/sandbox/probes/project2.py``): a short
float64 check of the student's side, then interleaved timed rounds of both sides (``course/project2/speed.py``),
and returns raw timings. Here, in the judge:

1. a framework that failed a correctness task earlier in this run (:data:`CASES` lists each case's prerequisites)
   is not measured: "not measured: your framework fails p2.linear.backward" (one that has not implemented them yet
   makes the task "not implemented", as every task of an unfinished framework);
2. the float64 check is compared with torch.nn + autograd computed here (a framework that computes something else
   is not measured either);
3. the timings become pytest-benchmark's own statistics (:class:`pytest_benchmark.stats.Stats`: median, IQR,
   rounds), the ratio is median(student) / median(torch);
4. the figure is recorded for the grade report (the plugin's state: its ``"benchmarks"`` list) and the text
   "your framework trains the circle network in 0.38× the time of torch.nn + autograd".

A benchmark never takes points away: its tasks have 0 points and their tests pass whether or not a figure comes
out; a figure that cannot be measured says why in ``"benchmarks_not_measured"``.

This module is also a pytest plugin of the suite (``autograder/suite/conftest.py``): it registers the ``bench``
marker and runs the benchmark tests last, after the correctness tasks they rely on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from pytest_benchmark.stats import Stats

from autograder.plugin import STATE
from autograder.record import Benchmark, Status
from autograder.sandbox.judge import StudentError
from course.project2 import speed

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="the grader has no CUDA device")
DEVICES = [pytest.param("cpu", id="cpu"), pytest.param("cuda", id="cuda", marks=CUDA)]
# interleaved rounds per case: warm-up, then at least 5 and at most 25 rounds, stopping after ~2 s of timed calls
ROUNDS = {"warmup": 1, "min_rounds": 5, "max_rounds": 25, "max_time": 2.0}
SEED = 0
# the public tasks only: the hidden tasks run after the benchmarks (autograder/plugin.py), so that no public
# feedback follows a hidden call in the same worker
CORE = ("p2.linear.forward", "p2.linear.backward", "p2.activations.forward", "p2.activations.backward", "p2.mse",
        "p2.sequential", "p2.accumulate", "p2.zero_grad", "p2.sgd")


@dataclass(frozen=True)
class Case:
    task: str
    name: str           # what was timed, in the report
    verb: str           # "your framework <verb> in 0.4× the time of torch.nn + autograd"
    prerequisites: tuple


CASES = {
    "p2.bench.circle": Case("p2.bench.circle", "circle network 2-25-25-25-2 (ReLU, MSE), one training epoch: "
                            "1,000 points, batches of 10, SGD lr 0.1",
                            "trains the circle network (one epoch)", CORE),
    "p2.bench.conv": Case("p2.bench.conv", "Conv2d(2, 32, 3, padding=1), forward + backward on 50×2×14×14",
                          "runs a Conv2d forward + backward", ("p2.bonus.conv2d",)),
}


@dataclass(frozen=True)
class CircleSettings:
    """The grading protocol's settings for the timed circle epoch, and how many first steps the parity check
    compares."""

    batch_size: int = 10
    lr: float = 0.1
    momentum: float = 0.0
    parity_steps: int = 3

    def training(self) -> dict[str, int | float]:
        """The keyword arguments of a circle run (the probe's and :class:`speed.TorchCircle`'s)."""
        return {"batch_size": self.batch_size, "lr": self.lr, "momentum": self.momentum}


CIRCLE = CircleSettings()
LAYER = "conv2d"


# ------------------------------------------------------------------------------------------------ the plugin


def pytest_configure(config):
    config.addinivalue_line("markers", "bench: a benchmark task (no points); deselect with -m 'not bench'")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("bench") is not None)  # stable: benchmarks last


# ------------------------------------------------------------------------------------------------ measuring


def prior_results(config, prerequisites) -> dict[str, Status]:
    """Task → status of the prerequisite tasks that ran earlier in this session and did not pass (rubric order)."""
    status: dict[str, Status] = {}
    for r in config.stash[STATE].results:
        if r.task in prerequisites and r.status is not Status.PASSED:
            status.setdefault(r.task, r.status)
    return {task: status[task] for task in prerequisites if task in status}


def stats(times) -> Stats:
    result = Stats()
    for seconds in times:
        result.update(seconds)
    return result


def entry(case: Case, device: str, student: Stats, reference: Stats, timer: str) -> Benchmark:
    """One measured case of the report: medians in seconds, their ratio, the rounds, and the sentence to show."""
    ratio = student.median / reference.median
    return Benchmark(task=case.task, name=case.name, device=device,
                     student_median_s=student.median, torch_median_s=reference.median, ratio=round(ratio, 4),
                     rounds=student.rounds, student_iqr_s=student.iqr, torch_iqr_s=reference.iqr, timer=timer,
                     feedback=f"your framework {case.verb} in {ratio:.2f}× the time of torch.nn + autograd "
                              f"({device.upper()}: {1e3 * student.median:.3g} ms vs {1e3 * reference.median:.3g} "
                              f"ms, median of {student.rounds} interleaved rounds)")


def not_measured(config, case: Case, device: str, reason: str) -> None:
    config.stash[STATE].benchmarks_not_measured.append(
        Benchmark(task=case.task, name=case.name, device=device, reason=reason, feedback=f"not measured: {reason}"))


def _close(received, expected, tol: float = 1e-6) -> bool:
    if not isinstance(received, torch.Tensor) or received.shape != expected.shape:
        return False
    return bool(torch.allclose(received.to(expected.dtype), expected, rtol=tol, atol=tol))


def _some(tasks: list[str], shown: int = 3) -> str:
    return ", ".join(tasks) if len(tasks) <= shown else f"{', '.join(tasks[:shown])} and {len(tasks) - shown} more"


def _measure(config, case: Case, device: str, call, parity_problem) -> None:
    """Gate, call the probe, check its float64 part against ``parity_problem()``, record the figure.

    Prerequisites not implemented yet (or a stub hit by the probe) make the task "not implemented", like every task
    of an unfinished framework; anything else that stops the measurement leaves a reason and passes (0 points).
    """
    earlier = prior_results(config, case.prerequisites)
    failed = [task for task, status in earlier.items() if status is not Status.NOT_IMPLEMENTED]
    if failed:
        return not_measured(config, case, device, f"your framework fails {_some(failed)}")
    if earlier:
        not_measured(config, case, device, f"{_some(list(earlier))} not implemented yet")
        raise StudentError("not_implemented", "not implemented yet")
    try:
        got = call()
    except StudentError as exc:
        if exc.status is Status.NOT_IMPLEMENTED:
            not_measured(config, case, device, f"not implemented yet ({exc.where or exc.message})")
            raise
        return not_measured(config, case, device, f"your framework failed while it was timed: {exc.message}")
    mismatch = parity_problem(got["parity"])
    if mismatch:
        return not_measured(config, case, device, mismatch)
    times = got["times"]
    config.stash[STATE].benchmarks.append(entry(case, device, stats(times["student"]), stats(times["torch"]),
                                          got["timer"]))


def circle(p2, config, device: str) -> None:
    """Task p2.bench.circle: one training epoch of the circle network (the grading protocol's batch and SGD)."""
    case = CASES["p2.bench.circle"]
    problem = speed.circle_problem(seed=SEED, epochs=4)
    settings = CIRCLE.training()

    def parity(got) -> str:
        reference = speed.TorchCircle(problem.to(dtype=torch.float64), batch_size=CIRCLE.batch_size, lr=CIRCLE.lr,
                                      momentum=CIRCLE.momentum)
        losses = speed.circle_steps(reference, CIRCLE.parity_steps)
        params = reference.parameters()
        received = got["losses"]
        if (len(received) != len(losses) or len(got["params"]) != len(params)
                or not _close(torch.tensor(received, dtype=torch.float64), torch.tensor(losses, dtype=torch.float64))
                or not all(_close(a, b) for a, b in zip(got["params"], params))):
            return ("your framework's first training steps of the circle network differ from torch.nn + autograd "
                    f"(losses {', '.join(f'{x:.6g}' for x in received)} instead of "
                    f"{', '.join(f'{x:.6g}' for x in losses)}): see the tasks of Linear, ReLU, LossMSE, Sequential and SGD")
        return ""

    _measure(config, case, device, lambda: p2.call(
        "bench_circle", problem=vars(problem), device=device, parity_steps=CIRCLE.parity_steps, rounds=ROUNDS,
        **settings), parity)


def conv(p2, config, device: str) -> None:
    """Task p2.bench.conv: Conv2d forward + backward at a project-1 size (``speed.LAYER_CASES["conv2d"]``)."""
    case = CASES["p2.bench.conv"]
    problem = speed.layer_problem(LAYER, seed=SEED)

    def parity(got) -> str:
        reference = speed.TorchLayer(problem.to(dtype=torch.float64))
        output, grad_input = reference.round()
        expected = [output, grad_input, *reference.gradients()]
        received = [got["output"], got["grad_input"], *got["grads"]]
        if len(received) != len(expected) or not all(_close(a, b) for a, b in zip(received, expected)):
            return ("your Conv2d's output or gradients differ from torch.nn + autograd on the benchmark's input: "
                    "see task p2.bonus.conv2d")
        return ""

    _measure(config, case, device, lambda: p2.call(
        "bench_layer", case=LAYER, x=problem.x, grad_output=problem.grad_output, weights=problem.weights,
        device=device, rounds=ROUNDS), parity)
