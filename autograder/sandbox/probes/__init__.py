"""Probes: small functions the *worker* runs on the student's code (see :mod:`autograder.sandbox`).

A probe builds the student's objects, feeds them the judge's inputs and returns plain data (tensors,
numbers, strings, lists, dicts). It never decides a grade: the judge compares what comes back. Each probe module
sets ``AUTOGRAD``: whether its probes run with PyTorch's gradient tracking on.
"""

import torch


def plain(value):
    """A detached plain-tensor copy of a tensor; other values are described, not sent."""
    if isinstance(value, torch.Tensor):
        return value.detach().as_subclass(torch.Tensor).clone().cpu()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"not_a_tensor": type(value).__name__, "repr": repr(value)[:200]}


def student_attr(module, name: str, filename: str):
    """``module.name`` or a clear error naming the file that should define it."""
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"{filename} defines no {name}; keep the names of the handout") from None
