"""Probes for project 1 (digit pairs): build the student's nets, run them, train them.

Test labels never reach this process: training probes get the training set and the test *inputs* only,
and return predictions that the judge scores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder.sandbox.probes import imports, plain, student_attr  # noqa: F401 - imports is a probe
from course.project1.spec import NETS, fixed_arguments, split_output

AUTOGRAD = True  # the student's networks train with autograd
TRIPWIRE_EXEMPT: frozenset[str] = frozenset()  # no tripwire: project 1 trains with autograd
# the measuring methods, taken before any student file runs and called unbound: a class of the student's that
# redefines them is not asked (the worker also restores torch's own before each call: autograder/sandbox/pristine.py)
NUMEL, ARGMAX, FORWARD_HOOK = torch.Tensor.numel, torch.Tensor.argmax, torch.nn.Module.register_forward_hook


def make_net(ctx, net: str, seed: int):
    torch.manual_seed(seed)
    return student_attr(ctx.module("models"), NETS[net].class_name, "models.py")()


def run_net(model, x):
    """``(target_logits, digit_logits)`` from the student's forward, with a clear error for anything else."""
    return split_output(model(x), type(model).__name__)


def forward(ctx, net, x, seed=0):
    model = make_net(ctx, net, seed)
    model.eval()
    with torch.no_grad():
        target_logits, digit_logits = run_net(model, x)
        swapped_target, swapped_digits = run_net(model, x[:, [1, 0]])
    return {"target": plain(target_logits), "digits": plain(digit_logits),
            "swapped_digits": plain(swapped_digits),
            "n_params": sum(NUMEL(p) for p in model.parameters())}


def sharing(ctx, net, x, seed=0):
    """Which modules holding parameters run, how often, and on which batch sizes, in one forward."""
    model = make_net(ctx, net, seed)
    model.eval()
    calls, handles = {}, []
    for name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            def hook(mod, args, out, name=name):
                first = args[0] if args and isinstance(args[0], torch.Tensor) else None
                calls.setdefault(name, []).append(int(first.shape[0]) if first is not None else -1)
            handles.append(FORWARD_HOOK(module, hook))
    with torch.no_grad():
        run_net(model, x)
    for h in handles:
        h.remove()
    return {"calls": calls, "batch": int(x.shape[0])}


def pair_loss(ctx, target_logits, digit_logits, target, classes, aux_weight):
    value = student_attr(ctx.module("train"), "pair_loss", "train.py")(
        target_logits, digit_logits, target, classes, aux_weight)
    return plain(value)


def _predict(model, x):
    model.eval()
    with torch.no_grad():
        target_logits, digit_logits = run_net(model, x)
    with torch._C.DisableTorchFunctionSubclass():  # torch's own argmax, whatever class the logits are
        return {"target": plain(ARGMAX(target_logits, dim=1)),
                "digits": plain(ARGMAX(digit_logits, dim=2)) if digit_logits is not None else None}


def untrained(model, x):
    """The net's target predictions before any training (the judge withholds the accuracy of a net that is already
    far above chance: it did not earn it by training). The net's train/eval mode is left as it was."""
    was = model.training
    predictions = _predict(model, x)["target"]
    model.train(was)
    return predictions


SHUFFLES = 3  # draws of the shuffled-parameters check; the judge keeps the lowest accuracy


def scrambled(model, x, seed):
    """The net's target predictions with every parameter tensor's entries shuffled, for each of :data:`SHUFFLES`
    seeded permutations (the buffers, BatchNorm's running statistics say, are kept): a net whose accuracy comes
    from its trained parameters falls to chance in each (the judge withholds the accuracy of one that does not).
    The parameters are put back after."""
    saved = [p.detach().clone() for p in model.parameters()]
    generator = torch.Generator().manual_seed(int(seed) * 7 + 3)
    draws = []
    try:
        for _ in range(SHUFFLES):
            with torch.no_grad():
                for p, value in zip(model.parameters(), saved):
                    flat = value.reshape(-1)
                    p.copy_(flat[torch.randperm(flat.numel(), generator=generator)].reshape(p.shape))
            draws.append(_predict(model, x)["target"])
        return draws
    finally:
        with torch.no_grad():
            for p, value in zip(model.parameters(), saved):
                p.copy_(value)


def train_kit(ctx, net, train_input, train_target, train_classes, test_input, *, epochs, batch_size, lr,
              aux_weight, seed):
    """The kit's fixed protocol: Adam, cross-entropy on the target + aux_weight × digit cross-entropies."""
    model = make_net(ctx, net, seed)
    before = untrained(model, test_input)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(train_input), generator=generator).split(batch_size):
            target_logits, digit_logits = run_net(model, train_input[batch])
            loss = F.cross_entropy(target_logits, train_target[batch])
            if digit_logits is not None:
                loss = loss + aux_weight * (F.cross_entropy(digit_logits[:, 0], train_classes[batch, 0])
                                            + F.cross_entropy(digit_logits[:, 1], train_classes[batch, 1]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return {**_predict(model, test_input), "untrained": before, "scrambled": scrambled(model, test_input, seed)}


def train_student(ctx, net, train_input, train_target, train_classes, test_input, *, epochs, seed):
    """The student's own ``train_model`` and ``accuracy`` on the student's net, as the student wrote them: the kit
    fixes the data, the net (built from ``seed``), the epoch budget and the seed (:data:`TRAIN_MODEL_FIXED`); the
    optimiser, learning rate, batch size and loss weight are the student's own defaults."""
    train = ctx.module("train")
    model = make_net(ctx, net, seed)
    before = untrained(model, test_input)
    train_model = student_attr(train, "train_model", "train.py")
    history = train_model(model, train_input, train_target, train_classes,
                          **fixed_arguments(train_model, epochs=epochs, seed=seed))
    history_ok = isinstance(history, (list, tuple)) and all(isinstance(h, dict) and "loss" in h for h in history)
    student_train_accuracy = student_attr(train, "accuracy", "train.py")(model, train_input, train_target)
    return {"test": _predict(model, test_input), "train": _predict(model, train_input),
            "history_ok": history_ok, "history_len": len(history) if history_ok else -1,
            "history_repr": repr(history)[:200],
            "student_train_accuracy": float(student_train_accuracy), "untrained": before,
            "scrambled": scrambled(model, test_input, seed)}


def started(ctx):
    """``True`` once ``BaselineNet`` is written; raises NotImplementedError before (skeleton: "not implemented").

    Any other failure counts as started: the tasks that test the part report it.
    """
    try:
        model = make_net(ctx, "baseline", 0)
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 2, 14, 14))
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001
        pass
    return True
