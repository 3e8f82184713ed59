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


class Missing(AttributeError):
    """A class or function the handout names is not defined (a bonus part not attempted, or a renamed one)."""


def student_attr(module, name: str, filename: str):
    """``module.name`` or :class:`Missing` naming the file that should define it."""
    try:
        return getattr(module, name)
    except AttributeError:
        raise Missing(f"{filename} defines no {name}; keep the names of the handout") from None


def imports(ctx, module: str) -> bool:
    """``True`` once the student's ``<module>.py`` imports; its import error otherwise."""
    ctx.module(module)
    return True
