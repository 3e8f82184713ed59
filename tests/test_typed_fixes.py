"""Cheap checks of the spots where mypy found loose types: the enums' typed value lookups, the benchmark's circle
settings driving the torch reference, and a round's test set feeding the decision-boundary figure (no training)."""

from __future__ import annotations

import pytest

from autograder.bench import CIRCLE
from autograder.record import NoteKind, Status
from course.project2 import speed
from course.project2.plots import plot_decision_boundary
from course.project2.protocol import RoundResult


@pytest.mark.parametrize("enum", [Status, NoteKind])
def test_of_is_the_value_lookup_and_refuses_an_unknown_code(enum):
    for member in enum:
        assert enum.of(member.value) is member is enum(member.value)
    with pytest.raises(ValueError, match="not a valid"):
        enum.of("no such code")


def test_the_circle_settings_build_the_torch_reference_and_give_one_loss_per_parity_step():
    problem = speed.circle_problem(seed=0)
    reference = speed.TorchCircle(problem, **CIRCLE.training())
    assert reference.batch_size == CIRCLE.batch_size
    losses = speed.circle_steps(reference, CIRCLE.parity_steps)
    assert len(losses) == CIRCLE.parity_steps and all(isinstance(x, float) for x in losses)


def test_a_rounds_test_set_is_the_input_and_target_the_boundary_figure_takes(tmp_path):
    problem = speed.circle_problem(seed=0)
    labels = problem.y.argmax(dim=1)
    result = RoundResult(0, 0, 0.0, 0.0, 0.0, test_set=(problem.x, labels))
    test_input, test_target = result.test_set
    path = plot_decision_boundary(lambda points: points[:, 0].gt(0.5).long(), test_input, test_target,
                                  tmp_path / "boundary.png", resolution=20)
    assert path.is_file() and path.stat().st_size > 0
    empty_input, empty_target = RoundResult(0, 0, 0.0, 0.0, 0.0).test_set  # the default unpacks the same way
    assert empty_input.shape == (0, 2) and empty_target.shape == (0,)
