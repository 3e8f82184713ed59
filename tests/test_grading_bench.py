"""The student benchmarks' judge side (autograder/bench.py), without a worker: which framework gets a figure, what
the figure and the report entry hold, and what a student reads when there is none. A benchmark never costs points:
the rubric gives its tasks 0 points, and every path below either records an entry or says why not."""

from __future__ import annotations

import types

import pytest
import torch

from autograder import bench, rubric
from autograder.plugin import STATE, GradingState
from autograder.record import CaseResult, Status
from autograder.report import render, score
from autograder.sandbox.judge import StudentError
from course.project2 import speed
from course.submission import load_module

fw = load_module("solutions", "project2", "framework")


def case(task, status, feedback=""):
    return CaseResult(task=task, test=task, status=Status(status), feedback=feedback)


def config(results=()):
    """A stand-in for pytest's config: only the grading plugin's state, with these earlier results."""
    return types.SimpleNamespace(stash={STATE: GradingState(results=[case(**r) for r in results])})


def measured(cfg):
    return cfg.stash[STATE].benchmarks


def unmeasured(cfg):
    return cfg.stash[STATE].benchmarks_not_measured


class FakeWorker:
    """Answers ``bench_circle`` like the worker would with the solutions (the float64 check is real), with fixed
    timings; or raises ``error``."""

    def __init__(self, error=None, wrong=False):
        self.error, self.wrong, self.calls = error, wrong, []

    def call(self, probe, **kwargs):
        self.calls.append(probe)
        if self.error:
            raise self.error
        problem = speed.CircleProblem(kwargs["problem"]["x"], kwargs["problem"]["y"], kwargs["problem"]["orders"],
                                      kwargs["problem"]["weights"]).to(dtype=torch.float64)
        side = speed.ScratchCircle(fw, problem, kwargs["batch_size"], lr=kwargs["lr"] * (2 if self.wrong else 1),
                                   momentum=kwargs["momentum"])
        losses = speed.circle_steps(side, kwargs["parity_steps"])
        return {"parity": {"losses": losses, "params": side.parameters()}, "timer": "process_time",
                "times": {"student": [0.030, 0.020, 0.025, 0.040, 0.021], "torch": [0.080, 0.050, 0.060, 0.070, 0.065]}}


def test_benchmark_tasks_carry_no_points():
    tasks = [t for t in rubric.TASKS if t.bench]
    assert {t.id for t in tasks} == set(bench.CASES) and all(t.points == 0 and not t.bonus for t in tasks)
    results = [case(t.id, "exception", "x") for t in tasks]
    assert score(results, [t.id for t in tasks]).max_score == 0


def test_a_correct_framework_gets_pytest_benchmarks_statistics():
    cfg, worker = config(), FakeWorker()
    bench.circle(worker, cfg, "cpu")
    assert worker.calls == ["bench_circle"] and unmeasured(cfg) == []
    (entry,) = measured(cfg)
    assert entry.task == "p2.bench.circle" and entry.device == "cpu" and entry.rounds == 5
    assert entry.student_median_s == 0.025 and entry.torch_median_s == 0.065  # medians of the raw rounds
    assert entry.ratio == pytest.approx(0.025 / 0.065, abs=1e-4)
    assert entry.feedback.startswith("your framework trains the circle network (one epoch) in 0.38× the time of "
                                        "torch.nn + autograd (CPU: 25 ms vs 65 ms, median of 5 interleaved rounds)")


def test_a_framework_that_failed_its_tasks_is_not_measured():
    cfg, worker = config([{"task": "p2.linear.backward", "status": "failed"},
                          {"task": "p2.linear.forward", "status": "passed"}]), FakeWorker()
    bench.circle(worker, cfg, "cpu")
    assert worker.calls == [] and measured(cfg) == []
    assert unmeasured(cfg)[0].feedback == "not measured: your framework fails p2.linear.backward"


def test_an_unfinished_framework_is_not_implemented_yet():
    cfg = config([{"task": t, "status": "not_implemented"} for t in bench.CORE[:8]])
    with pytest.raises(StudentError) as info:
        bench.circle(FakeWorker(), cfg, "cpu")
    assert info.value.kind == "not_implemented"
    assert "p2.linear.forward, p2.linear.backward, p2.activations.forward and 5 more not implemented yet" in \
        unmeasured(cfg)[0].reason
    with pytest.raises(StudentError):  # alone (no earlier results), a stub met by the probe says the same
        bench.circle(FakeWorker(StudentError("not_implemented", "not implemented yet")), config(), "cpu")


def test_a_framework_that_computes_something_else_or_crashes_is_not_measured():
    cfg = config()
    bench.circle(FakeWorker(wrong=True), cfg, "cpu")
    bench.circle(FakeWorker(StudentError("exception", "RuntimeError: boom")), cfg, "cpu")
    assert measured(cfg) == []
    first, second = (e.reason for e in unmeasured(cfg))
    assert "differ from torch.nn + autograd" in first and "instead of" in first
    assert second == "your framework failed while it was timed: RuntimeError: boom"


def test_the_text_report_shows_the_figures_before_the_table():
    cfg = config()
    bench.circle(FakeWorker(), cfg, "cpu")
    bench.not_measured(cfg, bench.CASES["p2.bench.conv"], "cpu", "p2.bonus.conv2d not implemented yet")
    result = score([case("p2.bench.circle", "passed")], ["p2.bench.circle"])
    result.benchmarks, result.benchmarks_not_measured = measured(cfg), unmeasured(cfg)
    text = render(result)
    assert text.index("Benchmarks (no points") < text.index("Score per task")
    assert " p2.bench.conv    CPU   not measured: p2.bonus.conv2d not implemented yet" in text
    assert " ✔ p2.bench.circle   benchmark" in text
