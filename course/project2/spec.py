"""The contract of project 2, in one place: the framework's required classes, the circle script's functions and
the circle network, as the protocol (``course run project2``), the grading probes and the benchmarks use them."""

from __future__ import annotations

# the files of project2/ that the grading suite uses, without ".py" (circle.py serves `course run` and the notebook)
MODULES = ("framework",)
# framework.py: the handout's minimum (the bonus classes are optional)
REQUIRED_CLASSES = ("Module", "Linear", "ReLU", "Tanh", "Sigmoid", "LossMSE", "Sequential", "SGD")
# circle.py: what `course run project2` calls, by name
CIRCLE_FUNCTIONS = ("build_model", "train", "predict", "compute_error")

# The circle task: 1,000 training and 1,000 test points, a network 2 → 25 → 25 → 25 → 2.
N_POINTS = 1000
LAYERS = (2, 25, 25, 25, 2)


def circle_network(fw, activation: str = "relu", layers=LAYERS):
    """The circle network built from a framework module ``fw``: ``Linear`` layers of sizes ``layers`` with
    ``activation`` (``"relu"`` or ``"tanh"``, the framework's ``ReLU``/``Tanh``) between them, none after the last."""
    act = {"relu": fw.ReLU, "tanh": fw.Tanh}[activation]
    modules = []
    for i, (fan_in, fan_out) in enumerate(zip(layers, layers[1:])):
        modules.append(fw.Linear(fan_in, fan_out))
        if i < len(layers) - 2:
            modules.append(act())
    return fw.Sequential(*modules)
