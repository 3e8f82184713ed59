"""Figures of the circle task (project 2): loss curves and the decision boundary over the unit square."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from course.data import DISC_RADIUS
from course.plots import plt, save


def plot_loss_curves(histories, path, *, title: str = "circle task: training loss") -> Path:
    """One thin line per round (``histories``: lists of per-epoch losses) and their mean, log-scale loss."""
    fig, ax = plt.subplots(figsize=(6, 4))
    longest = max((len(h) for h in histories), default=0)
    for r, history in enumerate(histories):
        ax.plot(range(1, len(history) + 1), history, lw=0.8, alpha=0.45,
                label="rounds" if r == 0 else None, color="tab:blue")
    if len(histories) > 1 and all(len(h) == longest for h in histories) and longest:
        mean = torch.tensor(histories, dtype=torch.float64).mean(dim=0)
        ax.plot(range(1, longest + 1), mean.tolist(), lw=2, color="tab:orange", label="mean over rounds")
    if any(v > 0 for h in histories for v in h):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean MSE loss over the epoch")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return save(fig, path)


def plot_decision_boundary(predict, test_input, test_target, path, *, resolution: int = 250,
                           title: str = "circle task: decision boundary") -> Path:
    """The predicted class over the unit square, the true circle, and the test points.

    ``predict(points)`` maps raw ``N×2`` points in [0,1]² to labels ``N``. Test points are drawn as dots,
    green when classified correctly and red crosses when not.
    """
    axis = torch.linspace(0, 1, resolution)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    region = predict(grid).detach().to("cpu").reshape(resolution, resolution).float()
    test_input, test_target = test_input.detach().cpu(), test_target.detach().cpu()
    predicted = predict(test_input).detach().cpu()
    wrong = predicted != test_target

    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.imshow(region.numpy(), origin="lower", extent=(0, 1, 0, 1), cmap="coolwarm", vmin=-0.5, vmax=1.5,
              alpha=0.35, interpolation="nearest")
    angle = torch.linspace(0, 2 * math.pi, 400)
    ax.plot(0.5 + DISC_RADIUS * torch.cos(angle), 0.5 + DISC_RADIUS * torch.sin(angle), "k--", lw=1,
            label="true boundary")
    ok = ~wrong
    ax.scatter(test_input[ok, 0], test_input[ok, 1], s=6, c="tab:green", alpha=0.6,
               label=f"correct ({int(ok.sum())})")
    ax.scatter(test_input[wrong, 0], test_input[wrong, 1], s=28, c="tab:red", marker="x",
               label=f"wrong ({int(wrong.sum())})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_title(f"{title}\n(shaded: predicted inside = red, outside = blue)", fontsize=9)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.9)
    return save(fig, path)
