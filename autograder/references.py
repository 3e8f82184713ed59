"""What the judge compares against, where torch has no one-call answer: the updates of ``torch.optim.SGD`` and
``torch.optim.Adam``, step by step, through their functional forms — the same maths, without the
``torch.compile`` machinery the optimiser classes import on first use (1.6 s of CPU per process)."""

from __future__ import annotations

import torch
from torch.optim.adam import adam as functional_adam
from torch.optim.sgd import sgd as functional_sgd


def torch_sgd(params, lr, momentum=0.0):
    """torch.optim.SGD's update, step by step (its functional form: the same maths, and no torch.compile machinery
    to import in the judge)."""
    buffers = [None] * len(params)

    def step(grads):
        functional_sgd(params, grads, buffers, weight_decay=0.0, momentum=momentum, lr=lr, dampening=0.0,
                       nesterov=False, maximize=False)
    return step


def torch_adam(params, lr, betas, eps):
    """torch.optim.Adam's update, step by step, through its functional form."""
    exp_avg, exp_avg_sq = [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]
    steps = [torch.tensor(0.0, dtype=torch.float64) for _ in params]

    def step(grads):
        functional_adam(params, grads, exp_avg, exp_avg_sq, [], steps, amsgrad=False, beta1=betas[0],
                        beta2=betas[1], lr=lr, weight_decay=0.0, eps=eps, maximize=False)
    return step
