"""The rubric: every graded task, its points, its visibility and what it checks — kept in this one place.

Each task is graded by one test function of the suite (``autograder/suite``) that carries
``@task("<id>")``; a parametrised test earns ``points × passed cases / cases``. The 100 points of the core
tasks are split 40 / 60 between project 1 and project 2; bonus tasks add points on top. Hidden tasks run only
when the instructor grades (fresh seeds and sizes the public tests do not use). Benchmark tasks (``bench``) carry
no points: they time the student's framework against torch.nn and report the ratio (``autograder/bench.py``); a
benchmark never takes points away.
``python -m autograder.rubric`` prints the table that ``docs/rubric.md`` shows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    id: str
    points: float
    description: str
    visibility: str = "public"  # public | hidden
    bonus: bool = False
    bench: bool = False  # a benchmark: 0 points, a figure in the report

    @property
    def project(self) -> str:
        return "project1" if self.id.startswith("p1.") else "project2"

    @property
    def marker(self) -> str:
        """The pytest marker that selects this task alone: ``p2.linear.backward`` -> ``p2_linear_backward``."""
        return self.id.replace(".", "_")


TASKS: tuple[Task, ...] = (
    # ---------------------------------------------------------------- project 1: digit pairs (40)
    Task("p1.rules", 1, "every file of project1: allowed imports only, no dynamic code, reflection or grader"),
    Task("p1.shapes", 4, "each net maps N×2×14×14 to target logits N×2 and digit logits N×2×10 or None"),
    Task("p1.params", 2, "each net has at most 1,000,000 parameters and at most 4 × the smallest net's (no minimum)"),
    Task("p1.siamese.sharing", 3, "SiameseNet and AuxiliaryNet apply one module, same weights, to both digits"),
    Task("p1.baseline.no_sharing", 2, "BaselineNet applies no parameter to both digits"),
    Task("p1.aux.swap", 2, "swapping the two digits swaps AuxiliaryNet's digit logits"),
    Task("p1.pair_loss", 5, "pair_loss = CE(target) + aux_weight × (CE(digit 1) + CE(digit 2)), several weights"),
    Task("p1.accuracy.baseline", 4, "BaselineNet, trained by the kit's fixed protocol, beats the calibrated threshold"),
    Task("p1.accuracy.siamese", 4, "SiameseNet, trained by the kit's fixed protocol, beats the calibrated threshold"),
    Task("p1.accuracy.aux", 4, "AuxiliaryNet, trained by the kit's fixed protocol, beats the calibrated threshold"),
    Task("p1.train_model", 5, "your train_model trains AuxiliaryNet past the threshold; accuracy() agrees with the kit"),
    Task("p1.hidden.shapes", 2, "shapes and digit swap on batch sizes and seeds not seen in public", "hidden"),
    Task("p1.hidden.pair_loss", 2, "pair_loss on fresh logits and weights", "hidden"),
    # ---------------------------------------------------------------- project 2: framework (60)
    Task("p2.rules", 4, "every file of project2: torch and math only, no autograd, torch.nn, dynamic code or reflection"),
    Task("p2.module.api", 2, "Module subclasses offer forward, backward, param() as (tensor, gradient) pairs"),
    Task("p2.linear.forward", 4, "Linear.forward = x Wᵀ + b, weight out×in, param() order (weight, bias)"),
    Task("p2.linear.backward", 8, "Linear.backward: input, weight and bias gradients against autograd (float64)"),
    Task("p2.activations.forward", 3, "ReLU, Tanh and Sigmoid forward"),
    Task("p2.activations.backward", 6, "ReLU, Tanh and Sigmoid backward against autograd (float64)"),
    Task("p2.mse", 5, "LossMSE value (mean over all elements) and its gradient w.r.t. the prediction"),
    Task("p2.sequential", 6, "Sequential chains forward, backward in reverse, and collects every param()"),
    Task("p2.accumulate", 2, "two backward passes give twice your own one-pass gradient (backward adds)"),
    Task("p2.zero_grad", 2, "zero_grad zeroes in place the gradient tensors an optimiser took from param()"),
    Task("p2.sgd", 5, "SGD.step and zero_grad match torch.optim.SGD"),
    Task("p2.circle", 7, "your framework trains the 2-25-25-25-2 circle network past the calibrated accuracy"),
    Task("p2.hidden.linear", 3, "Linear backward on sizes and seeds not seen in public", "hidden"),
    Task("p2.hidden.sequential", 3, "a deeper Sequential on fresh sizes", "hidden"),
    # ---------------------------------------------------------------- bonus
    Task("p2.bonus.leaky_relu", 1, "LeakyReLU forward and backward", bonus=True),
    Task("p2.bonus.momentum", 2, "SGD with momentum matches torch.optim.SGD", bonus=True),
    Task("p2.bonus.adam", 2, "Adam matches torch.optim.Adam over several steps", bonus=True),
    Task("p2.bonus.bce", 1, "LossBCE value and gradient", bonus=True),
    Task("p2.bonus.cross_entropy", 2, "LossCrossEntropy value and gradient (integer targets)", bonus=True),
    Task("p2.bonus.dropout", 1, "Dropout: identity in eval, inverted dropout in train", bonus=True),
    Task("p2.bonus.conv2d", 3, "Conv2d forward and backward against autograd", bonus=True),
    Task("p2.bonus.maxpool", 2, "MaxPool2d forward and backward against autograd", bonus=True),
    Task("p2.bonus.flatten", 1, "Flatten forward and backward", bonus=True),
    # ---------------------------------------------------------------- benchmarks (no points)
    Task("p2.bench.circle", 0, "benchmark: your circle network's training epoch timed against torch.nn + autograd",
         bench=True),
    Task("p2.bench.conv", 0, "benchmark: your Conv2d forward + backward timed against torch.nn + autograd",
         bench=True),
)

BY_ID = {t.id: t for t in TASKS}
assert len(BY_ID) == len(TASKS), "task ids must be unique"


def core_total(visibility: str | None = None) -> float:
    return sum(t.points for t in TASKS if not t.bonus and (visibility is None or t.visibility == visibility))


def bonus_total() -> float:
    return sum(t.points for t in TASKS if t.bonus)


def select(pattern: str | None):
    """The tasks matched by ``pattern``: comma-separated ids or prefixes (``p2.linear`` is every ``p2.linear.*``);
    all tasks for None."""
    if not pattern:
        return list(TASKS)
    parts = [part.strip().rstrip(".") for part in pattern.split(",") if part.strip()]
    return [t for t in TASKS if any(t.id == part or t.id.startswith(part + ".") for part in parts)]


def markdown_table() -> str:
    lines = ["| task | points | visibility | what it checks |", "|---|---:|---|---|"]
    for t in TASKS:
        pts = "— (benchmark)" if t.bench else f"+{t.points:g} bonus" if t.bonus else f"{t.points:g}"
        lines.append(f"| `{t.id}` | {pts} | {t.visibility} | {t.description} |")
    lines.append(f"| **total** | **{core_total():g}** (+{bonus_total():g} bonus) | | public {core_total('public'):g}, "
                 f"hidden {core_total('hidden'):g} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
