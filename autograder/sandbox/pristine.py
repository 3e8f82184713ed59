"""Torch as the kit left it: a snapshot taken before any student file runs, checked around every measurement.

The probes measure the student's nets with torch itself (``Tensor.argmax`` makes the predictions,
``Tensor.numel`` counts the parameters, ``nn.Module.register_forward_hook`` watches the weight sharing,
``nn.Module.__call__`` runs the net). A file that rebinds one of them at import (``type(x).argmax = ...``,
``Base = nn.Module; Base.__call__ = ...``) would change what is measured without touching the probes. The static
rules (:mod:`autograder.rules`) refuse the ways of writing that they can see; this module is the run-time half:

* :func:`snapshot` (the worker, after it has imported torch, the kit and the probes, before any student file is
  reachable) records the namespace of every class and module the probes rely on (:data:`CLASSES`,
  :data:`MODULES`): ``torch.Tensor``, ``nn.Parameter``, ``nn.Module`` and every module class of ``torch.nn``, the
  optimisers, ``torch``, ``torch.nn.functional``…; and torch's global state that reroutes calls (torch-function
  and dispatch modes, global module hooks);
* :func:`changes` lists what differs from it now (a rebound, added or deleted attribute; a mode pushed; a global
  hook registered), :func:`restore` puts the snapshot back (the additions removed, the modes and hooks dropped).

The worker checks before and after every probe call and after the import of the student's files; a change makes
the reply carry ``integrity`` (the judge withholds the project, :mod:`autograder.integrity`) and torch is restored
before anything else is measured. Costs about a millisecond per check.
"""

from __future__ import annotations

import types

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.modules.module as module_globals

GLOBAL_HOOKS = tuple(name for name in vars(module_globals) if name.startswith("_global_") and name.endswith("hooks"))


def _classes() -> list[type]:
    found: list[type] = [torch.Tensor, nn.Parameter, nn.Module, torch.optim.Optimizer, torch.Generator,
                         torch.autograd.Function, torch.no_grad, torch.enable_grad, torch.set_grad_enabled]
    for namespace in (nn, torch.optim):
        for value in vars(namespace).values():
            if isinstance(value, type) and value not in found and (
                    issubclass(value, (nn.Module, torch.optim.Optimizer))):
                found.append(value)
    return found


def _modules() -> list[types.ModuleType]:
    return [torch, torch.nn, F, torch.nn.init, torch.optim, torch.autograd, torch.linalg, torch.random,
            module_globals]


_GONE = object()
# caches Python itself adds to a class on first use (copyreg's list of slot names, when a tensor is pickled for the
# wire): not a change
IGNORED = frozenset({"__slotnames__"})
CLASSES = _classes()
MODULES = _modules()

# torch patches a few of its own functions lazily, the first time they are needed: ``torch._dynamo``'s import wraps
# ``torch.manual_seed`` in ``torch._disable_dynamo``, and an optimiser class's first instance wraps its ``step`` in
# ``Optimizer.profile_hook_step``. Such a wrapper (its code object is torch's, and the function its closure calls is
# the snapshot's) is torch's own doing: accepted, and the snapshot follows it. Importing torch._dynamo up front
# instead would cost every worker seconds.
_WRAPPERS = {torch._disable_dynamo(len).__code__: "fn", torch.optim.Optimizer.profile_hook_step(len).__code__: "func"}


def _torch_wrapper(value, original) -> bool:
    """Whether ``value`` is ``original`` wrapped (once or more) by one of torch's own lazy patches."""
    for _ in range(4):
        if value is original:
            return True
        code = getattr(value, "__code__", None)
        if code not in _WRAPPERS or value.__closure__ is None:
            return False
        value = value.__closure__[code.co_freevars.index(_WRAPPERS[code])].cell_contents
    return False


def _label(owner: type) -> str:
    """``torch.Tensor``, ``torch.nn.Module``, ``torch.nn.Linear``, ``torch.optim.sgd.SGD``…"""
    module = str(owner.__module__)
    if owner is torch.Tensor:
        module = "torch"
    elif module.startswith("torch.nn."):
        module = "torch.nn"
    return f"{module}.{owner.__qualname__}"


class Snapshot:
    """The namespaces of :data:`CLASSES` (whole) and :data:`MODULES` (their names at the time) and the count of
    torch's global modes and hooks."""

    def __init__(self) -> None:
        self.classes = {owner: dict(vars(owner)) for owner in CLASSES}
        self.modules = {owner: dict(vars(owner)) for owner in MODULES}
        self.hooks = {name: dict(getattr(module_globals, name)) for name in GLOBAL_HOOKS
                      if isinstance(getattr(module_globals, name), dict)}

    def _inherited(self, owner: type, key: str):
        for base in owner.__mro__[1:]:
            if key in self.classes.get(base, {}):
                return self.classes[base][key]
        return _GONE

    def _follow_torch(self) -> None:
        """Take torch's own lazy patches (:func:`_torch_wrapper`) into the snapshot."""
        for owner, saved in self.classes.items():
            for key, value in vars(owner).items():
                old = saved.get(key, _GONE)
                if value is not old and _torch_wrapper(value, self._inherited(owner, key) if old is _GONE else old):
                    saved[key] = value
        for module, saved in self.modules.items():
            for key, old in saved.items():
                value = vars(module).get(key, _GONE)
                if value is not old and _torch_wrapper(value, old):
                    saved[key] = value

    def changes(self) -> list[str]:
        """What differs from the snapshot now, in words (empty when torch is as it was)."""
        self._follow_torch()
        found = []
        for owner, saved in self.classes.items():
            now = vars(owner)
            if len(now) != len(saved) or any(now.get(k, _GONE) is not v for k, v in saved.items()):
                for key in sorted((set(saved) | set(now)) - IGNORED):
                    if now.get(key, _GONE) is not saved.get(key, _GONE):
                        verb = "added" if key not in saved else "deleted" if key not in now else "rebound"
                        found.append(f"{_label(owner)}.{key} {verb}")
        for module, saved in self.modules.items():
            names = vars(module)
            for key, value in saved.items():
                if names.get(key, _GONE) is not value:
                    found.append(f"{module.__name__}.{key} {'deleted' if key not in names else 'rebound'}")
        for name, saved in self.hooks.items():
            if getattr(module_globals, name) is not None and dict(getattr(module_globals, name)) != saved:
                found.append(f"a global module hook registered (torch.nn.modules.module.{name})")
        if torch._C._len_torch_function_stack():
            found.append("a torch function mode left active")
        if torch._C._len_torch_dispatch_stack():
            found.append("a torch dispatch mode left active")
        return found

    def restore(self) -> None:
        """Put every snapshot attribute back, remove the additions, drop the modes and global hooks."""
        for owner, saved in self.classes.items():
            now = vars(owner)
            for key in [k for k in now if k not in saved and k not in IGNORED]:
                try:
                    delattr(owner, key)
                except (AttributeError, TypeError):
                    pass
            for key, value in saved.items():
                if now.get(key, _GONE) is not value:
                    try:
                        type.__setattr__(owner, key, value)
                    except (AttributeError, TypeError):
                        pass
        for module, saved in self.modules.items():
            for key, value in saved.items():
                if vars(module).get(key, _GONE) is not value:
                    setattr(module, key, value)
        for name, saved in self.hooks.items():
            hooks = getattr(module_globals, name)
            if isinstance(hooks, dict):
                hooks.clear()
                hooks.update(saved)
        while torch._C._len_torch_function_stack():
            torch._C._pop_torch_function_stack()
        while torch._C._len_torch_dispatch_stack():
            torch._C._pop_torch_dispatch_stack()


_SNAPSHOT: Snapshot | None = None


def snapshot() -> Snapshot:
    """Take the snapshot (once per process: the worker calls it before any student file is reachable)."""
    global _SNAPSHOT
    if _SNAPSHOT is None:
        _SNAPSHOT = Snapshot()
    return _SNAPSHOT


def changes() -> list[str]:
    return _SNAPSHOT.changes() if _SNAPSHOT is not None else []


def restore() -> None:
    if _SNAPSHOT is not None:
        _SNAPSHOT.restore()


def sighting(found: list[str], when: str) -> str:
    """The worker's ``integrity`` text for what :func:`changes` found."""
    more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
    return f"torch changed by your code {when}: {', '.join(found[:3])}{more}"
