"""course/project2/speed.py: the two sides of every speed comparison compute the same thing (same losses, same
parameters, same gradients), so a ratio compares machinery and nothing else. Correctness only: no timing here
(the timings are the benchmarks' job: benchmarks/README.md)."""

from __future__ import annotations

import pytest
import torch

from course.project2 import speed
from course.submission import load_module

F64 = torch.float64
fw = load_module("solutions", "project2", "framework")


@pytest.fixture(scope="module")
def problem():
    return speed.circle_problem(seed=3, epochs=2)


def assert_same(what, got, expected, tol=1e-10):
    assert got.shape == expected.shape, f"{what}: shape {tuple(got.shape)} vs {tuple(expected.shape)}"
    assert torch.allclose(got, expected, rtol=tol, atol=tol), f"{what}: max |Δ| {(got - expected).abs().max():.3g}"


@pytest.mark.parametrize("optimizer,momentum", [("sgd", speed.MOMENTUM), ("sgd", 0.0), ("adam", 0.0)])
@pytest.mark.parametrize("batch_size", [1, 10, 1000])
def test_circle_sides_take_the_same_steps(problem, optimizer, momentum, batch_size):
    """Four mini-batches (or one full batch) in float64: the same losses and parameters after each of them."""
    p64 = problem.to(dtype=F64)
    scratch = speed.ScratchCircle(fw, p64, batch_size, optimizer, momentum=momentum)
    reference = speed.TorchCircle(p64, batch_size, optimizer, momentum=momentum)
    steps = 1 if batch_size == 1000 else 4
    losses = speed.circle_steps(scratch, steps), speed.circle_steps(reference, steps)
    assert len(losses[0]) == steps
    assert_same("losses", torch.tensor(losses[0]), torch.tensor(losses[1]))
    for k, (a, b) in enumerate(zip(scratch.parameters(), reference.parameters())):
        assert a.dtype == b.dtype == F64
        assert_same(f"parameter {k}", a, b)


def test_circle_epochs_agree_in_float32(problem):
    """The benchmarked computation itself (float32, SGD with momentum): two epochs of batch 10 agree closely."""
    scratch, reference = speed.ScratchCircle(fw, problem, 10), speed.TorchCircle(problem, 10)
    for _ in range(2):
        a, b = scratch.epoch(), reference.epoch()
        assert abs(a - b) <= 1e-4 * abs(b), (a, b)
    for a, b in zip(scratch.parameters(), reference.parameters()):
        assert_same("parameter after two epochs", a, b, tol=1e-3)


def test_both_sides_start_from_the_problems_weights_and_leave_the_global_rng_alone(problem):
    state = torch.random.get_rng_state()
    scratch, reference = speed.ScratchCircle(fw, problem, 10), speed.TorchCircle(problem, 10)
    assert torch.equal(torch.random.get_rng_state(), state)
    for w, a, b in zip(problem.weights, scratch.parameters(), reference.parameters()):
        assert torch.equal(a, w) and torch.equal(b, w)
    assert [tuple(w.shape) for w in problem.weights] == [(25, 2), (25,), (25, 25), (25,), (25, 25), (25,), (2, 25), (2,)]
    assert problem.x.shape == (1000, 2) and torch.equal(problem.y.sum(1), torch.ones(1000))
    assert all(torch.equal(o.sort().values, torch.arange(1000)) for o in problem.orders)


@pytest.mark.parametrize("case", list(speed.LAYER_CASES))
def test_layer_sides_compute_the_same_output_and_gradients(case):
    p64 = speed.layer_problem(case, seed=1).to(dtype=F64)
    scratch, reference = speed.ScratchLayer(fw, p64), speed.TorchLayer(p64)
    for _ in range(2):  # twice: zero_grad at every round, so the second round equals the first
        out_a, gx_a = scratch.round()
        out_b, gx_b = reference.round()
    assert_same("output", out_a, out_b)
    assert_same("gradient w.r.t. the input", gx_a, gx_b)
    assert len(scratch.gradients()) == len(reference.gradients()) == len(p64.weights)
    for a, b in zip(scratch.gradients(), reference.gradients()):
        assert_same("parameter gradient", a, b)


def test_interleaved_alternates_and_bounds_the_rounds():
    calls = []
    sides = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    result = speed.interleaved(sides, warmup=2, min_rounds=3, max_rounds=4, max_time=0.0)
    assert calls[:4] == ["a", "a", "b", "b"]  # warm-up calls, untimed
    assert calls[4:] == ["a", "b", "b", "a", "a", "b"]  # 3 rounds (max_time reached), the order alternating
    assert set(result["times"]) == {"a", "b"} and all(len(t) == 3 for t in result["times"].values())
    assert all(t >= 0 for times in result["times"].values() for t in times)
    assert result["timer"] in ("process_time", "perf_counter")
    assert len(speed.interleaved(sides, warmup=0, min_rounds=1, max_rounds=5, max_time=60)["times"]["a"]) == 5


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_both_sides_run_on_cuda_and_agree(problem):
    """The CUDA benchmark cases' computation: the framework on CUDA tensors against torch.nn on CUDA."""
    on_gpu = problem.to("cuda")
    scratch, reference = speed.ScratchCircle(fw, on_gpu, 100), speed.TorchCircle(on_gpu, 100)
    a, b = scratch.epoch(), reference.epoch()
    assert abs(a - b) <= 1e-4 * abs(b), (a, b)
    assert all(p.device.type == "cuda" for p in scratch.parameters())
    layer = speed.layer_problem("conv2d").to("cuda")
    out_a, gx_a = speed.ScratchLayer(fw, layer).round()
    out_b, gx_b = speed.TorchLayer(layer).round()
    assert_same("conv output on CUDA", out_a, out_b, tol=1e-4)
    assert_same("conv input gradient on CUDA", gx_a, gx_b, tol=1e-4)
