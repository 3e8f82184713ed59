"""Project 2: the from-scratch framework (solutions/) against torch.nn + autograd on the same computation.

Each case (one pytest-benchmark group per case and device) is measured in ``REPEATS`` short repeats, each a
``scratch`` and a ``torch`` benchmark back to back (the order flipped every other repeat: scratch, torch, torch,
scratch, …), so that the two sides share whatever else the machine is doing; ``extra_info`` names the case, the
side and the repeat. The ratio of a case is best round (scratch) / best round (torch) over the repeats, shown
beside the ratio of the medians (``benchmarks/report.py``). The two computations are ``course/project2/speed.py``'s (same network, weights, batches,
optimiser and bookkeeping); ``tests/test_speed.py`` checks that they agree.

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
REPEATS = 9
# rounds per repeat and side: about a third of a second of the scratch side each, or more
ROUNDS = {("circle", 1): 3, ("circle", 10): 8, ("circle", 100): 60, ("circle", 1000): 250,
          ("conv2d", None): 120, ("maxpool2d", None): 80}


@pytest.fixture(scope="module")
def fw():
    return load_module("solutions", "project2", "framework")


@pytest.fixture(scope="module")
def circle_problem():
    return speed.circle_problem(seed=0, epochs=8)


@pytest.fixture(scope="module")
def built():
    """Each side of each case built (and warmed up by one untimed call) once, then reused by every repeat."""
    return {}


def run(benchmark, key, built, make, device, rounds):
    if key not in built:
        built[key] = make()
        built[key]()  # warm-up: allocator, lazily initialised kernels
        sync(device)

    def target():
        built[key]()
        sync(device)

    benchmark.pedantic(target, rounds=rounds, iterations=1)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("repeat", range(REPEATS), ids=lambda r: f"r{r}")
@pytest.mark.parametrize("batch_size", speed.BATCH_SIZES)
@pytest.mark.parametrize("device", DEVICES)
def test_circle_epoch(benchmark, fw, circle_problem, built, device, batch_size, repeat, side):
    def make():
        problem = circle_problem.to(device)
        trainer = (speed.ScratchCircle(fw, problem, batch_size) if side == "scratch"
                   else speed.TorchCircle(problem, batch_size))
        return trainer.epoch

    benchmark.group = f"p2 circle epoch {device} batch {batch_size:>4}"
    benchmark.extra_info.update(case="circle", side=side, repeat=repeat, batch_size=batch_size, device=device)
    run(benchmark, ("circle", device, batch_size, side), built, make, device, ROUNDS["circle", batch_size])


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("repeat", range(REPEATS), ids=lambda r: f"r{r}")
@pytest.mark.parametrize("case", list(speed.LAYER_CASES))
@pytest.mark.parametrize("device", DEVICES)
def test_layer_forward_backward(benchmark, fw, built, device, case, repeat, side):
    def make():
        problem = speed.layer_problem(case, seed=0).to(device)
        return (speed.ScratchLayer(fw, problem) if side == "scratch" else speed.TorchLayer(problem)).round

    spec = speed.LAYER_CASES[case]
    benchmark.group = f"p2 {case} {device}"
    benchmark.extra_info.update(case=case, side=side, repeat=repeat, device=device, input=list(spec["input"]))
    run(benchmark, (case, device, side), built, make, device, ROUNDS[case, None])
