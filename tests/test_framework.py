"""Project 2 framework: every forward against torch's functional form, every backward against autograd.

The framework (``<impl>/project2/framework.py``, ``impl`` = ``$COURSE_IMPL`` or ``solutions``) must not use
autograd itself; these tests may, to compute the reference gradients. Gradients are compared in float64
with the CS231n relative error ``max |a − b| / max(1e-8, |a| + |b|)``, and a failure names the tensor and
the worst index.
"""

import ast
import io
import os
import tokenize
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from autograder.expect import rel_error
from course.submission import load_module, resolve_root

IMPL = os.environ.get("COURSE_IMPL", "solutions")
fw = load_module(IMPL, "project2", "framework")
FRAMEWORK_PATH = resolve_root(IMPL) / "project2" / "framework.py"

F64 = torch.float64
TOL = 1e-7  # relative error, float64
BATCHES = [1, 5]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def worst_rel_error(a, b):
    """(max relative error, index of the worst element), with the grader's CS231n relative error."""
    err = rel_error(torch.as_tensor(a, dtype=F64), torch.as_tensor(b, dtype=F64))
    if err.numel() == 0:
        return 0.0, ()
    flat = int(err.reshape(-1).argmax())
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), err.shape)) if err.dim() else ()
    return float(err.reshape(-1)[flat]), index


def assert_close(name, actual, expected, tol=TOL):
    actual, expected = torch.as_tensor(actual), torch.as_tensor(expected)
    assert tuple(actual.shape) == tuple(expected.shape), \
        f"{name}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
    err, index = worst_rel_error(actual, expected)
    assert err <= tol, (f"{name}: relative error {err:.3g} > {tol:g} at index {index}: "
                        f"got {float(actual[index]):.10g}, expected {float(expected[index]):.10g}")


def linear64(i, o, bias=True):
    return fw.Linear(i, o, bias=bias, dtype=F64)


def conv64(*args, **kwargs):
    return fw.Conv2d(*args, dtype=F64, **kwargs)


def reference_params(module):
    """Leaf copies of the module's parameters for the autograd reference."""
    return [p.detach().clone().requires_grad_(True) for p, _ in module.param()]


def check_module(name, module, reference, input_shape, *, seed=0, positive=False):
    """forward against ``reference(x, *params)``, backward (input and parameter gradients) against autograd."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*input_shape, generator=gen, dtype=F64)
    if positive:
        x = x.abs() + 0.1
    params = reference_params(module)
    x_ref = x.clone().requires_grad_(True)
    expected = reference(x_ref, *params)
    with torch.no_grad():
        output = module(x.clone())
    assert_close(f"{name} forward output", output, expected.detach())
    upstream = torch.randn(expected.shape, generator=gen, dtype=F64)
    expected.backward(upstream)
    with torch.no_grad():
        grad_input = module.backward(upstream.clone())
    assert_close(f"{name} gradient w.r.t. input", grad_input, x_ref.grad)
    names = ["weight", "bias"]
    for k, ((_, grad), ref) in enumerate(zip(module.param(), params)):
        assert_close(f"{name} gradient w.r.t. {names[k] if k < 2 else k}", grad, ref.grad)


# --------------------------------------------------------------------------------------------------
# Linear
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", BATCHES)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(n, bias):
    torch.manual_seed(n)
    layer = linear64(7, 4, bias=bias)
    check_module(f"Linear(7, 4, bias={bias}) N={n}", layer, lambda x, w, b=None: F.linear(x, w, b), (n, 7))


def test_linear_layout_and_init():
    torch.manual_seed(0)
    layer = fw.Linear(400, 300)
    params = layer.param()
    assert [tuple(p.shape) for p, _ in params] == [(300, 400), (300,)]
    assert all(g.shape == p.shape and float(g.abs().sum()) == 0 for p, g in params)
    assert params[0][0] is layer.weight and params[1][0] is layer.bias
    bound = 1 / 400 ** 0.5
    w = layer.weight
    assert float(w.abs().max()) <= bound and float(layer.bias.abs().max()) <= bound
    # uniform(−b, b): std b/√3
    assert abs(float(w.std()) - bound / 3 ** 0.5) < 0.05 * bound
    assert w.dtype == torch.float32
    assert len(fw.Linear(3, 2, bias=False).param()) == 1


def test_backward_accumulates_and_zero_grad_clears():
    torch.manual_seed(0)
    layer = linear64(3, 2)
    x, g = torch.randn(4, 3, dtype=F64), torch.randn(4, 2, dtype=F64)
    layer(x)
    layer.backward(g)
    once = [grad.clone() for _, grad in layer.param()]
    layer(x)
    layer.backward(g)
    for k, ((_, grad), first) in enumerate(zip(layer.param(), once)):
        assert_close(f"accumulated gradient {k}", grad, 2 * first)
    layer.zero_grad()
    assert all(float(grad.abs().sum()) == 0 for _, grad in layer.param())
    # zero_grad clears in place: the (parameter, gradient) pairs handed to an optimiser stay valid
    pairs = layer.param()
    layer(x)
    layer.backward(g)
    assert all(float(grad.abs().sum()) > 0 for _, grad in pairs)


# --------------------------------------------------------------------------------------------------
# Activations and dropout
# --------------------------------------------------------------------------------------------------

ACTIVATIONS = {
    "ReLU": (lambda: fw.ReLU(), F.relu),
    "Tanh": (lambda: fw.Tanh(), torch.tanh),
    "Sigmoid": (lambda: fw.Sigmoid(), torch.sigmoid),
    "LeakyReLU": (lambda: fw.LeakyReLU(), lambda x: F.leaky_relu(x, 0.01)),
    "LeakyReLU(0.2)": (lambda: fw.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)),
}


@pytest.mark.parametrize("n", BATCHES)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation(name, n):
    make, reference = ACTIVATIONS[name]
    check_module(f"{name} N={n}", make(), reference, (n, 6), seed=n)


def test_activations_keep_any_shape_and_have_no_params():
    x = torch.randn(2, 3, 4, 5)
    for name, (make, reference) in ACTIVATIONS.items():
        module = make()
        assert module.param() == [], name
        assert_close(f"{name} on a 4-d input", module(x), reference(x), tol=1e-6)


def test_dropout():
    x = torch.randn(200, 50, dtype=F64)
    drop = fw.Dropout(0.3)
    torch.manual_seed(0)
    y = drop(x)
    kept = y != 0
    assert 0.6 < float(kept.double().mean()) < 0.8
    assert_close("Dropout kept values", y[kept], x[kept] / 0.7)
    g = torch.randn_like(x)
    assert_close("Dropout gradient", drop.backward(g), torch.where(kept, g / 0.7, torch.zeros_like(g)))
    drop.eval()
    assert torch.equal(drop(x), x) and torch.equal(drop.backward(g), g)
    drop.train()
    assert not torch.equal(drop(x), x)
    assert float(fw.Dropout(1.0)(x).abs().sum()) == 0
    assert torch.equal(fw.Dropout(0.0)(x), x)


# --------------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------------


def check_loss(name, loss, reference, prediction, target):
    p_ref = prediction.clone().requires_grad_(True)
    expected = reference(p_ref, target)
    expected.backward()
    with torch.no_grad():
        value = loss(prediction.clone(), target)
        grad = loss.backward()
    assert value.dim() == 0, f"{name} must return a 0-dimensional tensor, got shape {tuple(value.shape)}"
    assert_close(f"{name} value", value, expected.detach())
    assert_close(f"{name} gradient w.r.t. prediction", grad, p_ref.grad)


@pytest.mark.parametrize("n", BATCHES)
def test_loss_mse(n):
    gen = torch.Generator().manual_seed(n)
    p, t = torch.randn(n, 3, generator=gen, dtype=F64), torch.randn(n, 3, generator=gen, dtype=F64)
    check_loss(f"LossMSE N={n}", fw.LossMSE(), F.mse_loss, p, t)


def test_loss_mse_rejects_broadcasting():
    with pytest.raises(ValueError, match="shape"):
        fw.LossMSE()(torch.zeros(4, 1), torch.zeros(4))


@pytest.mark.parametrize("n", BATCHES)
def test_loss_bce_on_logits(n):
    gen = torch.Generator().manual_seed(n)
    z = 4 * torch.randn(n, 2, generator=gen, dtype=F64)
    y = torch.rand(n, 2, generator=gen, dtype=F64)
    check_loss(f"LossBCE N={n}", fw.LossBCE(), F.binary_cross_entropy_with_logits, z, y)


def test_loss_bce_is_stable_for_large_logits():
    z = torch.tensor([[-800.0, 800.0, 30.0]], dtype=F64)
    y = torch.tensor([[1.0, 0.0, 1.0]], dtype=F64)
    check_loss("LossBCE large logits", fw.LossBCE(), F.binary_cross_entropy_with_logits, z, y)


@pytest.mark.parametrize("n", BATCHES)
def test_loss_cross_entropy(n):
    gen = torch.Generator().manual_seed(n)
    z = 3 * torch.randn(n, 4, generator=gen, dtype=F64)
    y = torch.randint(0, 4, (n,), generator=gen)
    check_loss(f"LossCrossEntropy N={n}", fw.LossCrossEntropy(), F.cross_entropy, z, y)
    big = z * 1000
    check_loss("LossCrossEntropy large logits", fw.LossCrossEntropy(), F.cross_entropy, big, y)


# --------------------------------------------------------------------------------------------------
# Sequential
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", BATCHES)
def test_sequential_chains_forward_and_backward(n):
    torch.manual_seed(n)
    model = fw.Sequential(linear64(2, 5), fw.Tanh(), linear64(5, 4), fw.ReLU(), linear64(4, 3, bias=False),
                          fw.Sigmoid())
    pairs = model.param()
    assert len(pairs) == 5
    assert [tuple(p.shape) for p, _ in pairs] == [(5, 2), (5,), (4, 5), (4,), (3, 4)]
    assert pairs[0][0] is model.modules[0].weight and pairs[4][0] is model.modules[4].weight

    def reference(x, w1, b1, w2, b2, w3):
        return torch.sigmoid(F.linear(F.relu(F.linear(torch.tanh(F.linear(x, w1, b1)), w2, b2)), w3))

    check_module(f"Sequential N={n}", model, reference, (n, 2), seed=n)
    model.zero_grad()
    assert all(float(g.abs().sum()) == 0 for _, g in model.param())


def test_sequential_modes_propagate():
    drop = fw.Dropout(0.5)
    model = fw.Sequential(fw.Linear(2, 2), drop)
    model.eval()
    assert not drop.training and not model.training
    model.train()
    assert drop.training


def test_mse_training_step_end_to_end():
    """One full step (forward, loss, backward, SGD) against the same step done by autograd + torch.optim."""
    torch.manual_seed(0)
    model = fw.Sequential(linear64(2, 8), fw.Tanh(), linear64(8, 2))
    params = reference_params(model)
    x, y = torch.randn(10, 2, dtype=F64), torch.randn(10, 2, dtype=F64)
    ref_opt = torch.optim.SGD(params, lr=0.1)
    loss_ref = F.mse_loss(F.linear(torch.tanh(F.linear(x, params[0], params[1])), params[2], params[3]), y)
    loss_ref.backward()
    ref_opt.step()
    criterion, opt = fw.LossMSE(), fw.SGD(model.param(), lr=0.1)
    with torch.no_grad():
        loss = criterion(model(x), y)
        opt.zero_grad()
        model.backward(criterion.backward())
        opt.step()
    assert_close("loss", loss, loss_ref.detach())
    for k, ((p, _), ref) in enumerate(zip(model.param(), params)):
        assert_close(f"parameter {k} after one SGD step", p, ref.detach())


# --------------------------------------------------------------------------------------------------
# Optimisers
# --------------------------------------------------------------------------------------------------


def run_optimizers(make_ours, make_theirs, steps=6):
    gen = torch.Generator().manual_seed(0)
    shapes = [(4, 3), (4,), (2, 4)]
    init = [torch.randn(s, generator=gen, dtype=F64) for s in shapes]
    ours = [(p.clone(), torch.zeros_like(p)) for p in init]
    theirs = [p.clone().requires_grad_(True) for p in init]
    opt, ref = make_ours(ours), make_theirs(theirs)
    for step in range(steps):
        grads = [torch.randn(s, generator=gen, dtype=F64) for s in shapes]
        opt.zero_grad()
        for (_, g), new in zip(ours, grads):
            g.add_(new)
        for p, new in zip(theirs, grads):
            p.grad = new.clone()
        with torch.no_grad():
            opt.step()
        ref.step()
        for k, ((p, _), r) in enumerate(zip(ours, theirs)):
            assert_close(f"parameter {k} after step {step + 1}", p, r.detach(), tol=1e-12)


def test_sgd_matches_torch():
    run_optimizers(lambda p: fw.SGD(p, lr=0.05), lambda p: torch.optim.SGD(p, lr=0.05))


def test_sgd_momentum_matches_torch():
    run_optimizers(lambda p: fw.SGD(p, lr=0.05, momentum=0.9),
                   lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9))


@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}])
def test_adam_matches_torch(kwargs):
    run_optimizers(lambda p: fw.Adam(p, **kwargs), lambda p: torch.optim.Adam(p, **kwargs), steps=8)


def test_optimizer_zero_grad_and_in_place_update():
    p, g = torch.ones(3), torch.full((3,), 2.0)
    opt = fw.SGD([(p, g)], lr=0.5)
    opt.step()
    assert torch.equal(p, torch.zeros(3)), "step() must update the parameter tensor in place"
    opt.zero_grad()
    assert torch.equal(g, torch.zeros(3))


# --------------------------------------------------------------------------------------------------
# Convolutional tier
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", BATCHES)
@pytest.mark.parametrize("kernel,stride,padding", [(3, 1, 0), (3, 2, 1), (2, 2, 0), ((3, 2), 1, (1, 0))])
def test_conv2d(n, kernel, stride, padding):
    torch.manual_seed(n)
    conv = conv64(3, 4, kernel, stride=stride, padding=padding)
    check_module(f"Conv2d k={kernel} s={stride} p={padding} N={n}", conv,
                 lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding), (n, 3, 7, 6), seed=n)


def test_conv2d_layout_and_init():
    torch.manual_seed(0)
    conv = fw.Conv2d(2, 32, kernel_size=3)
    assert tuple(conv.weight.shape) == (32, 2, 3, 3) and tuple(conv.bias.shape) == (32,)
    bound = 1 / (2 * 9) ** 0.5
    assert float(conv.weight.abs().max()) <= bound
    check_module("Conv2d no bias", conv64(2, 3, 2, bias=False), lambda x, w: F.conv2d(x, w), (2, 2, 5, 5))


@pytest.mark.parametrize("n", BATCHES)
@pytest.mark.parametrize("kernel,size", [(2, (6, 8)), (2, (7, 5)), (3, (9, 10))])
def test_maxpool2d(n, kernel, size):
    check_module(f"MaxPool2d({kernel}) on {size} N={n}", fw.MaxPool2d(kernel),
                 lambda x: F.max_pool2d(x, kernel), (n, 3, *size), seed=n)


def test_flatten():
    check_module("Flatten", fw.Flatten(), lambda x: x.flatten(1), (3, 2, 4, 5))


def test_small_convnet_chain():
    torch.manual_seed(0)
    model = fw.Sequential(conv64(2, 4, 3), fw.ReLU(), fw.MaxPool2d(2), conv64(4, 6, 3), fw.ReLU(),
                          fw.MaxPool2d(2), fw.Flatten(), linear64(24, 3))

    def reference(x, w1, b1, w2, b2, w3, b3):
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)
        return F.linear(h.flatten(1), w3, b3)

    check_module("conv net", model, reference, (3, 2, 14, 14))


# --------------------------------------------------------------------------------------------------
# Devices and dtypes
# --------------------------------------------------------------------------------------------------


def test_runs_with_gradient_tracking_off_and_keeps_dtype():
    with torch.set_grad_enabled(False):
        model = fw.Sequential(fw.Linear(2, 4), fw.ReLU(), fw.Linear(4, 2))
        x = torch.randn(3, 2)
        y = model(x)
        grad = model.backward(torch.ones(3, 2))
        assert y.dtype == grad.dtype == torch.float32


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_follows_inputs():
    dev = torch.device("cuda")
    torch.manual_seed(0)
    model = fw.Sequential(fw.Linear(2, 8, device=dev), fw.Tanh(), fw.Linear(8, 3, device=dev),
                          fw.LeakyReLU(), fw.Dropout(0.2))
    crit, opt = fw.LossCrossEntropy(), fw.Adam(model.param(), lr=0.01)
    x, y = torch.randn(16, 2, device=dev), torch.randint(0, 3, (16,), device=dev)
    with torch.set_grad_enabled(False):
        loss = crit(model(x), y)
        opt.zero_grad()
        g = model.backward(crit.backward())
        opt.step()
        assert g.device.type == "cuda" and loss.device.type == "cuda"
        conv = fw.Sequential(fw.Conv2d(1, 2, 3, padding=1, device=dev), fw.MaxPool2d(2), fw.Flatten())
        out = conv(torch.randn(2, 1, 6, 6, device=dev))
        assert conv.backward(torch.ones_like(out)).device.type == "cuda"
        for loss_module, target in ((fw.LossMSE(), torch.zeros(2, 18, device=dev)),
                                    (fw.LossBCE(), torch.ones(2, 18, device=dev))):
            loss_module(out, target)
            assert loss_module.backward().device.type == "cuda"


# --------------------------------------------------------------------------------------------------
# No autograd inside the framework
# --------------------------------------------------------------------------------------------------

FORBIDDEN_TEXT = ("torch.nn", "torch.autograd", "torch.func", "functorch", "requires_grad", "grad_fn",
                  ".backward()")
ALLOWED_IMPORTS = {"torch", "math"}
FORBIDDEN_ATTRIBUTES = {"nn", "autograd", "func", "requires_grad", "requires_grad_", "grad", "grad_fn",
                        "retain_grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
                        "vmap", "functional", "_C"}
FORBIDDEN_NAMES = {"getattr", "__import__", "eval", "exec", "compile", "importlib", "globals"}


def forbidden_uses(source: str) -> list[str]:
    """What ``source`` uses that the exercise forbids (empty when it is clean). See docs/project2-results.md."""
    problems = []
    # text: outside comments too — docstrings count, so the rule is easy to state
    for pattern in FORBIDDEN_TEXT:
        if pattern in source:
            line = source[: source.index(pattern)].count("\n") + 1
            problems.append(f"line {line}: the text {pattern!r}")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in ALLOWED_IMPORTS:
                    problems.append(f"{where}: import {alias.name} (only torch and math may be imported)")
        elif isinstance(node, ast.ImportFrom):
            if node.module != "__future__":
                problems.append(f"{where}: from {node.module} import ... (write `import torch` / `import math`)")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            problems.append(f"{where}: attribute .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"{where}: name {node.id}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "backward"
              and not node.args and not node.keywords):
            problems.append(f"{where}: a call .backward() without arguments (autograd style)")
    return problems


def test_framework_uses_no_autograd():
    problems = forbidden_uses(FRAMEWORK_PATH.read_text())
    assert not problems, f"{FRAMEWORK_PATH} uses forbidden features:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("snippet", [
    "import torch.nn as nn", "from torch import nn", "import torch\nx = torch.nn.functional.relu",
    "import torch\ny.requires_grad_()", "import torch\nloss.backward()", "import torch\nz = x.grad",
    "import torch\nwith torch.no_grad():\n    pass", "import torch\ntorch.autograd.grad(a, b)",
    "import numpy", "import torch\nm = getattr(torch, 'n' + 'n')", "import torch\ntorch.func.vjp(f, x)",
])
def test_scan_catches_forbidden_uses(snippet):
    assert forbidden_uses(snippet)


def test_scan_allows_the_framework_style():
    ok = ("import math\nimport torch\n"
          "g = module.backward(grad)\nself.grad_weight.addmm_(a, b)\nx = torch.tanh(y).unfold(2, 3, 1)\n")
    assert forbidden_uses(ok) == []


# --------------------------------------------------------------------------------------------------
# Students copy what they see: public PyTorch API only (issue 11, item 10)
# --------------------------------------------------------------------------------------------------


def private_torch_uses(source: str) -> list[str]:
    """``torch._x``, ``nn._x``, ``F._x`` … anywhere in an attribute chain rooted at a torch name (dunders aside)."""
    roots = {"torch", "nn", "F", "optim"}
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in roots and any(
                    part.startswith("_") and not part.startswith("__") for part in chain):
                found.append(f"line {node.lineno}: {value.id}.{'.'.join(reversed(chain))}")
    return sorted(set(found))


def test_student_facing_code_uses_public_pytorch_api():
    from course.submission import KIT_ROOT

    assert private_torch_uses("import torch\ntorch._foreach_add_(a, b)\nx = torch.nn._reduction")
    problems = {}
    for folder in ("solutions", "assignments"):
        for path in sorted((KIT_ROOT / folder).rglob("*.py")):
            uses = private_torch_uses(path.read_text())
            if uses:
                problems[str(path.relative_to(KIT_ROOT))] = uses
    assert not problems, f"private PyTorch API in the code students see: {problems}"
