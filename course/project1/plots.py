"""Figures of a project-1 run: learning curves, loss curves and the test-accuracy bars."""

from __future__ import annotations

from pathlib import Path

from course import plots
from course.project1.protocol import NetResult, curves
from course.project1.spec import NETS

CHANCE = 50.0  # test accuracy (%) of a random guess between the two targets
TARGET_LOSS = "cross-entropy on the target"
COMBINED_LOSS = "target + auxiliary digit cross-entropies (a different scale)"


def _loss_panel(key: str) -> str:
    """The loss panel of network ``key``: a network with digit logits is trained on the combined loss."""
    return COMBINED_LOSS if key in NETS and NETS[key].digits else TARGET_LOSS


def figures(results: dict[str, NetResult]) -> dict[str, object]:
    """The figures of a run, by file name: ``learning_curves.png`` and ``loss_curves.png`` (when the histories
    hold those metrics) and ``test_accuracy.png``, as matplotlib figures (nothing written)."""
    acc_curves: dict[str, list[list[float]]] = {}
    loss_panels: dict[str, dict[str, list[list[float]]]] = {TARGET_LOSS: {}, COMBINED_LOSS: {}}
    for key, res in results.items():
        for metric, name in (("train_accuracy", "train"), ("test_accuracy", "test")):
            runs = curves(res, metric)
            if runs:
                acc_curves[f"{key}: {name}"] = [[100 * v for v in run] for run in runs]
        for metric, name in (("loss", "train"), ("test_loss", "test")):
            runs = curves(res, metric)
            if runs:
                loss_panels[_loss_panel(key)][f"{key}: {name}"] = runs
    colors = dict(zip(results, plots.family_colors(results)))  # a network keeps its colour in every figure
    found = {}
    if acc_curves:
        found["learning_curves.png"] = plots.learning_curves({"": acc_curves}, ylabel="accuracy (%)", colors=colors)
    if any(loss_panels.values()):
        found["loss_curves.png"] = plots.learning_curves(loss_panels, ylabel="loss", colors=colors)
    found["test_accuracy.png"] = plots.mean_std_bars({key: res.test_accuracy for key, res in results.items()},
                                                     chance=CHANCE)
    return found


def write_figures(results: dict[str, NetResult], out: Path) -> list[Path]:
    """Write :func:`figures` into ``out``; returns the paths written."""
    return [plots.save(fig, Path(out) / name) for name, fig in figures(results).items()]
