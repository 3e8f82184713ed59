"""Figures for the course: sample pairs, learning curves, result bars. Always rendered off-screen (Agg).

The figure builders return a matplotlib figure (so tests can read the axes they set); :func:`save` writes one."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course.files import atomic_write  # noqa: E402


def save(fig, path) -> Path:
    """Write ``fig`` to ``path`` (folders created; the format from its suffix, PNG by default) atomically, close
    it, and return the path."""
    path = Path(path)
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=path.suffix.lstrip(".") or "png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return atomic_write(path, buffer.getvalue())


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


def family_colors(families) -> list:
    """One colour per family, in order (matplotlib's default cycle), the same in every figure of a run."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return [cycle[i % len(cycle)] for i, _ in enumerate(families)]


def draw_curves(ax, curves: dict, colors: dict | None = None) -> int:
    """Draw mean per-epoch curves with a ±1 std band into ``ax``; return the number of epochs drawn.

    ``curves`` maps a label (e.g. ``"siamese: test"``) to a list of runs, each a list of per-epoch values
    (epoch 1 first); runs of unequal length are cut to the shortest. Labels ending in ``train`` are dashed and
    share the colour of the other curves of their family (the part before the last ``:``): ``colors[family]``
    when given (so a family keeps its colour across panels and figures), else the next of the cycle.
    """
    import numpy as np

    colors, epochs_drawn = dict(colors or {}), 0
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
                        marker="o" if length <= 10 else None, markersize=3, label=f"{label} (n={len(values)})")
        colors.setdefault(family, line.get_color())
        ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
        epochs_drawn = max(epochs_drawn, length)
    return epochs_drawn


def epoch_axis(ax, epochs: int) -> None:
    """Whole epochs on the x axis of ``ax``, from 1 to ``epochs`` (a little margin at both ends)."""
    from matplotlib.ticker import MaxNLocator

    margin = max(0.25, 0.02 * epochs)
    ax.set_xlim(1 - margin, max(epochs, 1) + margin)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(max(epochs, 1), 10)))
    ax.set_xlabel("epoch")


def legend_outside(ax) -> None:
    """The legend of ``ax`` to the right of its axes, where it can hide no data."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def learning_curves(panels: dict, *, ylabel: str, title: str | None = None, colors: dict | None = None):
    """A figure of per-epoch curves (mean ± 1 std over rounds), one panel per entry of ``panels``.

    ``panels`` maps a panel title (``""`` for none) to curves as :func:`draw_curves` takes them. Panels are
    stacked, share the epoch axis and have their own y axis, so quantities of different scales (e.g. a loss with
    auxiliary terms) do not flatten each other; ``colors`` maps a family to its colour in every panel. Returns
    the matplotlib figure (save it with :func:`save`).
    """
    panels = {name: curves for name, curves in panels.items() if curves}
    fig, axes = plt.subplots(max(len(panels), 1), 1, figsize=(7.5, 3.6 * max(len(panels), 1)), sharex=True,
                             squeeze=False)
    epochs = 1
    for ax, (name, curves) in zip(axes[:, 0], panels.items()):
        epochs = max(epochs, draw_curves(ax, curves, colors))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if name:
            ax.set_title(name, fontsize=9)
        legend_outside(ax)
    for ax in axes[:, 0]:
        epoch_axis(ax, epochs)
        ax.xaxis.set_tick_params(labelbottom=True)
    fig.suptitle(title or f"{ylabel} per epoch (mean ± 1 std over rounds)", fontsize=10)
    fig.tight_layout()
    return fig


def mean_std_bars(values: dict, *, ylabel: str = "test accuracy (%)", scale: float = 100.0,
                  chance: float | None = None, title: str | None = None):
    """A bar per label: the mean of its values with a ±1 std error bar (values scaled by ``scale``).

    The y axis runs from 0 to ``scale`` (the full range of an accuracy), so bar heights compare honestly; each
    bar's mean ± std is written under its label, away from the bars and the title. ``chance`` (on the scaled
    axis) draws a dashed reference line, e.g. 50 for a two-class guess. Returns the matplotlib figure.
    """
    import numpy as np

    labels = [k for k, v in values.items() if len(v)]
    data = [np.asarray(values[k], dtype=float) * scale for k in labels]
    means = [d.mean() for d in data]
    stds = [d.std(ddof=1) if len(d) > 1 else 0.0 for d in data]
    fig, ax = plt.subplots(figsize=(2.4 + 1.6 * len(labels), 4))
    ax.bar(range(len(labels)), means, yerr=stds, capsize=6, color=family_colors(labels)[:len(labels)],
           error_kw={"clip_on": False})
    ax.set_xticks(range(len(labels)),
                  [f"{k}\n{m:.2f} ± {s:.2f}" for k, m, s in zip(labels, means, stds)], fontsize=8)
    ax.set_ylim(0, scale)
    ax.set_ylabel(ylabel)
    if chance is not None:
        ax.axhline(chance, color="0.3", linestyle="--", linewidth=1, label=f"random guess ({chance:g}{'%' if scale == 100 else ''})")
        legend_outside(ax)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or f"{ylabel}: mean ± 1 std over rounds", fontsize=10)
    return fig
