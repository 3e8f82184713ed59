"""The worker's autograd tripwire for project 2: gradient tracking used during a call into the student's code,
however it was reached (issue 21).

The static rules (:mod:`autograder.rules`) read the code; they cannot see everything (a tensor's ``.backward()``
reads like a module's, a context manager's saved state can be set before its exit restores it). The tripwire
watches what runs instead, at no cost to code that does not use autograd. A probe of project 2 runs with gradient
tracking off and inside :class:`Tripwire`, which records the first of

* a graph being built: autograd saving a tensor for a backward pass (``torch.autograd.graph.saved_tensors_hooks``
  calls the tripwire's pack hook; it runs only when an operation records a graph, so only when gradient tracking
  was switched on — however: ``enable_grad``, ``set_grad_enabled(True)``, a restored ``prev``, ``torch._C``);
* a call of an autograd entry point (``Tensor.backward``, ``torch.autograd.grad``/``backward``,
  ``requires_grad_``, ``register_hook``, ``retain_grad``): the worker wraps them once (:func:`guard_entry_points`)
  before any student file runs, and the wrappers report to the tripwire of the call in progress;
* gradient tracking still on when the call returns.

The probe's reply then carries ``"integrity": <what was seen>``, and the judge withholds project 2's points.

What it relies on: the hooks are pushed and the entry points wrapped by the worker before the student's code
runs; undoing either needs ``torch.autograd`` (``disable_saved_tensors_hooks``), ``torch._C`` or the engine's
private handle, assigning to an attribute of ``torch`` (restoring an entry point), or another thread (hooks and the
grad flag are per thread) — each refused by the static rules in project 2 (``torch.autograd``, ``torch._*``,
module patching, ``threading`` are not allowed there). A graph that saves no tensor (sums and additions only)
escapes the hook, and is caught if its ``.backward()`` runs. The probes of the benchmarks are exempt: their
reference side is torch.nn + autograd by design, and they carry no points. A ``TorchFunctionMode`` would see every
operation, but doubled the circle task's time (1.3 s → 2.8 s); these hooks cost nothing measurable.
"""

from __future__ import annotations

import functools

import torch

ENTRY_POINTS = ((torch.Tensor, "backward"), (torch.autograd, "grad"), (torch.autograd, "backward"),
                (torch.Tensor, "requires_grad_"), (torch.Tensor, "register_hook"), (torch.Tensor, "retain_grad"))


class Tripwire:
    """A context manager around one call into the student's code; :attr:`seen` is its first sighting (or None)."""

    active: Tripwire | None = None  # the tripwire of the call in progress, for the entry points' wrappers

    def __init__(self):
        self.seen: str | None = None
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)

    def saw(self, what: str) -> None:
        if self.seen is None:
            self.seen = what

    def _pack(self, tensor):
        self.saw("gradient tracking was on and your code built an autograd graph")
        return tensor

    @staticmethod
    def _unpack(tensor):
        return tensor

    def __enter__(self) -> Tripwire:
        self._hooks.__enter__()
        Tripwire.active = self
        return self

    def __exit__(self, *exc) -> None:
        Tripwire.active = None
        self._hooks.__exit__(*exc)

    def check_after(self) -> None:
        """At the end of the call, still inside the grad-off block: was tracking left on?"""
        if torch.is_grad_enabled():
            self.saw("gradient tracking was switched on during your code")


def _guarded(owner, name: str):
    original = getattr(owner, name)
    label = f"{'Tensor' if owner is torch.Tensor else 'torch.autograd'}.{name}"

    @functools.wraps(original)
    def entry(*args, **kwargs):
        if Tripwire.active is not None:
            Tripwire.active.saw(f"your code called {label} (autograd)")
        return original(*args, **kwargs)

    return entry


def guard_entry_points() -> None:
    """Wrap torch's autograd entry points so that a call during a tripwire is reported (once per process)."""
    if getattr(torch.Tensor.backward, "__tripwire__", False):
        return
    for owner, name in ENTRY_POINTS:
        wrapper = _guarded(owner, name)
        wrapper.__tripwire__ = True
        setattr(owner, name, wrapper)
