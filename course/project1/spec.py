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
# The parameter rule (task p1.params): the comparison of the three nets needs comparable capacity, not a size. Each
# net has at most PARAMETER_CEILING parameters and at most PARAMETER_FACTOR times as many as the smallest of the
# three; there is no floor, so a small net that works never loses a point (the reference nets have about 66,000).
PARAMETER_CEILING = 1_000_000
PARAMETER_FACTOR = 4


def parameter_problem(n: int, counts) -> str:
    """Why a net of ``n`` parameters breaks the rule among the nets of ``counts`` (the three nets' counts, or
    those that build), or "" when it keeps it."""
    smallest = min([n, *counts])
    if n > PARAMETER_CEILING:
        return f"more than {PARAMETER_CEILING:,} parameters"
    if n > PARAMETER_FACTOR * smallest:
        return f"more than {PARAMETER_FACTOR} × the smallest net ({smallest:,} parameters)"
    return ""

# What the grader fixes when it calls the student's ``train_model`` (task p1.train_model): the data, the network and
# these keyword arguments, nothing else. The optimiser, learning rate, batch size and loss weight are the student's
# own defaults. ``seed`` is passed only to a train_model that accepts it (by name or through ``**kwargs``).
TRAIN_MODEL_FIXED = ("epochs", "seed")


def fixed_arguments(train_model, **fixed) -> dict:
    """The keyword arguments of :data:`TRAIN_MODEL_FIXED` that the grader passes to ``train_model``: ``epochs``
    always, ``seed`` when ``train_model`` accepts it (a parameter of that name or ``**kwargs``)."""
    import inspect

    unknown = set(fixed) - set(TRAIN_MODEL_FIXED)
    if unknown:
        raise ValueError(f"the grader fixes only {TRAIN_MODEL_FIXED}, not {sorted(unknown)}")
    try:
        params = dict(inspect.signature(train_model).parameters)
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return {k: v for k, v in fixed.items() if k == "epochs" or takes_any or k in params}


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
