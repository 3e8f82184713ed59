"""The contract of project 1, in one place: the networks' names and what their ``forward`` returns.

The protocol (``course run project1``), the grading probes and the grading tests all read it from here.

Every network maps a batch of pairs ``x`` of shape ``N×2×14×14`` (raw pixels 0-255) to a pair
``(target_logits, digit_logits)``: ``target_logits`` is ``N×2`` (class 1 = "the first digit is ≤ the
second"), ``digit_logits`` is ``N×2×10`` for a network that classifies the digits and ``None`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Net:
    key: str         # short name in commands, tables and the grader: baseline, siamese, aux
    class_name: str  # the class in models.py
    label: str       # the label in tables and figures
    digits: bool     # whether it returns digit logits (trained by the auxiliary losses)


NETS: dict[str, Net] = {n.key: n for n in (
    Net("baseline", "BaselineNet", "baseline", False),
    Net("siamese", "SiameseNet", "siamese (weight sharing)", False),
    Net("aux", "AuxiliaryNet", "auxiliary (sharing + digit losses)", True),
)}

MODULES = ("models", "train")  # the files of project1/ that are graded, without ".py"
PAIR_SHAPE = (2, 14, 14)  # one input pair: two 14×14 digits
PARAMETER_RANGE = (50_000, 150_000)  # the handout's scale


def target_shape(batch: int) -> tuple[int, int]:
    return (batch, 2)


def digit_shape(batch: int) -> tuple[int, int, int]:
    return (batch, 2, 10)


def split_output(out, class_name: str):
    """``(target_logits, digit_logits)`` from what ``forward`` returned; a TypeError names anything else."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{class_name}.forward must return (target_logits, digit_logits), got "
                        f"{type(out).__name__}{f' of length {len(out)}' if isinstance(out, (tuple, list)) else ''}")
    return out[0], out[1]


def check_output(out, class_name: str, batch: int):
    """:func:`split_output`, then the shapes; a ValueError states the shape received and the one expected."""
    target_logits, digit_logits = split_output(out, class_name)
    got = tuple(getattr(target_logits, "shape", ()))
    if got != target_shape(batch):
        raise ValueError(f"{class_name}.forward returned target_logits of shape {got}; expected "
                         f"N×2 = {target_shape(batch)}")
    if digit_logits is not None and tuple(digit_logits.shape) != digit_shape(batch):
        raise ValueError(f"{class_name}.forward returned digit_logits of shape {tuple(digit_logits.shape)}; "
                         f"expected N×2×10 = {digit_shape(batch)} or None")
    return target_logits, digit_logits
