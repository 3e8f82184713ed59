"""Figures for the course: sample pairs, learning curves, result bars. Always rendered off-screen (Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save(fig, path) -> Path:
    """Write ``fig`` to ``path`` (folders created), close it, and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def show_pairs(pair_input, target, classes, path, *, n: int = 16, columns: int = 4) -> Path:
    """A grid of ``n`` digit pairs (``N×2×14×14``) titled with their classes and target, saved as PNG."""
    n = min(n, len(pair_input))
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, 2 * columns, figsize=(2.0 * columns, 1.25 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        r, c = divmod(i, columns)
        a, b = int(classes[i, 0]), int(classes[i, 1])
        for k in range(2):
            axes[r, 2 * c + k].imshow(pair_input[i, k].numpy(), cmap="gray_r", vmin=0, vmax=255)
        axes[r, 2 * c].set_title(f"{a} {'≤' if int(target[i]) else '>'} {b}", loc="left", fontsize=9,
                                 color="tab:green" if int(target[i]) else "tab:red")
    fig.suptitle("digit pairs: target 1 (green) when first ≤ second", fontsize=10)
    return save(fig, path)
