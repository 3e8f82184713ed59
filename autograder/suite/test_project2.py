"""Grading tests of project 2, the framework from scratch.

The student's modules run in the worker (``p2.call``); every expected value is computed here with
``torch.autograd`` in float64 on the same inputs and parameters.
"""

import enum
import math

import pytest
import torch
import torch.nn.functional as F

from autograder import thresholds
from autograder.expect import expect_close, expect_tensor, randn, require
from autograder.integrity import listing
from autograder.plugin import task
from autograder.references import torch_adam, torch_sgd
from autograder.rules import breaches
from course.data import generate_disc_set
from course.project2.spec import N_POINTS

F64 = torch.float64


def linear(i, o, bias=True):
    return {"cls": "Linear", "args": [i, o], "kwargs": {} if bias else {"bias": False}}


def grader_module(spec):
    """The grader's own module for ``spec`` (the probes' ``RefLinear``/``RefActivation``), not the student's: a
    Sequential is graded on these children, so that a wrong Linear or activation costs its own tasks only."""
    return {**spec, "reference": True}


def autograd(fn, inputs, params, grad_output):
    """Output, input gradient and parameter gradients of ``fn(*inputs, *params)`` for upstream ``grad_output``."""
    leaves = [t.detach().clone().requires_grad_(t.is_floating_point()) for t in (*inputs, *params)]
    with torch.enable_grad():
        out = fn(*leaves)
        out.backward(grad_output)
    grads = [t.grad for t in leaves]
    return out.detach(), grads[: len(inputs)], grads[len(inputs):]


def check_linear(p2, batch, fan_in, fan_out, bias, seed):
    x, w = randn(batch, fan_in, seed=seed), randn(fan_out, fan_in, seed=seed + 1)
    params = [w] + ([randn(fan_out, seed=seed + 2)] if bias else [])
    g = randn(batch, fan_out, seed=seed + 3)
    got = p2.call("forward_backward", spec=linear(fan_in, fan_out, bias), inputs=[x], grad_output=g, params=params)
    out, (gx,), gparams = autograd(lambda x, w, *b: F.linear(x, w, *b), [x], params, g)
    what = f"Linear({fan_in}, {fan_out}{'' if bias else ', bias=False'}) on a batch of {batch}"
    expect_close(f"{what}: forward output", got["output"], out,
                 cause="forward must return input @ weight.T + bias, with weight of shape out×in")
    expect_close(f"{what}: gradient w.r.t. the input", got["grad_input"], gx,
                 cause="dL/dx = dL/dy @ weight (shape N×in)")
    expect_close(f"{what}: gradient w.r.t. the weight", got["param_grads"][0], gparams[0],
                 cause="dL/dW = dL/dyᵀ @ x, summed over the batch (shape out×in)")
    if bias:
        expect_close(f"{what}: gradient w.r.t. the bias", got["param_grads"][1], gparams[1],
                     cause="dL/db = dL/dy summed over the batch dimension (shape out)")


# ------------------------------------------------------------------------------------------------ rules


@task("p2.rules")
def test_framework_uses_tensor_operations_only(p2):
    path = p2.folder / "framework.py"
    require(path.is_file(), "project2/framework.py exists", expected="the file", received="nothing",
            cause="keep the file name of the handout")
    p2.call("imports", module="framework")  # a file that does not import is not graded, not a rules violation
    violations = breaches(p2.folder, "project2")  # a violation fails at once, even in a skeleton
    require(not violations, "every file of project2 follows the rules (autograder/rules.py)",
            expected="tensor operations and math only: no torch.nn, no autograd, no dynamic code or reflection",
            received="\n" + listing(violations),
            cause="write every gradient by hand with tensor operations; every task of project2 is withheld for "
                  "your instructor's review until these are gone")
    p2.call("started")  # the rule points are for code you wrote: "not implemented" until Linear.forward is


@task("p2.module.api")
def test_module_api(p2):
    p2.call("started")  # the skeleton's given classes earn nothing: "not implemented" until Linear.forward is
    api = p2.call("module_api")
    missing = [name for name, entry in api.items() if isinstance(entry, dict) and not entry["exists"]]
    require(not missing, "framework.py defines the handout's classes", expected="all of them",
            received=f"missing: {', '.join(missing)}")
    for name, entry in api.items():
        if isinstance(entry, dict) and "is_module" in entry:
            require(entry["is_module"], f"{name} is a subclass of Module", expected=f"class {name}(Module)",
                    received="another base class")
            require(len(entry["methods"]) == 3, f"{name} has forward, backward and param",
                    expected="forward, backward, param", received=", ".join(entry["methods"]))
    require(api["relu_param"] == 0, "ReLU().param() is an empty list", expected="[]", received=str(api["relu_param"]))


# ------------------------------------------------------------------------------------------------ Linear


@task("p2.linear.forward")
@pytest.mark.parametrize("batch", [1, 5])
def test_linear_forward(p2, batch):
    x, w, b = randn(batch, 3, seed=10), randn(4, 3, seed=11), randn(4, seed=12)
    got = p2.call("forward_backward", spec=linear(3, 4), inputs=[x], params=[w, b])
    expect_close(f"Linear(3, 4) forward on a batch of {batch}", got["output"], F.linear(x, w, b),
                 cause="forward must return input @ weight.T + bias; param() must list (weight, bias) in that order")


@task("p2.linear.backward")
# batches > 1 with several outputs: a weight or bias gradient divided by the batch size fails every case
@pytest.mark.parametrize("batch,fan_in,fan_out,bias", [(3, 3, 4, True), (6, 5, 2, True), (4, 3, 3, False)])
def test_linear_backward(p2, batch, fan_in, fan_out, bias):
    check_linear(p2, batch, fan_in, fan_out, bias, seed=20 + batch)


# ------------------------------------------------------------------------------------------------ activations

ACTIVATIONS = {"ReLU": torch.relu, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid}
DERIVATIVES = {"ReLU": "1 where the input > 0, else 0", "Tanh": "1 − tanh(x)²", "Sigmoid": "σ(x)(1 − σ(x))"}


@task("p2.activations.forward")
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_forward(p2, name):
    x = randn(6, 5, seed=30)
    got = p2.call("forward_backward", spec={"cls": name}, inputs=[x])
    expect_close(f"{name} forward", got["output"], ACTIVATIONS[name](x))


@task("p2.activations.backward")
@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("batch", [1, 6])
def test_activation_backward(p2, name, batch):
    x, g = randn(batch, 5, seed=31), randn(batch, 5, seed=32)
    # forward and backward only: param() and zero_grad() of an activation are graded by p2.module.api, not here
    got = p2.call("forward_backward", spec={"cls": name}, inputs=[x], grad_output=g, param_grads=False)
    _, (gx,), _ = autograd(ACTIVATIONS[name], [x], [], g)
    expect_close(f"{name} backward: gradient w.r.t. the input", got["grad_input"], gx,
                 cause=f"multiply the upstream gradient element-wise by the derivative {DERIVATIVES[name]}, "
                       "evaluated at the input stored in forward")


# ------------------------------------------------------------------------------------------------ loss


@task("p2.mse")
# several rows AND several columns: dividing by the batch size (or by nothing) instead of by the number of
# elements fails every case
@pytest.mark.parametrize("shape", [(8, 2), (5, 3), (3, 4)])
def test_mse(p2, shape):
    prediction, target = randn(*shape, seed=40), randn(*shape, seed=41)
    got = p2.call("loss", cls="LossMSE", prediction=prediction, target=target)
    value, (grad,), _ = autograd(F.mse_loss, [prediction], [target], None)
    expect_close(f"LossMSE value for {shape}", expect_tensor("LossMSE value", got["value"]).reshape(()), value,
                 cause="the mean of (prediction − target)² over all elements (not the sum)")
    expect_close(f"LossMSE gradient for {shape}", got["grad"], grad,
                 cause="2 (prediction − target) / number of elements")


# ------------------------------------------------------------------------------------------------ Sequential


@task("p2.sequential")
@pytest.mark.parametrize("batch", [1, 4])
def test_sequential(p2, batch):
    # the grader's own Linear and activations as children: this task grades Sequential alone
    children = [linear(3, 5), {"cls": "Tanh"}, linear(5, 2), {"cls": "ReLU"}]
    spec = {"cls": "Sequential", "children": [grader_module(child) for child in children]}
    params = [randn(5, 3, seed=50), randn(5, seed=51), randn(2, 5, seed=52), randn(2, seed=53)]
    x, g = randn(batch, 3, seed=54), randn(batch, 2, seed=55)
    got = p2.call("forward_backward", spec=spec, inputs=[x], grad_output=g, params=params)
    out, (gx,), gparams = autograd(lambda x, w1, b1, w2, b2: torch.relu(F.linear(torch.tanh(F.linear(x, w1, b1)), w2, b2)),
                                   [x], params, g)
    expect_close("Sequential forward", got["output"], out, cause="apply the modules in order, each on the last output")
    expect_close("Sequential backward: gradient w.r.t. the input", got["grad_input"], gx,
                 cause="call backward of the modules in reverse order, passing each one's result to the previous")
    require(len(got["param_grads"]) == 4, "Sequential.param() lists every module's pairs", expected="4 pairs",
            received=f"{len(got['param_grads'])} pairs", cause="concatenate param() of the modules, in order")
    for i, name in enumerate(["first Linear's weight", "first Linear's bias", "second Linear's weight",
                              "second Linear's bias"]):
        expect_close(f"Sequential backward: gradient of the {name}", got["param_grads"][i], gparams[i])


@task("p2.accumulate")
@pytest.mark.parametrize("bias", [True, False])
def test_gradients_accumulate(p2, bias):
    """Two backward passes without zero_grad give twice the student's OWN one-pass gradient: a wrong gradient that
    accumulates is p2.linear.backward's failure, not this task's."""
    x, g = randn(3, 4, seed=60), randn(3, 2, seed=63)
    params = [randn(2, 4, seed=61)] + ([randn(2, seed=62)] if bias else [])
    got = p2.call("accumulation", spec=linear(4, 2, bias), inputs=[x], grad_output=g, params=params)
    for i, what in enumerate(["weight", "bias"][:len(params)]):
        once = expect_tensor(f"Linear: {what} gradient after one backward pass", got["once"][i],
                             shape=params[i].shape)
        require(bool(once.abs().sum() > 0), f"Linear: one backward pass writes a {what} gradient",
                expected="a non-zero gradient", received="zeros",
                cause="backward must add dL/dW and dL/db to the gradient tensors that param() lists")
        expect_close(f"Linear: {what} gradient after two backward passes (twice your one-pass gradient)",
                     got["twice"][i], 2 * once, cause="backward must ADD to the gradient (grad += ...), not overwrite it")


@task("p2.zero_grad")
@pytest.mark.parametrize("bias", [True, False])
def test_zero_grad_clears_the_gradients_in_place(p2, bias):
    """The optimiser holds the (parameter, gradient) pairs of param(): zero_grad must zero THOSE tensors."""
    p2.call("started")  # the handout gives Module.zero_grad: "not implemented" until Linear.forward is written
    params = [randn(3, 4, seed=64)] + ([randn(3, seed=65)] if bias else [])
    fill = [randn(*p.shape, seed=66 + i) for i, p in enumerate(params)]
    got = p2.call("zero_grad", spec=linear(4, 3, bias), params=params, fill=fill)
    for grad in got["listed"]:
        expect_close("Linear.zero_grad(): the gradients param() lists afterwards", grad, torch.zeros_like(grad),
                     cause="zero_grad must set every gradient of param() to zero")
    for grad in got["held"]:
        expect_close("Linear.zero_grad(): the gradient tensors an optimiser took from param() before", grad,
                     torch.zeros_like(grad),
                     cause="zero_grad must zero the gradient tensors in place (grad.zero_()); binding new tensors "
                           "leaves the optimiser, which holds the old ones, with stale gradients")


# ------------------------------------------------------------------------------------------------ optimizers


def optimizer_check(p2, cls, kwargs, reference, seed, steps=3):
    params = [randn(3, 2, seed=seed), randn(2, seed=seed + 1)]
    step_grads = [[randn(3, 2, seed=seed + 10 * k + 2), randn(2, seed=seed + 10 * k + 3)] for k in range(steps)]
    got = p2.call("optimizer_steps", cls=cls, params=params, step_grads=step_grads, kwargs=kwargs)
    leaves = [p.clone() for p in params]
    step = reference(leaves, **kwargs)
    for k, grads_now in enumerate(step_grads):
        step([g.clone() for g in grads_now])
        for i, leaf in enumerate(leaves):
            expect_close(f"{cls}({kwargs}): parameter {i} after step {k + 1}", got["trajectory"][k][i], leaf)
    for grad in got["after_zero_grad"]:
        expect_close(f"{cls}.zero_grad(): gradient afterwards", grad, torch.zeros_like(grad),
                     cause="zero_grad must zero the gradient tensors of the (parameter, gradient) pairs in place")


@task("p2.sgd")
@pytest.mark.parametrize("lr", [0.1, 0.01])
def test_sgd(p2, lr):
    optimizer_check(p2, "SGD", {"lr": lr}, torch_sgd, seed=70)


@task("p2.circle", timeout=90)
def test_circle_accuracy(p2):
    cfg = thresholds.P2_CIRCLE
    train_input, train_target = generate_disc_set(N_POINTS, seed=cfg["seed"])
    test_input, test_target = generate_disc_set(N_POINTS, seed=cfg["seed"] + 1)
    got = p2.call("circle_predictions", train_input=train_input, train_target=train_target, test_input=test_input,
                  epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"], seed=cfg["seed"])
    predictions = expect_tensor("circle predictions", got["predictions"], shape=test_target.shape)
    accuracy = float((predictions == test_target).double().mean())
    require(accuracy >= cfg["threshold"],
            f"circle task: test accuracy of the 2-25-25-25-2 ReLU network trained with your framework "
            f"({cfg['epochs']} epochs, SGD lr {cfg['lr']}, batch {cfg['batch_size']}, MSE on one-hot targets)",
            expected=f"≥ {100 * cfg['threshold']:.1f}%", received=f"{100 * accuracy:.1f}%",
            cause=circle_diagnosis(got.get("losses")))


class LossCurve(enum.Enum):
    """What the per-epoch training losses of a circle run say (``classify_losses``)."""
    NOT_FINITE = "the training loss became NaN or infinite"
    FROZEN = "the training loss never moves"
    GROWS = "the training loss grows"
    SLOW = "the training loss falls too slowly"
    FALLS = "the training loss falls"
    UNKNOWN = "no training losses"


LOSS_FROZEN = 1e-4     # relative spread below which the loss "never moves" (epochs differ by the shuffling only)
LOSS_SLOW = 0.5        # a final loss above this fraction of the first epoch's fell too slowly

CIRCLE_HINTS = {
    LossCurve.NOT_FINITE: "the updates blow the parameters up — check the sign of SGD.step (p -= lr * grad) and "
                          "that no gradient is multiplied where it should be divided",
    LossCurve.FROZEN: "the parameters are never updated — SGD.step must change the tensors of param() in place "
                      "(p -= lr * grad), param() must list the modules' own tensors (not copies), and backward must "
                      "write into the gradient tensors that param() listed",
    LossCurve.GROWS: "the steps go up the gradient — check the sign of SGD.step (p -= lr * grad) and of LossMSE's "
                     "gradient, 2 (prediction − target) / number of elements",
    LossCurve.SLOW: "the steps are too small — a gradient divided once too often (by the batch size in "
                    "Linear.backward, or twice in LossMSE), or lr not used as given",
    LossCurve.FALLS: "the network learns but predicts wrongly — check Linear.forward on a batch and that the "
                     "network's output is the last module's",
    LossCurve.UNKNOWN: "if every gradient test passes, look at SGD.step (p -= lr * grad) and at param() of Sequential",
}


def classify_losses(losses) -> tuple[LossCurve, str]:
    """The kind of a circle run's training curve (the loss of each epoch, summed over its batches) and a sentence
    describing it."""
    try:
        losses = [float(v) for v in losses]
    except (TypeError, ValueError):
        losses = []
    if not losses:
        return LossCurve.UNKNOWN, LossCurve.UNKNOWN.value
    first, last = losses[0], losses[-1]
    bad = next((k for k, v in enumerate(losses) if not math.isfinite(v)), None)
    if bad is not None:
        return LossCurve.NOT_FINITE, f"the training loss became {losses[bad]} in epoch {bad + 1}"
    curve = f"training loss {first:.4g} in epoch 1, {last:.4g} in epoch {len(losses)}"
    if max(abs(v - first) for v in losses) <= LOSS_FROZEN * max(abs(first), 1e-12):
        kind = LossCurve.FROZEN
    elif last > first:
        kind = LossCurve.GROWS
    elif last > LOSS_SLOW * first:
        kind = LossCurve.SLOW
    else:
        kind = LossCurve.FALLS
    return kind, f"{kind.value} ({curve})"


def circle_diagnosis(losses) -> str:
    """The hint of a circle run below the threshold, read from its per-epoch training losses."""
    kind, described = classify_losses(losses)
    return described + ": " + CIRCLE_HINTS[kind] if kind is not LossCurve.UNKNOWN else CIRCLE_HINTS[kind]


### BEGIN HIDDEN TESTS
@task("p2.hidden.linear")
@pytest.mark.parametrize("batch,fan_in,fan_out", [(13, 9, 6), (2, 1, 7)])
def test_hidden_linear(p2, batch, fan_in, fan_out):
    check_linear(p2, batch, fan_in, fan_out, True, seed=9000 + batch)


@task("p2.hidden.sequential")
def test_hidden_sequential(p2):
    sizes = [6, 11, 7, 3]
    children, params = [], []
    for k, (i, o) in enumerate(zip(sizes, sizes[1:])):
        children += [grader_module(linear(i, o)), grader_module({"cls": "Sigmoid" if k % 2 else "Tanh"})]
        params += [randn(o, i, seed=9100 + k), randn(o, seed=9200 + k)]
    x, g = randn(9, 6, seed=9300), randn(9, 3, seed=9301)

    def reference(x, *ps):
        for k in range(3):
            x = F.linear(x, ps[2 * k], ps[2 * k + 1])
            x = torch.sigmoid(x) if k % 2 else torch.tanh(x)
        return x

    got = p2.call("forward_backward", spec={"cls": "Sequential", "children": children}, inputs=[x],
                  grad_output=g, params=params)
    out, (gx,), gparams = autograd(reference, [x], params, g)
    expect_close("deep Sequential forward", got["output"], out)
    expect_close("deep Sequential: gradient w.r.t. the input", got["grad_input"], gx)
    for i, grad in enumerate(gparams):
        expect_close(f"deep Sequential: gradient of parameter {i}", got["param_grads"][i], grad)
### END HIDDEN TESTS


# ------------------------------------------------------------------------------------------------ bonus


@task("p2.bonus.leaky_relu")
def test_leaky_relu(p2):
    x, g = randn(5, 4, seed=80), randn(5, 4, seed=81)
    got = p2.call("forward_backward", spec={"cls": "LeakyReLU", "args": [0.1]}, inputs=[x], grad_output=g)
    out, (gx,), _ = autograd(lambda x: F.leaky_relu(x, 0.1), [x], [], g)
    expect_close("LeakyReLU(0.1) forward", got["output"], out)
    expect_close("LeakyReLU(0.1) backward", got["grad_input"], gx)


@task("p2.bonus.momentum")
def test_sgd_momentum(p2):
    optimizer_check(p2, "SGD", {"lr": 0.1, "momentum": 0.9}, torch_sgd, seed=90, steps=4)


@task("p2.bonus.adam")
def test_adam(p2):
    optimizer_check(p2, "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8}, torch_adam, seed=100, steps=4)


@task("p2.bonus.bce")
def test_bce(p2):
    logits = randn(6, 1, seed=110) * 3
    target = torch.rand(6, 1, generator=torch.Generator().manual_seed(111), dtype=F64).round()
    got = p2.call("loss", cls="LossBCE", prediction=logits, target=target)
    value, (grad,), _ = autograd(F.binary_cross_entropy_with_logits, [logits], [target], None)
    expect_close("LossBCE value (on logits, mean)", expect_tensor("LossBCE value", got["value"]).reshape(()), value)
    expect_close("LossBCE gradient", got["grad"], grad, cause="(σ(z) − y) / number of elements")


@task("p2.bonus.cross_entropy")
def test_cross_entropy(p2):
    logits = randn(7, 4, seed=120) * 5
    target = torch.randint(0, 4, (7,), generator=torch.Generator().manual_seed(121))
    got = p2.call("loss", cls="LossCrossEntropy", prediction=logits, target=target)
    value, (grad,), _ = autograd(F.cross_entropy, [logits], [target], None)
    expect_close("LossCrossEntropy value", expect_tensor("value", got["value"]).reshape(()), value)
    expect_close("LossCrossEntropy gradient", got["grad"], grad, cause="(softmax − onehot(target)) / N")


@task("p2.bonus.dropout")
def test_dropout(p2):
    x = randn(200, 50, seed=130).abs() + 0.1
    g = randn(200, 50, seed=131)
    train = p2.call("forward_backward", spec={"cls": "Dropout", "args": [0.3]}, inputs=[x], grad_output=g, mode="train")
    out = expect_tensor("Dropout(0.3) output in train mode", train["output"], shape=x.shape)
    kept = out != 0
    fraction = float(kept.double().mean())
    require(0.65 < fraction < 0.75, "Dropout(0.3) in train mode keeps about 70% of the units",
            expected="≈ 0.70", received=f"{fraction:.3f}")
    expect_close("Dropout(0.3): kept units are scaled by 1/(1 − p)", out[kept], x[kept] / 0.7)
    expect_close("Dropout(0.3) backward uses the same mask", train["grad_input"], g * kept / 0.7)
    evaluation = p2.call("forward_backward", spec={"cls": "Dropout", "args": [0.3]}, inputs=[x], mode="eval")
    expect_close("Dropout in eval mode is the identity", evaluation["output"], x)


@task("p2.bonus.conv2d")
@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_conv2d(p2, stride, padding):
    x, w, b = randn(2, 3, 7, 6, seed=140), randn(4, 3, 3, 3, seed=141), randn(4, seed=142)
    out_ref = F.conv2d(x, w, b, stride=stride, padding=padding)
    g = randn(*out_ref.shape, seed=143)
    got = p2.call("forward_backward", spec={"cls": "Conv2d", "args": [3, 4, 3],
                                            "kwargs": {"stride": stride, "padding": padding}},
                  inputs=[x], grad_output=g, params=[w, b])
    out, (gx,), gparams = autograd(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding), [x], [w, b], g)
    what = f"Conv2d(3, 4, 3, stride={stride}, padding={padding})"
    expect_close(f"{what} forward", got["output"], out)
    expect_close(f"{what}: gradient w.r.t. the input", got["grad_input"], gx)
    expect_close(f"{what}: gradient w.r.t. the weight", got["param_grads"][0], gparams[0])
    expect_close(f"{what}: gradient w.r.t. the bias", got["param_grads"][1], gparams[1])


@task("p2.bonus.maxpool")
def test_maxpool(p2):
    x = randn(2, 3, 6, 4, seed=150)
    g = randn(2, 3, 3, 2, seed=151)
    got = p2.call("forward_backward", spec={"cls": "MaxPool2d", "args": [2]}, inputs=[x], grad_output=g)
    out, (gx,), _ = autograd(lambda x: F.max_pool2d(x, 2), [x], [], g)
    expect_close("MaxPool2d(2) forward", got["output"], out)
    expect_close("MaxPool2d(2) backward: the gradient goes to each window's maximum", got["grad_input"], gx)


@task("p2.bonus.flatten")
def test_flatten(p2):
    x, g = randn(3, 2, 4, 5, seed=160), randn(3, 40, seed=161)
    got = p2.call("forward_backward", spec={"cls": "Flatten"}, inputs=[x], grad_output=g)
    expect_close("Flatten forward (N×C×H×W -> N×CHW)", got["output"], x.reshape(3, -1))
    expect_close("Flatten backward (back to the input's shape)", got["grad_input"], g.reshape(x.shape))
