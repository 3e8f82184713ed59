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


def learning_curves(curves: dict, path, *, ylabel: str = "accuracy", title: str | None = None) -> Path:
    """Mean per-epoch curves with a ±1 std band, saved as PNG.

    ``curves`` maps a label (e.g. ``"siamese: test"``) to a list of runs, each a list of per-epoch values;
    runs of unequal length are cut to the shortest. Labels whose name ends in ``train`` are drawn dashed.
    """
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = {}
    for label, runs in curves.items():
        runs = [list(r) for r in runs if len(r)]
        if not runs:
            continue
        length = min(len(r) for r in runs)
        values = np.array([r[:length] for r in runs], dtype=float)
        mean = values.mean(axis=0)
        std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(length)
        epochs = np.arange(1, length + 1)
        family = label.rsplit(":", 1)[0]
        dashed = label.rstrip().endswith("train")
        line, = ax.plot(epochs, mean, linestyle="--" if dashed else "-", color=colors.get(family),
                        label=f"{label} (n={len(values)})")
        colors.setdefault(family, line.get_color())
        ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{ylabel} per epoch (mean ± 1 std over rounds)", fontsize=10)
    return save(fig, path)


def mean_std_bars(values: dict, path, *, ylabel: str = "test accuracy (%)", scale: float = 100.0,
                  title: str | None = None) -> Path:
    """A bar per label: the mean of its values with a ±1 std error bar (values scaled by ``scale``)."""
    import numpy as np

    labels = [k for k, v in values.items() if len(v)]
    data = [np.asarray(values[k], dtype=float) * scale for k in labels]
    means = [d.mean() for d in data]
    stds = [d.std(ddof=1) if len(d) > 1 else 0.0 for d in data]
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(labels), 4))
    bars = ax.bar(range(len(labels)), means, yerr=stds, capsize=6, color=plt.cm.tab10.colors[:len(labels)])
    for bar, m, s in zip(bars, means, stds):
        ax.text(bar.get_x() + bar.get_width() / 2, m + s, f"{m:.2f}\n± {s:.2f}", ha="center", va="bottom",
                fontsize=8)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel(ylabel)
    if means:
        low = min(m - 2 * s for m, s in zip(means, stds))
        ax.set_ylim(max(0.0, low - 5), min(scale, max(m + s for m, s in zip(means, stds))) * 1.03)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or f"{ylabel}: mean ± 1 std over rounds", fontsize=10)
    return save(fig, path)
