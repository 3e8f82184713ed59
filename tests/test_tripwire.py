"""The worker's autograd tripwire (autograder/sandbox/tripwire.py): every way to switch gradient tracking on inside a
grad-off call is seen; plain tensor code is not."""

from __future__ import annotations

import pytest
import torch

from autograder.sandbox.tripwire import Tripwire, guard_entry_points

guard_entry_points()  # as the worker of project 2 does at start-up (the wrappers pass through outside a tripwire)


def by_enable_grad():
    x = torch.ones(2, requires_grad=True)
    with torch.enable_grad():
        (x * 2).sum().backward()


def by_saved_prev():
    switch = torch.set_grad_enabled(False)
    switch.prev = True
    with switch:
        pass
    x = torch.tensor([1.0, 2.0], **{"requires_" + "grad": True})
    (x * x).sum()
    torch.set_grad_enabled(False)


def by_private_switch():
    torch._C._set_grad_enabled(True)
    x = torch.ones(2, 3, requires_grad=True)
    x.mm(torch.ones(3, 2))
    torch._C._set_grad_enabled(False)


def by_leaving_it_on():
    torch.set_grad_enabled(True)


def by_requires_grad():
    torch.ones(2).requires_grad_()


def by_autograd_grad():
    try:
        torch.autograd.grad(torch.ones(1), [torch.ones(1)])
    except RuntimeError:
        pass


@pytest.mark.parametrize("attack", [by_enable_grad, by_saved_prev, by_private_switch, by_leaving_it_on,
                                    by_requires_grad, by_autograd_grad], ids=lambda f: f.__name__)
def test_every_switch_is_seen(attack):
    guard = Tripwire()
    with torch.set_grad_enabled(False), guard:
        attack()
        guard.check_after()
    assert guard.seen, attack.__name__


def test_plain_tensor_code_trips_nothing():
    guard = Tripwire()
    with torch.set_grad_enabled(False), guard:
        x = torch.randn(5, 3)
        w = torch.randn(4, 3)
        y = torch.relu(x @ w.t()).sum(dim=0)
        y.mul_(2).clone().detach()
        guard.check_after()
    assert guard.seen is None
