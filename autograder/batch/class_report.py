"""``report.html``: one self-contained page (figures inlined, no network) that a course team looks at rather than
reads — the distribution of totals, the pass rate of every task, the seconds each submission took, and the
submissions to look at, each linked to its feedback. The figures are also written as PNGs in ``figures/``."""

from __future__ import annotations

import base64
import statistics
from pathlib import Path

from autograder import rubric
from autograder.batch.outputs import flags, headline, problem_text, total
from autograder.batch.store import Record, RowStatus
from autograder.escape import file_stems
from autograder.record import Measure
from course.files import atomic_write
from course.plots import plt, save

COLORS = {"project1": "tab:blue", "project2": "tab:orange"}


def totals_figure(records: list[Record], path: Path) -> Path:
    graded = [r for r in records if r.report is not None]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    scores = [r.report.score for r in records if r.report is not None]
    ax.hist(scores, bins=range(0, 105, 5), color="tab:blue", edgecolor="white")
    if scores:
        mean, median = statistics.mean(scores), statistics.median(scores)
        ax.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.1f}")
        ax.axvline(median, color="tab:red", linestyle=":", linewidth=1.5, label=f"median {median:.1f}")
        ax.legend(fontsize=8, loc="upper left")
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"score out of {rubric.core_total():g} (bonus not included)")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # MaxNLocator's, untyped in matplotlib's stubs
    ax.set_title(f"Totals of the {len(graded)} graded submissions", fontsize=10)
    return save(fig, path)


def pass_rates(records: list[Record]) -> dict[str, float]:
    """Task id → the fraction of graded submissions that earned all its points."""
    graded = [r.report for r in records if r.report is not None]
    rates = {}
    for t in rubric.TASKS:
        full = [task.points >= task.max_points for report in graded for task in report.tasks if task.task == t.id]
        rates[t.id] = sum(full) / len(full) if full else 0.0
    return rates


def pass_rate_figure(records: list[Record], path: Path) -> Path:
    rates = pass_rates(records)
    tasks = [t for t in rubric.TASKS if t.points > 0]  # the benchmark tasks (no points) have their own figures
    fig, ax = plt.subplots(figsize=(7, 0.26 * len(tasks) + 1.2))
    y = range(len(tasks))
    ax.barh(list(y), [100 * rates[t.id] for t in tasks], color=[COLORS[t.project] for t in tasks])
    ax.set_yticks(list(y), [t.id + (" (bonus)" if t.bonus else "") for t in tasks], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("submissions with full points (%)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Pass rate per task (blue: project 1, orange: project 2)", fontsize=10)
    return save(fig, path)


def seconds_figure(records: list[Record], path: Path) -> Path:
    graded = sorted((r for r in records if r.status is not RowStatus.UNUSABLE), key=lambda r: r.seconds)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    if len(graded) <= 40:
        ax.bar(range(len(graded)), [r.seconds for r in graded],
               color=["tab:red" if flags(r) else "tab:green" for r in graded])
        ax.set_xticks(range(len(graded)), [r.student for r in graded], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("seconds")
    else:
        ax.hist([r.seconds for r in graded], bins=20, color="tab:green", edgecolor="white")
        ax.set_xlabel("seconds")
        ax.set_ylabel("submissions")
    ax.set_ylim(bottom=0)
    ax.set_title("Grading time per submission (red: flagged)", fontsize=10)
    return save(fig, path)


def _inline(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _row(record: Record, stem: str) -> dict:
    """One line of a table: the values as the page shows them (the template escapes them); ``stem`` names its
    feedback page (:func:`autograder.escape.file_stems`)."""
    report = record.report
    return {"student": record.student, "stem": stem, "score": f"{report.score:g}" if report else "—",
            "bonus": f"{report.bonus:g}" if report else "—", "total": f"{total(record):g}",
            "seconds": f"{record.seconds:.0f}", "flags": ", ".join(flags(record)).replace("_", " "),
            "problem": problem_text(record)}


def similarity_section(out: Path, top: int = 20) -> dict | None:
    """The flagged pairs of ``out/similarity/pairs.csv`` and its heat maps, when `--similarity` ran; else None."""
    from autograder.batch.similarity import read_pairs

    folder = out / "similarity"
    if not (folder / "pairs.csv").is_file():
        return None
    flagged = [p for p in read_pairs(folder / "pairs.csv") if p.flagged]
    pairs = [{"project": p.project, "a": p.a, "b": p.b, "similarity": f"{p.similarity:.2f}",
              "a_in_b": f"{p.a_in_b:.2f}", "b_in_a": f"{p.b_in_a:.2f}", "tokens": p.tokens} for p in flagged[:top]]
    return {"flagged": len(flagged), "pairs": pairs,
            "maps": [{"src": _inline(m), "alt": m.stem} for m in sorted(folder.glob("heatmap_*.png"))],
            "reports": [{"name": r.name, "stem": r.stem} for r in sorted(folder.glob("project*.html"))]}


def measured_tasks(records: list[Record]) -> list[dict]:
    """Per measured task (an accuracy task): how many submissions it measured, passed, and the near misses (within
    record.NEAR_MISS of the threshold, either side), the median figure and the threshold, as the page shows them."""
    found: dict[str, list[Measure]] = {}
    for r in records:
        for t in r.report.tasks if r.report is not None else []:
            if t.measure is not None:
                found.setdefault(t.task, []).append(t.measure)
    rows = []
    for task, measures in found.items():
        first = measures[0]
        rows.append({"task": task, "measured": len(measures), "passed": sum(m.passed for m in measures),
                     "near": sum(m.near_miss for m in measures),
                     "median": first.show(statistics.median(m.value for m in measures)),
                     "threshold": first.show(first.threshold)})
    return rows


def write_report(out: Path, records: list[Record]) -> Path:
    """``report.html`` and ``figures/*.png`` into ``out``; returns the page's path."""
    from autograder.templating import render

    out = Path(out)
    figures = out / "figures"
    pngs = [totals_figure(records, figures / "totals.png"), pass_rate_figure(records, figures / "pass_rate.png"),
            seconds_figure(records, figures / "seconds.png")]
    graded = [r for r in records if r.report is not None]
    flagged = [r for r in records if flags(r)]
    stems = file_stems(r.student for r in records)
    scores = [r.report.score for r in records if r.report is not None]
    summary = [f"{len(records)} entries", f"{len(graded)} graded",
               f"{sum(r.status is RowStatus.UNUSABLE for r in records)} unusable", f"{len(flagged)} flagged"]
    if scores:
        summary += [f"mean {statistics.mean(scores):.1f}", f"median {statistics.median(scores):.1f}"]
    page = render("report.html.j2", graded=len(graded), entries=len(records), summary=summary,
                  images=[{"src": _inline(p), "alt": p.stem, "file": f"figures/{p.name}"} for p in pngs],
                  flagged=[_row(r, stems[r.student]) for r in flagged],
                  rows=[_row(r, stems[r.student]) for r in records],
                  similarity=similarity_section(out), measured=measured_tasks(records),
                  core_total=f"{rubric.core_total():g}")
    return atomic_write(out / "report.html", page)


def describe(records: list[Record]) -> str:
    """One line per record, for the terminal."""
    return "\n".join(headline(r) + (f"  [{', '.join(flags(r))}]" if flags(r) else "") for r in records)
