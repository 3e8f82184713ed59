"""The experimental protocol shared by both projects: seeded rounds, mean ± std, devices, result files.

A round ``r`` of an experiment seeded with ``seed`` uses ``round_seed(seed, r)`` for its data *and* its
initialisation, so every round differs and the whole run is reproducible.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import torch

from course.errors import CourseError
from course.files import atomic_write, write_json

MAX_ROUNDS = 1000  # round_seed gives distinct seeds to rounds 0..999 of every seed, and no more


def round_seed(seed: int, round_index: int) -> int:
    """The seed of round ``round_index`` (data and initialisation) of a run seeded with ``seed``: ``seed * 1000 +
    round_index``, distinct for every (seed, round) with ``0 <= round_index < MAX_ROUNDS``. A round outside that
    range is refused: round 1000 of seed 0 would repeat round 0 of seed 1 (the published figures use this formula,
    so it stays)."""
    if not 0 <= int(round_index) < MAX_ROUNDS:
        raise CourseError(f"round {round_index} is out of range: a run has at most {MAX_ROUNDS} seeded rounds "
                          f"(0 to {MAX_ROUNDS - 1}); use fewer --rounds, or another --seed for more")
    return int(seed) * 1000 + int(round_index)


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = [float(v) for v in values]
    if not values:
        return math.nan, math.nan
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def format_mean_std(values, scale: float = 100.0, unit: str = "%") -> str:
    mean, std = mean_std(values)
    return f"{scale * mean:.2f} ± {scale * std:.2f}{unit}"


def select_device(name: str | None) -> torch.device:
    """``cpu`` (default) or ``cuda``; asking for CUDA where there is none is a clear error."""
    name = (name or "cpu").lower()
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CourseError("--device cuda was asked for, but PyTorch sees no CUDA device here; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise CourseError(f"unknown device {name!r}; use cpu or cuda") from exc


def write_results(out_dir, stem: str, summary: dict, rows: list[dict]) -> list[Path]:
    """Write ``<stem>.json`` (summary and rows) and ``<stem>.csv`` (rows, when any) into ``out_dir``, atomically;
    return the paths written."""
    out = Path(out_dir)
    paths = [write_json(out / f"{stem}.json", {"summary": summary, "rows": rows})]
    if rows:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        paths.append(atomic_write(out / f"{stem}.csv", text.getvalue()))
    return paths
