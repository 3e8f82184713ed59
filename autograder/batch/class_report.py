"""``report.html``: one self-contained page (figures inlined, no network) that a course team looks at rather than
reads — the distribution of totals, the pass rate of every task, the seconds each submission took, and the
submissions to look at, each linked to its feedback. The figures are also written as PNGs in ``figures/``."""

from __future__ import annotations

import base64
import html
import statistics
from pathlib import Path

from autograder import rubric
from autograder.batch.outputs import flags, headline, total
from autograder.batch.store import Record, RowStatus
from course.files import atomic_write
from course.plots import plt, save

COLORS = {"project1": "tab:blue", "project2": "tab:orange"}


def totals_figure(records: list[Record], path: Path) -> Path:
    graded = [r for r in records if r.report is not None]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    scores = [r.report.score for r in graded]
    ax.hist(scores, bins=range(0, 105, 5), color="tab:blue", edgecolor="white")
    if scores:
        mean, median = statistics.mean(scores), statistics.median(scores)
        ax.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.1f}")
        ax.axvline(median, color="tab:red", linestyle=":", linewidth=1.5, label=f"median {median:.1f}")
        ax.legend(fontsize=8, loc="upper left")
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"score out of {rubric.core_total():g} (bonus not included)")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
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


def _row(record: Record) -> str:
    link = f'<a href="feedback/{html.escape(record.student)}.html">{html.escape(record.student)}</a>'
    report = record.report
    score = f"{report.score:g}" if report else "—"
    bonus = f"{report.bonus:g}" if report else "—"
    why = ", ".join(flags(record)).replace("_", " ")
    return (f"<tr><td>{link}</td><td class=n>{score}</td><td class=n>{bonus}</td><td class=n>{total(record):g}</td>"
            f"<td class=n>{record.seconds:.0f}</td><td>{html.escape(why)}</td>"
            f"<td>{html.escape(record.problem)}</td></tr>")


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:75em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}figure{display:inline-block;margin:0 1em 1em 0}
img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse;font-size:.9em}
td,th{border-bottom:1px solid #ddd;padding:.3em .7em;text-align:left}td.n{text-align:right}
.summary span{display:inline-block;margin-right:2em}"""


def similarity_section(out: Path, top: int = 20) -> str:
    """The flagged pairs of ``out/similarity/pairs.csv`` and its heat maps, when `--similarity` ran; else ""."""
    from autograder.batch.similarity import read_pairs

    folder = out / "similarity"
    if not (folder / "pairs.csv").is_file():
        return ""
    pairs = read_pairs(folder / "pairs.csv")
    flagged = [p for p in pairs if p.flagged]
    rows = "".join(f"<tr><td>{p.project}</td><td>{html.escape(p.a)}</td><td>{html.escape(p.b)}</td>"
                   f"<td class=n>{p.similarity:.2f}</td><td class=n>{p.a_in_b:.2f}</td><td class=n>{p.b_in_a:.2f}</td>"
                   f"<td class=n>{p.tokens}</td></tr>" for p in flagged[:top])
    maps = "\n".join(f'<figure><img src="{_inline(m)}" alt="{m.stem}"></figure>'
                      for m in sorted(folder.glob("heatmap_*.png")))
    reports = ", ".join(f'<a href="similarity/{r.name}">{r.stem}</a>' for r in sorted(folder.glob("project*.html")))
    return (f"<h2>Similar code ({len(flagged)} pair(s) flagged)</h2>"
            "<table><tr><th>project</th><th>A</th><th>B</th><th>similarity</th><th>A in B</th><th>B in A</th>"
            f"<th>tokens</th></tr>{rows or '<tr><td colspan=7>no pair at or above the threshold</td></tr>'}</table>"
            f"<p>Matched regions, highlighted: {reports}. Every pair: <code>similarity/pairs.csv</code>.</p>{maps}")


def write_report(out: Path, records: list[Record]) -> Path:
    """``report.html`` and ``figures/*.png`` into ``out``; returns the page's path."""
    out = Path(out)
    figures = out / "figures"
    pngs = [totals_figure(records, figures / "totals.png"), pass_rate_figure(records, figures / "pass_rate.png"),
            seconds_figure(records, figures / "seconds.png")]
    graded = [r for r in records if r.report is not None]
    flagged = [r for r in records if flags(r)]
    scores = [r.report.score for r in graded]
    summary = [f"{len(records)} entries", f"{len(graded)} graded",
               f"{sum(r.status is RowStatus.UNUSABLE for r in records)} unusable", f"{len(flagged)} flagged"]
    if scores:
        summary += [f"mean {statistics.mean(scores):.1f}", f"median {statistics.median(scores):.1f}"]
    head = "<tr><th>student</th><th>score</th><th>bonus</th><th>total</th><th>seconds</th><th>flags</th><th>note</th></tr>"
    images = "\n".join(f'<figure><img src="{_inline(p)}" alt="{p.stem}" data-file="figures/{p.name}"></figure>'
                       for p in pngs)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class report</title><style>{STYLE}</style></head>
<body><h1>Class report: {len(graded)} of {len(records)} submissions graded</h1>
<p class="summary">{"".join(f"<span>{html.escape(s)}</span>" for s in summary)}</p>
{images}
<h2>To look at ({len(flagged)})</h2>
<table>{head}{"".join(_row(r) for r in flagged) or '<tr><td colspan=7>nothing flagged</td></tr>'}</table>
<h2>Every submission</h2>
<table>{head}{"".join(_row(r) for r in records)}</table>
{similarity_section(out)}
<p>Scores are out of {rubric.core_total():g} (public and hidden tasks); bonus points come on top.
Per-student feedback: <code>feedback/</code>; the table: <code>grades.csv</code>;
Gradescope: <code>gradescope/&lt;id&gt;/results.json</code>.</p>
</body></html>
"""
    return atomic_write(out / "report.html", page)


def describe(records: list[Record]) -> str:
    """One line per record, for the terminal."""
    return "\n".join(headline(r) + (f"  [{', '.join(flags(r))}]" if flags(r) else "") for r in records)
