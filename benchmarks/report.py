"""Ratio table and bar chart from pytest-benchmark results of the kit's benchmarks.

    python benchmarks/report.py RESULTS.json                  # the ratio table (markdown) and the other cases
    python benchmarks/report.py RESULTS.json --png ratios.png # and the bar chart: ratio per batch size, CPU/CUDA
    python benchmarks/report.py RUN1.json RUN2.json ...       # several runs: each ratio's median and spread

A results file is what ``python -m pytest benchmarks --benchmark-only --benchmark-autosave`` stores under
``benchmarks/results/<machine>/`` (or ``--benchmark-json FILE`` writes). Project 2's cases come in pairs, the
scratch framework and torch.nn + autograd on the same computation, in one pytest-benchmark group, measured in
short interleaved repeats; the ratio of a group is best round (scratch) / best round (torch) over its repeats, and
the ratio of medians is shown beside it (see :func:`ratio_rows`). Several runs give, per group, each run's ratio,
their median and their spread max/min (the stability goal of the benchmarks: ≤ 1.3 over 5 runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

SIDES = ("scratch", "torch")


def ratio_rows(benchmarks: list[dict]) -> list[dict]:
    """One row per group holding both sides: case, batch size, device, each side's best and median round (s), and
    the ratios scratch / torch.

    ``benchmarks`` are entries of a results file (``group``, ``extra_info``, ``stats`` with ``min`` and ``median``).
    A group is measured in repeats (``extra_info["repeat"]``, interleaved). ``ratio`` is the ratio of the two sides'
    best rounds over all repeats: noise on a busy machine only ever adds time, so the minimum is the steadiest
    estimate of the work itself; ``ratio_median`` is the median over the repeats of median(scratch) /
    median(torch), and ``ratios`` those per-repeat ratios.
    """
    groups: dict[str, dict] = {}
    for bench in benchmarks:
        info = bench.get("extra_info") or {}
        if info.get("side") in SIDES:
            group = groups.setdefault(bench["group"], {"info": info, "repeats": {}})
            group["repeats"].setdefault(info.get("repeat", 0), {})[info["side"]] = bench["stats"]
    rows = []
    for name, group in groups.items():
        pairs = [r for r in group["repeats"].values() if all(side in r for side in SIDES)]
        if not pairs:
            continue
        info = group["info"]
        ratios = [r["scratch"]["median"] / r["torch"]["median"] for r in pairs]
        best = {side: min(r[side]["min"] for r in pairs) for side in SIDES}
        rows.append({"group": name, "case": info.get("case"), "batch_size": info.get("batch_size"),
                     "device": info.get("device"), "repeats": len(pairs),
                     "scratch_min": best["scratch"], "torch_min": best["torch"],
                     "ratio": best["scratch"] / best["torch"],
                     "scratch_median": statistics.median(r["scratch"]["median"] for r in pairs),
                     "torch_median": statistics.median(r["torch"]["median"] for r in pairs),
                     "ratio_median": statistics.median(ratios), "ratios": ratios})
    return sorted(rows, key=lambda r: (r["device"] != "cpu", r["case"] != "circle", r["case"] or "",
                                       r["batch_size"] or 0))


def _seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e3), ("µs", 1e6)):
        if value * scale >= 1:
            return f"{value * scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"


def _case(row: dict) -> str:
    return f"circle epoch, batch {row['batch_size']}" if row["case"] == "circle" else f"{row['case']} fwd+bwd"


def ratio_table(rows: list[dict]) -> str:
    """Markdown: case, device, each side's best round, their ratio; the ratio of medians and its range."""
    lines = ["| case | device | scratch (best round) | torch.nn + autograd (best round) | **ratio** | ratio of medians "
             "(repeats: min–max) |", "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        ratios = r.get("ratios") or [r["ratio_median"]]
        lines.append(f"| {_case(r)} | {r['device']} | {_seconds(r['scratch_min'])} | {_seconds(r['torch_min'])} | "
                     f"**{r['ratio']:.2f}** | {r['ratio_median']:.2f} ({min(ratios):.2f}–{max(ratios):.2f}, "
                     f"{len(ratios)}) |")
    return "\n".join(lines)


def other_table(benchmarks: list[dict]) -> str:
    """Markdown for the cases that are not scratch/torch pairs (data, project 1): median, IQR, rounds."""
    lines = ["| case | device | median | IQR | rounds |", "|---|---|---:|---:|---:|"]
    for b in sorted(benchmarks, key=lambda b: (b["extra_info"].get("device") != "cpu", b["group"] or "", b["name"])):
        info = b.get("extra_info") or {}
        if info.get("side") in SIDES:
            continue
        s = b["stats"]
        lines.append(f"| {info.get('label', b['name'])} | {info.get('device', '?')} | {_seconds(s['median'])} | "
                     f"{_seconds(s['iqr'])} | {s['rounds']} |")
    return "\n".join(lines)


def spread_table(runs: list[list[dict]]) -> str:
    """Per group over several runs: each run's ratio, their median and the spread max/min (and the same for the
    ratio of medians)."""
    by_group: dict[str, list] = {}
    for rows in runs:
        for r in rows:
            by_group.setdefault(r["group"], [r, [], []])
            by_group[r["group"]][1].append(r["ratio"])
            by_group[r["group"]][2].append(r["ratio_median"])
    lines = ["| case | device | ratio, one per run | median | **spread max/min** | ratio of medians, one per run "
             "| spread |", "|---|---|---|---:|---:|---|---:|"]
    for first, ratios, medians in by_group.values():
        lines.append(f"| {_case(first)} | {first['device']} | {', '.join(f'{x:.2f}' for x in ratios)} | "
                     f"{statistics.median(ratios):.2f} | **{max(ratios) / min(ratios):.2f}** | "
                     f"{', '.join(f'{x:.2f}' for x in medians)} | {max(medians) / min(medians):.2f} |")
    return "\n".join(lines)


def machine_line(results: dict) -> str:
    m = results.get("machine_info", {})
    torch_info = m.get("torch", {})
    cpu = m.get("cpu", {}).get("brand_raw") or m.get("processor") or "?"
    load = m.get("load_average")
    return (f"{results.get('datetime', '?')[:16]} · {m.get('node', '?')} · {cpu} ({m.get('cpu_count', '?')} cores"
            f"{f', load {load[0]:.1f}' if load else ''}) · torch {torch_info.get('version', '?')}, "
            f"{torch_info.get('threads', '?')} thread(s) · GPU: {torch_info.get('cuda') or 'none'}")


def _label(row: dict) -> str:
    return f"circle epoch\nbatch {row['batch_size']}" if row["case"] == "circle" else f"{row['case']}\nfwd+bwd"


def bar_chart(rows: list[dict], path: Path, title: str = "") -> None:
    """Ratio per batch size (and per layer case), CPU and CUDA side by side; lines at the 0.5 goal and at 1."""
    from matplotlib.patches import Patch

    from course.plots import plt, save  # off-screen matplotlib, as every figure of the kit

    labels = list(dict.fromkeys(_label(r) for r in rows))
    fig, ax = plt.subplots(figsize=(1.3 * len(labels) + 2.5, 4.0))
    width, handles = 0.38, []
    for k, (device, color) in enumerate((("cpu", "tab:blue"), ("cuda", "tab:green"))):
        values = {_label(r): r["ratio"] for r in rows if r["device"] == device}
        if not values:
            handles.append(Patch(facecolor="white", edgecolor=color, label=f"{device.upper()}: not measured"))
            continue
        xs = [i + (k - 0.5) * width for i, label in enumerate(labels) if label in values]
        bars = ax.bar(xs, [values[label] for label in labels if label in values], width, color=color)
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
        handles.append(Patch(color=color, label=device.upper()))
    circle = sum(label.startswith("circle") for label in labels)
    if 0 < circle < len(labels):
        ax.axvline(circle - 0.5, color="gray", linewidth=0.6, linestyle=":")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(0.5, color="tab:red", linestyle="--", linewidth=0.8)
    handles.append(plt.Line2D([], [], color="tab:red", linestyle="--", linewidth=0.8, label="goal 0.5 (circle)"))
    ax.set_xticks(range(len(labels)), labels, fontsize=9)
    ax.set_ylabel("time ratio scratch / torch.nn\n(best rounds)")
    ax.set_ylim(0, max([1.15] + [1.15 * r["ratio"] for r in rows]))
    ax.set_title(title or "project 2: from-scratch framework vs torch.nn + autograd", fontsize=10)
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    fig.tight_layout()
    save(fig, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="pytest-benchmark JSON file(s)")
    parser.add_argument("--png", type=Path, default=None, help="write the bar chart of the last file here")
    args = parser.parse_args(argv)
    runs = [json.loads(path.read_text()) for path in args.results]
    last = runs[-1]
    rows = ratio_rows(last["benchmarks"])
    print(f"{args.results[-1]}\n{machine_line(last)}\n")
    print(ratio_table(rows))
    others = other_table(last["benchmarks"])
    if others.count("\n") > 1:
        print("\n" + others)
    if len(runs) > 1:
        print(f"\n{len(runs)} runs:\n" + spread_table([ratio_rows(r["benchmarks"]) for r in runs]))
    if args.png:
        bar_chart(rows, args.png, title=f"scratch / torch.nn + autograd · {machine_line(last)[:16]}")
        print(f"\nwrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
