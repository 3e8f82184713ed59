"""The figures of a project-1 run read right for a short run and a long one: accuracy bars from 0 with the chance
level marked and no label in the title's way, whole epochs on the x axis, legends beside the data, and the
auxiliary net's combined loss on its own axis. Built from synthetic results (no training), inspected before
saving."""

from __future__ import annotations

import math

import pytest

from course import plots
from course.project1 import plots as p1_plots
from course.project1.protocol import NetResult

NETS = {"baseline": 0.70, "siamese": 0.65, "aux": 4.5}  # key -> first-epoch training loss (aux: combined loss)


def synthetic_results(epochs: int, rounds: int = 2) -> dict[str, NetResult]:
    """Three networks whose losses decay from NETS[key] and accuracies rise towards 60-90%, ``rounds`` rounds."""
    results = {}
    for i, (key, loss0) in enumerate(NETS.items()):
        res = NetResult(key=key, label=key)
        for r in range(rounds):
            history = [{"epoch": e, "loss": loss0 * math.exp(-0.05 * e) + 0.01 * r,
                        "test_loss": loss0 * math.exp(-0.04 * e), "train_accuracy": 0.6 + 0.1 * i * e / epochs,
                        "test_accuracy": 0.55 + 0.1 * i * e / epochs + 0.01 * r} for e in range(1, epochs + 1)]
            res.histories.append(history)
            res.test_accuracy.append(history[-1]["test_accuracy"])
        results[key] = res
    return results


def _drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _visible_ticks(ax) -> list[float]:
    low, high = ax.get_xlim()
    return [t for t in ax.get_xticks() if low <= t <= high]


@pytest.fixture(params=[2, 40], ids=lambda e: f"{e} epochs")
def figures(request):
    figs = p1_plots.figures(synthetic_results(request.param))
    yield request.param, figs
    for fig in figs.values():
        plots.plt.close(fig)


def test_accuracy_bars_start_at_zero_with_chance_marked_and_labels_clear_of_the_title(figures):
    epochs, figs = figures
    fig = figs["test_accuracy.png"]
    (ax,) = fig.axes
    renderer = _drawn(fig)
    assert ax.get_ylim() == (0.0, 100.0), "accuracy bars start at 0 and end at 100%"
    chance = [line for line in ax.get_lines() if "random guess" in line.get_label()]
    assert len(chance) == 1 and set(chance[0].get_ydata()) == {p1_plots.CHANCE}
    labels = [t.get_text() for t in ax.get_xticklabels()]
    results = synthetic_results(epochs)
    for label, key in zip(labels, results):
        values = [100 * v for v in results[key].test_accuracy]
        mean = sum(values) / len(values)
        assert label.startswith(key) and f"{mean:.2f} ±" in label, label
    title = ax.title.get_window_extent(renderer)
    for text in ax.texts + ax.get_xticklabels():
        assert not text.get_window_extent(renderer).overlaps(title), f"{text.get_text()!r} runs into the title"


def test_learning_curves_have_whole_epochs_and_the_legend_beside_the_data(figures):
    epochs, figs = figures
    for name in ("learning_curves.png", "loss_curves.png"):
        fig = figs[name]
        renderer = _drawn(fig)
        for ax in fig.axes:
            ticks = _visible_ticks(ax)
            assert ticks and all(float(t).is_integer() and 1 <= t <= epochs for t in ticks), (name, ticks)
            if epochs == 2:
                assert ticks == [1, 2], (name, ticks)
            legend = ax.get_legend()
            assert legend is not None and not legend.get_window_extent(renderer).overlaps(
                ax.get_window_extent(renderer)), f"{name}: the legend covers the data"


def test_the_combined_loss_has_its_own_axis(figures):
    _, figs = figures
    fig = figs["loss_curves.png"]
    panels = {ax.get_title(): {line.get_label().split(":")[0] for line in ax.get_lines()} for ax in fig.axes}
    assert panels == {p1_plots.TARGET_LOSS: {"baseline", "siamese"}, p1_plots.COMBINED_LOSS: {"aux"}}, panels
    target_axis = next(ax for ax in fig.axes if ax.get_title() == p1_plots.TARGET_LOSS)
    assert target_axis.get_ylim()[1] < 1.0, "the target losses (~0.7) get an axis of their own scale"


def test_a_network_keeps_its_colour_across_figures(figures):
    _, figs = figures

    def colours(fig):
        return {line.get_label().split(":")[0]: line.get_color() for ax in fig.axes for line in ax.get_lines()
                if ":" in line.get_label()}

    accuracy, loss = colours(figs["learning_curves.png"]), colours(figs["loss_curves.png"])
    assert accuracy == loss and len(set(accuracy.values())) == len(NETS)


def test_write_figures_writes_the_three_pngs(tmp_path):
    paths = p1_plots.write_figures(synthetic_results(2), tmp_path)
    assert sorted(p.name for p in paths) == ["learning_curves.png", "loss_curves.png", "test_accuracy.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
