"""Project 2: the from-scratch framework (solutions/) against torch.nn + autograd on the same computation.

Each pytest-benchmark group holds one case on one device, its two sides next to each other (``scratch`` then
``torch``, run back to back); ``extra_info`` names the case and the side, and the conftest prints the ratio of the
medians. The two computations are ``course/project2/speed.py``'s (same network, weights, batches, optimiser and
bookkeeping); ``tests/test_speed.py`` checks that they agree.

* ``circle``: one training epoch of the circle network (1,000 points, SGD with momentum) per round, at batch sizes
  1, 10, 100 and 1,000;
* ``conv2d`` / ``maxpool2d``: one forward + backward (input and parameter gradients) at a project-1 size.
"""

from __future__ import annotations

import pytest
from devices import DEVICES, sync

from course.project2 import speed
from course.submission import load_module

SIDES = ("scratch", "torch")


@pytest.fixture(scope="module")
def fw():
    return load_module("solutions", "project2", "framework")


@pytest.fixture(scope="module")
def circle_problem():
    return speed.circle_problem(seed=0, epochs=8)


def run(benchmark, fn, device):
    """Benchmark ``fn`` after one untimed warm-up call; on CUDA each round ends with a synchronisation."""
    def target():
        fn()
        sync(device)

    target()
    benchmark(target)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("batch_size", speed.BATCH_SIZES)
@pytest.mark.parametrize("device", DEVICES)
def test_circle_epoch(benchmark, fw, circle_problem, device, batch_size, side):
    problem = circle_problem.to(device)
    trainer = (speed.ScratchCircle(fw, problem, batch_size) if side == "scratch"
               else speed.TorchCircle(problem, batch_size))
    benchmark.group = f"p2 circle epoch {device} batch {batch_size:>4}"
    benchmark.extra_info.update(case="circle", side=side, batch_size=batch_size, device=device,
                                label=f"circle epoch, batch {batch_size}, {side}")
    run(benchmark, trainer.epoch, device)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("case", list(speed.LAYER_CASES))
@pytest.mark.parametrize("device", DEVICES)
def test_layer_forward_backward(benchmark, fw, device, case, side):
    problem = speed.layer_problem(case, seed=0).to(device)
    layer = speed.ScratchLayer(fw, problem) if side == "scratch" else speed.TorchLayer(problem)
    spec = speed.LAYER_CASES[case]
    benchmark.group = f"p2 {case} {device}"
    benchmark.extra_info.update(case=case, side=side, device=device, input=list(spec["input"]),
                                label=f"{spec['cls']} fwd+bwd on {'×'.join(map(str, spec['input']))}, {side}")
    run(benchmark, layer.round, device)
