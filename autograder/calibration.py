"""The seed-stability rule of project 1's accuracy thresholds, over a calibration log (issue 23).

``scripts/calibrate_thresholds.py --family --log FILE.jsonl`` appends one JSON line per implementation and seed: the
protocol that decided it and the test accuracy of each probe (``docs/calibration-family.jsonl`` is the kit's). The
rule a protocol and its thresholds (``autograder/thresholds.py``) must meet over :data:`SEEDS` grading seeds:

- every correct design (the reference, the plain fixture, ``tests/fixtures/family/*``) gets the same verdict at
  :data:`AGREE` of them or more, in every probe;
- every fault (``tests/fixtures/family_faults/*``) fails at least one probe at :data:`AGREE` of them or more.

A run counts only under the protocol in force (a log may hold runs of other epochs or budgets).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from autograder import thresholds

SEEDS = 20  # grading seeds the rule is measured over
AGREE = 19  # ... of which every verdict must agree on at least this many
FAULT = "family_faults/"  # a logged implementation whose name starts so is a fault the suite must catch
PROBES = ("baseline", "siamese", "aux", "train_model")
KIT_SETTINGS = ("epochs", "batch_size", "lr", "aux_weight")  # what decides the three nets' runs
STUDENT_SETTINGS = ("train_model_epochs",)  # what the kit decides of the student's train_model


def protocol() -> dict:
    """What decides a project-1 run's figures besides the implementation and the seed."""
    return {key: thresholds.P1[key] for key in (*KIT_SETTINGS, *STUDENT_SETTINGS)}


def family(root: Path) -> dict[str, Path]:
    """``family/<design>`` and ``family_faults/<design>`` → the folder holding its ``project1/``, under the kit's
    ``root`` (the calibration family of ``tests/fixtures``; the reference and the plain fixture are not in it)."""
    return {f"{group}/{d.name}": d for group in ("family", FAULT.rstrip("/"))
            for d in sorted((root / "tests" / "fixtures" / group).iterdir()) if (d / "project1").is_dir()}


def threshold(probe: str, limits: dict[str, float] | None = None) -> float:
    """``probe``'s threshold in ``limits``, else in force."""
    return (limits or cast(dict[str, float], thresholds.P1["thresholds"]))[probe]


def retries() -> bool:
    """Whether ``p1.train_model`` gets a second run when the first falls short."""
    return cast(int, thresholds.P1["train_model_runs"]) > 1


def load(path: Path, want: dict | None = None) -> dict[str, dict[int, dict[str, float]]]:
    """implementation → seed → probe → test accuracy, of the project-1 runs logged in ``path`` under ``want`` (the
    protocol in force unless given); a probe's run counts where it was measured (``--only``) and its settings match."""
    want = protocol() if want is None else want
    runs: dict[str, dict[int, dict[str, float]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["project"] != "project1":
            continue
        for probe, value in record["runs"].items():
            settings = STUDENT_SETTINGS if probe.startswith("train_model") else KIT_SETTINGS
            if all(record["protocol"].get(k) == want[k] for k in settings):
                runs.setdefault(record["impl"], {}).setdefault(record["seed"], {})[probe] = value
    return runs


RETRY = "train_model_retry"  # the logged second run of p1.train_model (thresholds.P1["train_model_runs"])


def verdict_value(by_probe: dict[str, float], probe: str, limits: dict[str, float] | None = None) -> float:
    """The figure the suite decides ``probe`` on, from one seed's logged runs: ``p1.train_model``'s first run, or the
    better of its two runs where the first is below the threshold (``limits``', else in force; a missing second run
    counts as the first)."""
    first = by_probe[probe]
    if probe == "train_model" and first < threshold(probe, limits) and retries():
        return max(first, by_probe.get(RETRY, first))
    return first


def missing_retries(seeds: dict[int, dict[str, float]]) -> list[int]:
    """Seeds whose first ``p1.train_model`` run is below the threshold and whose second run is not logged."""
    return sorted(seed for seed, by_probe in seeds.items()
                  if by_probe.get("train_model", 1.0) < threshold("train_model") and RETRY not in by_probe
                  and retries())


@dataclass(frozen=True)
class Cell:
    """One design's runs of one probe: how many reached the threshold, of how many, and the worst."""

    passed: int
    runs: int
    worst: float

    def agree(self) -> int:
        """Runs with the majority's verdict."""
        return max(self.passed, self.runs - self.passed)

    def __str__(self) -> str:
        return f"{self.passed}/{self.runs} ({100 * self.worst:.1f})"


def cells(runs: dict[str, dict[int, dict[str, float]]]) -> dict[str, dict[str, Cell]]:
    """design → probe → :class:`Cell` under the thresholds in force (``p1.train_model``: the better of its runs)."""
    out: dict[str, dict[str, Cell]] = {}
    for impl, seeds in runs.items():
        for probe in PROBES:
            values = [verdict_value(by_probe, probe) for by_probe in seeds.values() if probe in by_probe]
            if values:
                out.setdefault(impl, {})[probe] = Cell(sum(v >= threshold(probe) for v in values), len(values),
                                                       min(values))
    return out


def caught(seeds: dict[int, dict[str, float]], limits: dict[str, float] | None = None) -> tuple[int, int]:
    """(seeds at which a fault fails at least one probe, seeds with every probe measured), under ``limits``, else
    the thresholds in force."""
    full = [by_probe for by_probe in seeds.values() if set(PROBES) <= set(by_probe)]
    return (sum(any(verdict_value(by_probe, p, limits) < threshold(p, limits) for p in PROBES) for by_probe in full),
            len(full))


def violations(runs: dict[str, dict[int, dict[str, float]]], designs: list[str]) -> list[str]:
    """What breaks the rule, one sentence each (empty: it holds): ``designs`` are the implementations that must be
    logged (correct ones and faults), each at :data:`SEEDS` seeds or more."""
    found = []
    table = cells(runs)
    for impl in designs:
        if missing := missing_retries(runs.get(impl, {})):
            found.append(f"{impl}: the second train_model run is not logged at seeds {missing} (--only retries)")
        if impl.startswith(FAULT):
            hit, seen = caught(runs.get(impl, {}))
            if seen < SEEDS:
                found.append(f"{impl}: {seen} seeds with every probe logged, {SEEDS} needed")
            elif hit < AGREE * seen / SEEDS:
                found.append(f"{impl}: caught at {hit} of {seen} seeds, {AGREE} of {SEEDS} needed")
            continue
        for probe in PROBES:
            cell = table.get(impl, {}).get(probe)
            if cell is None or cell.runs < SEEDS:
                found.append(f"{impl} {probe}: {cell.runs if cell else 0} runs logged, {SEEDS} needed")
            elif cell.agree() < AGREE * cell.runs / SEEDS:
                found.append(f"{impl} {probe}: passes {cell} at {100 * threshold(probe):.0f}%: the verdict agrees "
                             f"at {cell.agree()} of {cell.runs} seeds, {AGREE} of {SEEDS} needed")
    return found


MARGIN = 0.03  # at least this far below a correct design's worst run (or 2 standard deviations, if more)
SEPARATION = 2.0  # a threshold moved up to catch a fault stays this many standard deviations from both sides


def _figures(seeds: dict[int, dict[str, float]], probe: str) -> list[float]:
    return [verdict_value(by_probe, probe) for by_probe in seeds.values() if probe in by_probe]


def proposed(runs: dict[str, dict[int, dict[str, float]]]) -> dict[str, float]:
    """Each probe's threshold by the kit's rule (docs/calibration.md):

    1. the floor: the lowest, over the correct designs, of (the worst run − max(:data:`MARGIN`, 2 × the design's
       standard deviation over the seeds)), rounded down to a whole percent;
    2. a fault that the floors let through at more than one seed in 20 is given to the network probe that
       separates it best from the correct designs: the threshold rises to the point as many standard deviations
       above the fault's mean as below the nearest correct design's, rounded to a whole percent, if that is at
       least :data:`SEPARATION` standard deviations each side (else it stays: :func:`violations` reports the fault).

    ``p1.train_model``'s runs are the figures it is decided on (the better of two where the first falls short)."""
    correct = {impl: seeds for impl, seeds in runs.items() if not impl.startswith(FAULT)}
    out = {}
    for probe in PROBES:
        floors = [min(v) - max(MARGIN, 2 * statistics.pstdev(v)) for seeds in correct.values()
                  if (v := _figures(seeds, probe))]
        out[probe] = math.floor(100 * min(floors) + 1e-9) / 100
    for fault in sorted(impl for impl in runs if impl.startswith(FAULT)):
        hit, seen = caught(runs[fault], out)
        if not seen or hit >= AGREE * seen / SEEDS:
            continue
        best: tuple[float, str, float] | None = None  # (separation, probe, threshold)
        for probe in ("baseline", "siamese", "aux"):
            bad = _figures(runs[fault], probe)
            mu_f, sd_f = statistics.mean(bad), statistics.pstdev(bad)
            sides = []
            for seeds in correct.values():
                good = _figures(seeds, probe)
                mu_d, sd_d = statistics.mean(good), statistics.pstdev(good)
                point = (mu_d * sd_f + mu_f * sd_d) / (sd_d + sd_f)
                sides.append(((mu_d - point) / sd_d, point))
            z, point = min(sides)
            if best is None or z > best[0]:
                best = (z, probe, round(100 * point) / 100)
        if best is not None and best[0] >= SEPARATION and best[2] > out[best[1]]:
            out[best[1]] = best[2]
    return out


def markdown(runs: dict[str, dict[int, dict[str, float]]]) -> list[str]:
    """The design × probe table of docs/calibration.md: runs at or above the threshold / runs (the worst run, %),
    and for a fault the seeds at which it fails some probe."""
    table = cells(runs)
    lines = ["| design | " + " | ".join(f"{p} ≥ {100 * threshold(p):.0f}%" for p in PROBES) + " | caught |",
             "|---|" + "---:|" * (len(PROBES) + 1)]
    for impl in sorted(table, key=lambda name: (name.startswith(FAULT), name)):
        row = [str(table[impl][p]) if p in table[impl] else "" for p in PROBES]
        hit, seen = caught(runs[impl])
        lines.append(f"| {impl} | " + " | ".join(row) + f" | {f'{hit}/{seen}' if impl.startswith(FAULT) else ''} |")
    return lines
