"""Probes for project 2 (the framework). Everything runs with autograd switched off (``AUTOGRAD = False``)."""

from __future__ import annotations

import torch

from autograder.sandbox.probes import imports, plain, student_attr  # noqa: F401 - imports is a probe
from course.project2 import speed  # imported with the probes, before any student code (its clocks are bound)
from course.project2.spec import REQUIRED_CLASSES, circle_network

AUTOGRAD = False  # the framework computes every gradient by hand
# the benchmarks time torch.nn + autograd beside the framework (no points): no tripwire there
TRIPWIRE_EXEMPT = frozenset({"bench_circle", "bench_layer"})


def framework(ctx):
    """The student's ``framework`` module."""
    return ctx.module("framework")


# ------------------------------------------------------------------------------------------------------
# The grader's own modules: a Sequential is graded on children the grader provides, so that it is graded
# independently of the student's Linear and activations (each fault charged once, where it lives). Tensor
# operations only (autograd is off), duck-typed to the handout's Module protocol (forward, backward, param,
# zero_grad, train, eval).
# ------------------------------------------------------------------------------------------------------


# The grader's modules work only while the probe call that built them runs: a framework that keeps one (or its
# class) to stand in for its own Linear in a later task finds it dead. Re-arming it needs this module's globals,
# which the rules keep out of reach (no dunder attributes, frames, sys, importlib or gc in project 2).
_ARMED: list = []


def _check_armed() -> None:
    if not _ARMED:
        raise RuntimeError("a module the grader lent to Sequential was used after its test: write your own")


class RefModule:
    training = True

    def param(self):
        return []

    def zero_grad(self):
        for _, grad in self.param():
            grad.zero_()

    def train(self, mode=True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def __call__(self, *input):
        return self.forward(*input)


class RefLinear(RefModule):
    def __init__(self, in_features, out_features, bias=True):
        _check_armed()
        self.weight = torch.zeros(out_features, in_features)
        self.grad_weight = torch.zeros_like(self.weight)
        self.bias = torch.zeros(out_features) if bias else None
        self.grad_bias = torch.zeros_like(self.bias) if bias else None

    def forward(self, input):
        _check_armed()
        self.input = input
        output = input.mm(self.weight.t())
        return output + self.bias if self.bias is not None else output

    def backward(self, grad):
        _check_armed()
        self.grad_weight.add_(grad.t().mm(self.input))
        if self.bias is not None:
            self.grad_bias.add_(grad.sum(dim=0))
        return grad.mm(self.weight)

    def param(self):
        _check_armed()
        pairs = [(self.weight, self.grad_weight)]
        return pairs + [(self.bias, self.grad_bias)] if self.bias is not None else pairs


class RefActivation(RefModule):
    def __init__(self, name):
        _check_armed()
        self.name = name

    def forward(self, input):
        _check_armed()
        self.output = {"ReLU": input.clamp(min=0), "Tanh": input.tanh(), "Sigmoid": input.sigmoid()}[self.name]
        return self.output

    def backward(self, grad):
        _check_armed()
        y = self.output
        derivative = {"ReLU": (y > 0).to(y.dtype), "Tanh": 1 - y * y, "Sigmoid": y * (1 - y)}[self.name]
        return grad * derivative


def build_reference(spec):
    if spec["cls"] == "Linear":
        return RefLinear(*spec.get("args", []), **spec.get("kwargs", {}))
    if spec["cls"] in ("ReLU", "Tanh", "Sigmoid"):
        return RefActivation(spec["cls"])
    raise ValueError(f"no reference module {spec['cls']!r}")


def build(fw, spec):
    """``{"cls": "Linear", "args": [3, 4], "kwargs": {}}``; Sequential takes ``"children"``; a child with
    ``"reference": True`` is the grader's own module (``RefLinear``, ``RefActivation``), not the student's."""
    if spec.get("reference"):
        return build_reference(spec)
    cls = student_attr(fw, spec["cls"], "framework.py")
    if "children" in spec:
        return cls(*[build(fw, child) for child in spec["children"]])
    return cls(*spec.get("args", []), **spec.get("kwargs", {}))


def param_pairs(module, where: str):
    pairs = module.param()
    if not isinstance(pairs, (list, tuple)) or any(not isinstance(p, (list, tuple)) or len(p) != 2 for p in pairs):
        raise TypeError(f"{where}.param() must return a list of (tensor, gradient) pairs, got {pairs!r:.200}")
    return list(pairs)


def set_params(module, values, where: str) -> None:
    """Give the module the judge's parameter values (dtype included), in ``param()`` order."""
    speed.set_weights(param_pairs(module, where), values, f"{where}.param()")


def grads(module, where: str):
    return [plain(g) for _, g in param_pairs(module, where)]


def module_api(ctx):
    fw = framework(ctx)
    report = {}
    for name in REQUIRED_CLASSES:
        cls = getattr(fw, name, None)
        entry = {"exists": cls is not None}
        if cls is not None and name not in ("Module", "SGD"):
            entry["is_module"] = isinstance(cls, type) and issubclass(cls, fw.Module)
            entry["methods"] = [m for m in ("forward", "backward", "param") if callable(getattr(cls, m, None))]
        report[name] = entry
    relu = fw.ReLU()
    report["relu_param"] = plain(relu.param()) if not isinstance(relu.param(), list) else len(relu.param())
    return report


def forward_backward(ctx, spec, inputs, grad_output=None, params=None, mode=None, param_grads=True):
    """Forward ``inputs``; then backward ``grad_output``. ``param_grads=False``: ``param()`` is never called (the
    activations' tests grade forward and backward only)."""
    fw = framework(ctx)
    _ARMED.append(True)  # the grader's modules of this call work until it returns
    try:
        module = build(fw, spec)
        where = spec["cls"]
        if params is not None:
            set_params(module, params, where)
        if mode is not None:
            getattr(module, mode)()
        result = {"output": plain(module.forward(*inputs))}
        if grad_output is not None:
            result["grad_input"] = plain(module.backward(grad_output))
            if param_grads:
                result["param_grads"] = grads(module, where)
        return result
    finally:
        _ARMED.clear()


def accumulation(ctx, spec, inputs, grad_output, params):
    """The parameter gradients after one forward + backward, then after a second one (no zero_grad between): the
    judge compares the second with twice the student's own first, whatever that first is."""
    fw = framework(ctx)
    module = build(fw, spec)
    where = spec["cls"]
    set_params(module, params, where)
    module.forward(*inputs)
    module.backward(grad_output)
    once = grads(module, where)
    module.forward(*inputs)
    module.backward(grad_output)
    return {"once": once, "twice": grads(module, where)}


def zero_grad(ctx, spec, params, fill):
    """Hold the ``param()`` pairs as an optimiser does, write ``fill`` into their gradient tensors, call the
    module's ``zero_grad()``: the gradients the holder sees afterwards, and those a fresh ``param()`` lists."""
    fw = framework(ctx)
    module = build(fw, spec)
    where = spec["cls"]
    set_params(module, params, where)
    held = param_pairs(module, where)
    for (_, grad), value in zip(held, fill):
        grad.copy_(value)
    module.zero_grad()
    return {"held": [plain(g) for _, g in held], "listed": grads(module, where)}


def loss(ctx, cls, prediction, target, kwargs=None):
    fw = framework(ctx)
    criterion = student_attr(fw, cls, "framework.py")(**(kwargs or {}))
    value = criterion.forward(prediction, target)
    return {"value": plain(value), "grad": plain(criterion.backward())}


def optimizer_steps(ctx, cls, params, step_grads, kwargs):
    """Build ``cls([(p, g), ...], **kwargs)``; for each step copy the judge's gradients into ``g``, step."""
    fw = framework(ctx)
    pairs = [(p.clone(), torch.zeros_like(p)) for p in params]
    optimizer = student_attr(fw, cls, "framework.py")(pairs, **kwargs)
    trajectory = []
    for grads_now in step_grads:
        for (_, g), value in zip(pairs, grads_now):
            g.copy_(value)
        optimizer.step()
        trajectory.append([plain(p) for p, _ in pairs])
    optimizer.zero_grad()
    return {"trajectory": trajectory, "after_zero_grad": [plain(g) for _, g in pairs]}


def circle_predictions(ctx, train_input, train_target, test_input, epochs, lr, batch_size, seed):
    """The kit's fixed circle protocol, built from the student's modules: predictions on ``test_input``."""
    fw = framework(ctx)
    torch.manual_seed(seed)
    model = circle_network(fw, "relu")
    criterion = fw.LossMSE()
    optimizer = fw.SGD(model.param(), lr=lr)
    onehot = torch.zeros(len(train_target), 2)
    onehot[torch.arange(len(train_target)), train_target] = 1
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(train_input))
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            output = model.forward(train_input[batch] - 0.5)
            total += float(criterion.forward(output, onehot[batch]))
            optimizer.zero_grad()
            model.backward(criterion.backward())
            optimizer.step()
        losses.append(total)
    model.eval() if hasattr(model, "eval") else None
    return {"predictions": plain(model.forward(test_input - 0.5).argmax(dim=1)), "losses": losses}


def started(ctx):
    """``True`` once ``Linear.forward`` is written; raises NotImplementedError before (skeleton: "not implemented").

    Any other failure counts as started: the tasks that test the part report it.
    """
    fw = framework(ctx)
    try:
        fw.Linear(2, 2).forward(torch.zeros(1, 2))
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001
        pass
    return True


# ------------------------------------------------------------------------------------------------------
# Benchmarks (tasks p2.bench.*, no points): raw timings only; the judge computes the statistics
# ------------------------------------------------------------------------------------------------------


def _circle_problem(problem: dict):
    return speed.CircleProblem(problem["x"], problem["y"], list(problem["orders"]), list(problem["weights"]))


def bench_circle(ctx, problem, batch_size, lr, momentum, device="cpu", parity_steps=3, rounds=None):
    """The student's framework and torch.nn + autograd on the circle network (``course/project2/speed.py``).

    First ``parity_steps`` training steps in float64 on CPU with the student's framework alone (the judge checks
    the losses and parameters against its own torch reference), then interleaved timed epochs of both sides in
    float32 on ``device``. ``rounds``: keyword arguments of ``speed.interleaved``.
    """
    fw = framework(ctx)
    problem = _circle_problem(problem)
    check = speed.ScratchCircle(fw, problem.to(dtype=torch.float64), batch_size, lr=lr, momentum=momentum)
    losses = speed.circle_steps(check, parity_steps)
    parity = {"losses": losses, "params": [plain(p) for p in check.parameters()]}
    timed = problem.to(device)
    student = speed.ScratchCircle(fw, timed, batch_size, lr=lr, momentum=momentum)
    reference = speed.TorchCircle(timed, batch_size, lr=lr, momentum=momentum)
    measured = speed.interleaved({"student": student.epoch, "torch": reference.epoch}, device=device,
                                 **(rounds or {}))
    return {"parity": parity, **measured}


def bench_layer(ctx, case, x, grad_output, weights, device="cpu", rounds=None):
    """The student's layer ``case`` (a key of ``speed.LAYER_CASES``) and torch.nn's: one forward + backward in
    float64 on CPU (the judge checks it), then interleaved timed rounds of both in float32 on ``device``."""
    fw = framework(ctx)
    problem = speed.LayerProblem(case, x, grad_output, list(weights))
    check = speed.ScratchLayer(fw, problem.to(dtype=torch.float64))
    output, grad_input = check.round()
    parity = {"output": plain(output), "grad_input": plain(grad_input), "grads": [plain(g) for g in check.gradients()]}
    timed = problem.to(device, torch.float32)
    student, reference = speed.ScratchLayer(fw, timed), speed.TorchLayer(timed)
    measured = speed.interleaved({"student": student.round, "torch": reference.round}, device=device,
                                 **(rounds or {}))
    return {"parity": parity, **measured}
