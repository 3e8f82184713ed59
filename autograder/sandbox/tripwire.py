"""The worker's autograd tripwire for project 2: gradient tracking used during a call into the student's code,
however it was reached (issue 21).

The static rules (:mod:`autograder.rules`) read the code; they cannot see everything (a tensor's ``.backward()``
reads like a module's, a context manager's saved state can be set before its exit restores it). The tripwire
watches what runs instead. A probe of project 2 runs with gradient tracking off and inside :class:`Tripwire`, a
``torch.overrides.TorchFunctionMode``: every torch function and tensor method the call runs passes through it, and
it records the first of

* an operation that ran while gradient tracking was on (``enable_grad``, ``set_grad_enabled(True)``, a restored
  ``prev``, ``torch._C._set_grad_enabled``: whatever switched it on, the operations after it see it on);
* a call of an autograd entry point (``Tensor.backward``, ``torch.autograd.grad``/``backward``,
  ``requires_grad_``, ``register_hook``, ``retain_grad``);
* a result tensor that requires grad or carries a graph (``grad_fn``);
* gradient tracking still on when the call returns.

The probe's reply then carries ``"integrity": <what was seen>``, and the judge withholds project 2's points.

What it relies on: the mode is pushed by the worker before the student's function is called, and the student's
code could leave it only by popping it (``torch.overrides``, ``torch._C``), by running torch with torch functions
disabled (``torch._C.DisableTorchFunction``), or in another thread (a mode and the grad flag are per thread) — each
needs a module or an attribute the static rules forbid in project 2 (``torch._C``, ``torch.overrides``,
``threading``/``concurrent`` are not importable there). The probes of the benchmarks are exempt: their reference
side is torch.nn + autograd by design, and they carry no points.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

ENTRY_POINTS = {torch.Tensor.backward, torch.autograd.grad, torch.autograd.backward, torch.Tensor.requires_grad_,
                torch.Tensor.register_hook, torch.Tensor.retain_grad}


def _name(func) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


def _graph(value) -> bool:
    return isinstance(value, torch.Tensor) and (value.requires_grad or value.grad_fn is not None)


class Tripwire(TorchFunctionMode):
    """Records the first sign of autograd during the student's call in :attr:`seen` (None: nothing seen)."""

    def __init__(self):
        super().__init__()
        self.seen: str | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.seen is None:
            if func in ENTRY_POINTS:
                self.seen = f"your code called {_name(func)} (autograd)"
            elif torch.is_grad_enabled():
                self.seen = f"gradient tracking was on when your code ran {_name(func)}"
        result = func(*args, **kwargs)
        if self.seen is None and (_graph(result) or isinstance(result, (tuple, list))
                                  and any(_graph(r) for r in result)):
            self.seen = f"{_name(func)} returned a tensor that tracks gradients"
        return result

    def check_after(self) -> None:
        """At the end of the call, still inside the grad-off block: was tracking left on?"""
        if self.seen is None and torch.is_grad_enabled():
            self.seen = "gradient tracking was switched on during your code"
