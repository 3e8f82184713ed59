"""The grading seed (``--seed N``): one home for how it is read and checked, by ``autograder check``/``grade``,
the grading process they start and the pytest plugin."""

from __future__ import annotations

import argparse
import hashlib
import os

ENV = ("AUTOGRADER_SEED", "AUTOGRADER_DATA_SEED")  # the grading seed from the environment, first found wins
LARGEST = 2**62  # torch's generators take 64 bits; the pairs use seed and seed + 1


def parse(text: str) -> int:
    """A grading seed from the command line or the environment: a whole number from 0 to 2**62."""
    try:
        seed = int(str(text).strip())
    except ValueError:
        raise ValueError(f"the grading seed must be a whole number, got {text!r}") from None
    if not 0 <= seed <= LARGEST:
        raise ValueError(f"the grading seed must be between 0 and 2**62, got {seed}")
    return seed


def argument(text: str) -> int:
    """:func:`parse` as an argparse ``type``: a bad seed is a usage error that says why."""
    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def from_env() -> int | None:
    """``$AUTOGRADER_SEED``, else ``$AUTOGRADER_DATA_SEED`` (the instructor's, kept out of the student bundle), else
    None; a value that is no seed raises ValueError naming the variable."""
    for name in ENV:
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return parse(value)
            except ValueError as exc:
                raise ValueError(f"${name}: {exc}") from None
    return None


def derived_seed(seed: int) -> int:
    """The nets' initialisation seed under grading seed ``seed`` (31 bits of a SHA-256): what the worker gets, never
    ``seed`` itself (the pairs' seed stays in the judge)."""
    return int.from_bytes(hashlib.sha256(f"dl-miniprojects init {seed}".encode()).digest()[:4], "big") >> 1
