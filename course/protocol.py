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


def round_seed(seed: int, round_index: int) -> int:
    """The seed of round ``round_index`` (data and initialisation) of a run seeded with ``seed``."""
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
