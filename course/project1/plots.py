"""Figures of a project-1 run: learning curves, loss curves and the test-accuracy bars."""

from __future__ import annotations

from pathlib import Path

from course import plots
from course.project1.protocol import NetResult, curves


def write_figures(results: dict[str, NetResult], out: Path) -> list[Path]:
    """``learning_curves.png``, ``loss_curves.png`` (when the histories hold those metrics) and
    ``test_accuracy.png`` into ``out``; returns the paths written."""
    out = Path(out)
    paths = []
    acc_curves, loss_curves = {}, {}
    for key, res in results.items():
        for metric, name in (("train_accuracy", "train"), ("test_accuracy", "test")):
            runs = curves(res, metric)
            if runs:
                acc_curves[f"{key}: {name}"] = [[100 * v for v in run] for run in runs]
        for metric, name in (("loss", "train"), ("test_loss", "test")):
            runs = curves(res, metric)
            if runs:
                loss_curves[f"{key}: {name}"] = runs
    if acc_curves:
        paths.append(plots.learning_curves(acc_curves, out / "learning_curves.png", ylabel="accuracy (%)"))
    if loss_curves:
        paths.append(plots.learning_curves(loss_curves, out / "loss_curves.png", ylabel="loss"))
    paths.append(plots.mean_std_bars({key: res.test_accuracy for key, res in results.items()},
                                     out / "test_accuracy.png"))
    return paths
