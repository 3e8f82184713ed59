"""Project 2's speed comparison, in one place: the same computation done by a from-scratch framework and by
``torch.nn`` + autograd, used by the kit's benchmarks (``benchmarks/``), ``scripts/bench_circle_speed.py`` and the
grading probes of tasks ``p2.bench.*``.

Two cases:

* **the circle network's training epoch** — :func:`circle_network` of ``course/project2/spec.py`` built from the
  framework and from ``torch.nn``, MSE against one-hot targets, SGD with momentum (or Adam), mini-batches of a
  given size over the 1,000 centred circle points;
* **a layer's forward + backward** — ``Conv2d`` or ``MaxPool2d`` at a project-1 size (a training batch of 50
  digit pairs, 2×14×14, through the first convolution of project 1's networks), with the gradient w.r.t. the
  input as well as the parameters.

Fairness: both sides get the same initial weights, the same inputs, the same mini-batches in the same order, the
same optimiser settings and the same bookkeeping (the loss is read back as a Python float every step:
``float(loss)`` / ``loss.item()``). Only the forward/backward machinery differs. :func:`circle_parity` and the kit
test ``tests/test_speed.py`` check that both sides really compute the same thing.

Shapes: circle inputs ``x`` are ``N×2`` (points − 0.5), targets ``y`` ``N×2`` one-hot, an order is a permutation
of ``range(N)``; weights are listed in ``param()`` order: ``W₁ (25×2), b₁ (25), W₂, b₂, …``.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import get_clock_info, perf_counter, process_time  # bound at import, before any student code loads
from typing import TypedDict

import torch

from course.data import generate_disc_set
from course.project2.spec import LAYERS, N_POINTS, circle_network

# circle.py's defaults (the handout network with Tanh, SGD with momentum)
ACTIVATION = "relu"
LR = {"sgd": 0.1, "adam": 3e-3}
MOMENTUM = 0.9
BATCH_SIZES = (1, 10, 100, 1000)
# a layer at a project-1 size: a training batch of 50 pairs (2×14×14) through the first 3×3 convolution (32
# channels, padding 1) of project 1's networks, and the 2×2 max-pooling of its 32×14×14 output
class LayerCase(TypedDict):
    """A timed layer: its class in both frameworks, the constructor's arguments and the input's shape."""

    cls: str
    args: tuple[int, ...]
    kwargs: dict[str, int]
    input: tuple[int, ...]


LAYER_CASES: dict[str, LayerCase] = {
    "conv2d": {"cls": "Conv2d", "args": (2, 32, 3), "kwargs": {"padding": 1}, "input": (50, 2, 14, 14)},
    "maxpool2d": {"cls": "MaxPool2d", "args": (2,), "kwargs": {}, "input": (50, 32, 14, 14)},
}


# --------------------------------------------------------------------------------------------------
# The circle network's training epoch
# --------------------------------------------------------------------------------------------------


@dataclass
class CircleProblem:
    """What both sides train on: inputs ``x`` (N×2), one-hot targets ``y`` (N×2), the epochs' ``orders`` (each a
    permutation of N) and the initial ``weights`` in ``param()`` order."""

    x: torch.Tensor
    y: torch.Tensor
    orders: list
    weights: list

    def to(self, device=None, dtype=None) -> CircleProblem:
        """The same problem on ``device`` with floating tensors of ``dtype`` (orders stay int64)."""
        def move(t):
            return t.to(device=device, dtype=dtype if t.is_floating_point() else None)
        return CircleProblem(move(self.x), move(self.y), [move(o) for o in self.orders],
                             [move(w) for w in self.weights])


def circle_weights(seed: int = 0, activation: str = ACTIVATION) -> list:
    """Initial weights drawn as ``torch.nn`` draws them (PyTorch's default init), seeded: ``[W₁, b₁, …]``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = circle_network(torch.nn, activation)
    return [p.detach().clone() for p in model.parameters()]


def circle_problem(seed: int = 0, epochs: int = 1) -> CircleProblem:
    """The circle points of ``seed`` (centred), one-hot targets, ``epochs`` seeded orders and initial weights."""
    points, labels = generate_disc_set(N_POINTS, seed=seed)
    y = torch.zeros(len(labels), LAYERS[-1])
    y[torch.arange(len(labels)), labels] = 1
    gen = torch.Generator().manual_seed(seed)
    orders = [torch.randperm(len(points), generator=gen) for _ in range(epochs)]
    return CircleProblem(points - 0.5, y, orders, circle_weights(seed))


def set_weights(pairs, weights, where: str = "param()") -> None:
    """Give a framework model's ``param()`` pairs the values (and dtype, device) of ``weights``; zero gradients.

    ``where`` names the call in messages (``Linear.param()``)."""
    pairs = list(pairs)
    if len(pairs) != len(weights):
        raise ValueError(f"{where} returned {len(pairs)} (parameter, gradient) pairs, expected {len(weights)}")
    for (p, g), w in zip(pairs, weights):
        if tuple(p.shape) != tuple(w.shape):
            raise ValueError(f"{where}: a parameter has shape {tuple(p.shape)}, expected {tuple(w.shape)}")
        p.data = w.clone()
        if isinstance(g, torch.Tensor):
            g.data = torch.zeros_like(w)


class ScratchCircle:
    """The circle network trained by a from-scratch framework ``fw`` (its Linear, activation, Sequential, LossMSE,
    SGD/Adam), with gradient tracking off."""

    def __init__(self, fw, problem: CircleProblem, batch_size: int, optimizer: str = "sgd", lr: float | None = None,
                 momentum: float = MOMENTUM, activation: str = ACTIVATION):
        self.problem, self.batch_size = problem, int(batch_size)
        with torch.random.fork_rng(devices=[]):  # the weights are copied in: leave the global random state alone
            self.model = circle_network(fw, activation)
        set_weights(self.model.param(), problem.weights)
        lr = LR[optimizer] if lr is None else lr
        params = self.model.param()
        if optimizer == "adam":
            self.optimizer = fw.Adam(params, lr=lr)
        else:  # momentum is a bonus: plain SGD is built without it
            self.optimizer = fw.SGD(params, lr=lr, momentum=momentum) if momentum else fw.SGD(params, lr=lr)
        self.criterion = fw.LossMSE()
        self.epochs = 0

    def epoch(self, order=None) -> float:
        """One pass over the points in ``order`` (default: the problem's orders in turn); the mean loss."""
        x, y, model, criterion, optimizer = self.problem.x, self.problem.y, self.model, self.criterion, self.optimizer
        order = self.problem.orders[self.epochs % len(self.problem.orders)] if order is None else order
        self.epochs += 1
        total = 0.0
        with torch.set_grad_enabled(False):
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                loss = criterion.forward(model.forward(x.index_select(0, idx)), y.index_select(0, idx))
                optimizer.zero_grad()
                model.backward(criterion.backward())
                optimizer.step()
                total += float(loss) * len(idx)
        return total / len(order)

    def parameters(self) -> list:
        return [p for p, _ in self.model.param()]


class TorchCircle:
    """The same network, data, batches and optimiser with ``torch.nn`` + autograd + ``torch.optim``."""

    def __init__(self, problem: CircleProblem, batch_size: int, optimizer: str = "sgd", lr: float | None = None,
                 momentum: float = MOMENTUM, activation: str = ACTIVATION):
        self.problem, self.batch_size = problem, int(batch_size)
        x = problem.x
        with torch.random.fork_rng(devices=[]):  # the weights are copied in: leave the global random state alone
            self.model = circle_network(torch.nn, activation).to(device=x.device, dtype=x.dtype)
        with torch.no_grad():
            for p, w in zip(self.model.parameters(), problem.weights):
                p.copy_(w)
        lr = LR[optimizer] if lr is None else lr
        params = self.model.parameters()
        self.optimizer = (torch.optim.SGD(params, lr=lr, momentum=momentum) if optimizer == "sgd"
                          else torch.optim.Adam(params, lr=lr))
        self.criterion = torch.nn.MSELoss()
        self.epochs = 0

    def epoch(self, order=None) -> float:
        x, y, model, criterion, optimizer = self.problem.x, self.problem.y, self.model, self.criterion, self.optimizer
        order = self.problem.orders[self.epochs % len(self.problem.orders)] if order is None else order
        self.epochs += 1
        total = 0.0
        with torch.enable_grad():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                loss = criterion(model(x.index_select(0, idx)), y.index_select(0, idx))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
        return total / len(order)

    def parameters(self) -> list:
        return [p.detach() for p in self.model.parameters()]


def circle_steps(side, steps: int) -> list:
    """The losses of the first ``steps`` mini-batches of ``side``'s first order (a parity check, not timed)."""
    order = side.problem.orders[0][: steps * side.batch_size]
    losses = []
    for start in range(0, len(order), side.batch_size):
        losses.append(side.epoch(order[start:start + side.batch_size]))
    return losses


# --------------------------------------------------------------------------------------------------
# A layer's forward + backward
# --------------------------------------------------------------------------------------------------


@dataclass
class LayerProblem:
    """Input ``x`` (the case's shape), upstream gradient ``grad_output`` (the output's shape) and the layer's
    initial ``weights`` (``[weight, bias]``, empty for a layer without parameters)."""

    case: str
    x: torch.Tensor
    grad_output: torch.Tensor
    weights: list

    def to(self, device=None, dtype=None) -> LayerProblem:
        return LayerProblem(self.case, self.x.to(device, dtype), self.grad_output.to(device, dtype),
                            [w.to(device, dtype) for w in self.weights])


def torch_layer(case: str):
    spec = LAYER_CASES[case]
    return getattr(torch.nn, spec["cls"])(*spec["args"], **spec["kwargs"])


def layer_problem(case: str, seed: int = 0) -> LayerProblem:
    """Seeded input (pixel-like, 0–255 scale divided by 255), upstream gradient and torch.nn's initial weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = torch_layer(case)
        x = torch.rand(LAYER_CASES[case]["input"])
        with torch.no_grad():
            out = layer(x)
        grad_output = torch.randn(out.shape)
    return LayerProblem(case, x, grad_output, [p.detach().clone() for p in layer.parameters()])


class ScratchLayer:
    """The framework's layer (``Conv2d`` or ``MaxPool2d``): ``round()`` is zero_grad, forward, backward."""

    def __init__(self, fw, problem: LayerProblem):
        spec = LAYER_CASES[problem.case]
        self.problem = problem
        with torch.random.fork_rng(devices=[]):
            self.layer = getattr(fw, spec["cls"])(*spec["args"], **spec["kwargs"])
        if problem.weights:
            set_weights(self.layer.param(), problem.weights)

    def round(self):
        """``(output, gradient w.r.t. the input)``; the parameter gradients are in ``param()``."""
        with torch.set_grad_enabled(False):
            self.layer.zero_grad()
            output = self.layer.forward(self.problem.x)
            return output, self.layer.backward(self.problem.grad_output)

    def gradients(self) -> list:
        return [g for _, g in self.layer.param()]


class TorchLayer:
    """The same layer in ``torch.nn``; the input requires its gradient, as the framework computes it too."""

    def __init__(self, problem: LayerProblem):
        self.problem = problem
        with torch.random.fork_rng(devices=[]):
            self.layer = torch_layer(problem.case).to(problem.x.device, problem.x.dtype)
        with torch.no_grad():
            for p, w in zip(self.layer.parameters(), problem.weights):
                p.copy_(w)
        self.x = problem.x.detach().clone().requires_grad_(True)

    def round(self):
        with torch.enable_grad():
            self.layer.zero_grad()
            self.x.grad = None
            output = self.layer(self.x)
            output.backward(self.problem.grad_output)
        return output.detach(), self.x.grad

    def gradients(self) -> list:
        return [p.grad for p in self.layer.parameters()]


# --------------------------------------------------------------------------------------------------
# Interleaved rounds (the grading probes and scripts/bench_circle_speed.py; the kit's benchmarks use pytest-benchmark)
# --------------------------------------------------------------------------------------------------


def default_timer(device="cpu"):
    """``process_time`` (CPU time of this process, steady on a shared machine) for CPU work where its resolution is
    fine (Linux, macOS), ``perf_counter`` otherwise and on CUDA (the GPU's time is not CPU time).
    Returns ``(name, function)``."""
    if torch.device(device).type == "cpu" and get_clock_info("process_time").resolution <= 1e-6:
        return "process_time", process_time
    return "perf_counter", perf_counter


def interleaved(sides: dict, *, device="cpu", warmup: int = 1, min_rounds: int = 5, max_rounds: int = 25,
                max_time: float = 2.0) -> dict:
    """Time the callables of ``sides`` (name → function) in alternating rounds: ``warmup`` untimed calls each,
    then rounds that call every side once (the order reversed every other round) until ``max_rounds`` rounds, or
    ``max_time`` seconds of timed calls once ``min_rounds`` are done. On CUDA each call ends with a synchronisation.

    Returns ``{"timer": name, "times": {side: [seconds per round, …]}}``: raw timings, no statistics.
    """
    name, clock = default_timer(device)
    cuda = torch.device(device).type == "cuda"

    def call(fn):
        fn()
        if cuda:
            torch.cuda.synchronize()

    for fn in sides.values():
        for _ in range(warmup):
            call(fn)
    times: dict[str, list[float]] = {side: [] for side in sides}
    order = list(sides)
    started = perf_counter()
    for r in range(max_rounds):
        if r >= min_rounds and perf_counter() - started > max_time:
            break
        for side in (order if r % 2 == 0 else order[::-1]):
            start = clock()
            call(sides[side])
            times[side].append(clock() - start)
    return {"timer": name, "times": times}
