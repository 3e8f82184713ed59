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


def build(fw, spec):
    """``{"cls": "Linear", "args": [3, 4], "kwargs": {}}``; Sequential takes ``"children"``."""
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


def forward_backward(ctx, spec, inputs, grad_output=None, params=None, repeat=1, mode=None):
    """Forward ``inputs``; then backward ``grad_output`` (``repeat`` times, forward each time)."""
    fw = framework(ctx)
    module = build(fw, spec)
    where = spec["cls"]
    if params is not None:
        set_params(module, params, where)
    if mode is not None:
        getattr(module, mode)()
    result = {"output": plain(module.forward(*inputs))}
    if grad_output is not None:
        for i in range(repeat):
            if i:
                module.forward(*inputs)
            grad_input = module.backward(grad_output)
        result["grad_input"] = plain(grad_input)
        result["param_grads"] = grads(module, where)
        if hasattr(module, "zero_grad"):
            module.zero_grad()
            result["after_zero_grad"] = grads(module, where)
    return result


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
