"""Which submissions share code beyond the handout: copydetect (MOSS-style winnowing) over each student's code.

For every project, each student's ``.py`` files and the code cells of their notebooks are joined into one text;
the same text made from the released skeletons (``assignments/``) is copydetect's *boilerplate*, so the given code
never counts. With ``against_solutions`` the reference solutions join as a reference text, to catch a leaked
solution. copydetect tokenises the code first (names become placeholders), so renaming variables or rewriting
comments does not hide a copy.

Outputs in the similarity folder: ``pairs.csv`` (every pair, most similar first: the share of A's code found in B
and of B's found in A, the overlapping tokens, the flag), copydetect's ``<project>.html`` with the matched regions
highlighted, and ``heatmap_<project>.png``. The flag threshold defaults to 0.5 (docs/batch-grading.md: how it was
chosen).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from autograder.batch.intake import Entry, IGNORED_PARTS
from course.files import atomic_write
from course.submission import KIT_ROOT, PROJECTS

THRESHOLD = 0.5
SOLUTIONS = "(reference solution)"


@dataclass
class Pair:
    project: str
    a: str
    b: str
    a_in_b: float      # the share of A's code (fingerprints) also in B
    b_in_a: float
    tokens: int        # overlapping tokens
    flagged: bool

    @property
    def similarity(self) -> float:
        return max(self.a_in_b, self.b_in_a)


def code_text(folder: Path) -> str:
    """A project folder's code as one text: its ``.py`` files, then its notebooks' code cells, in name order."""
    parts = []
    if not folder.is_dir():
        return ""
    if folder.is_symlink():
        return ""  # a link is never followed (intake already refuses such an entry)
    for path in sorted(folder.rglob("*.py")):
        if path.is_symlink() or not path.is_file():
            continue
        if not IGNORED_PARTS & set(path.relative_to(folder).parts):
            parts.append(f"# file: {path.name}\n{path.read_text(errors='replace')}")
    for path in sorted(folder.rglob("*.ipynb")):
        if path.is_symlink() or IGNORED_PARTS & set(path.relative_to(folder).parts):
            continue
        try:
            cells = json.loads(path.read_text(errors="replace")).get("cells", [])
        except (json.JSONDecodeError, AttributeError):
            continue  # a notebook that is not JSON has no code to compare (grading flags it)
        for cell in cells:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                parts.append("".join(source) if isinstance(source, list) else str(source))
    return "\n\n".join(parts)


def _write_texts(entries: list[Entry], project: str, folder: Path, against_solutions: bool) -> list[tuple[str, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    texts = []
    for entry in entries:
        if entry.root is None:
            continue
        text = code_text(entry.root / project)
        if text.strip():
            path = folder / f"{entry.student}.py"
            path.write_text(text)
            texts.append((entry.student, path))
    if against_solutions:
        path = folder.parent / f"{project}-solutions.py"
        path.write_text(code_text(KIT_ROOT / "solutions" / project))
        texts.append((SOLUTIONS, path))
    return texts


def compare_project(entries: list[Entry], project: str, out: Path, threshold: float,
                    against_solutions: bool) -> list[Pair]:
    """One project's pairs, its copydetect report and its heat map."""
    from copydetect import CopyDetector

    logging.getLogger().setLevel(logging.ERROR)  # copydetect warns through the root logger
    texts = _write_texts(entries, project, out / ".texts" / project, against_solutions)
    students = [t for t in texts if t[0] != SOLUTIONS]
    if len(texts) < 2:
        return []
    boilerplate = out / ".texts" / f"{project}-handout.py"
    boilerplate.write_text(code_text(KIT_ROOT / "assignments" / project))
    detector = CopyDetector(test_dirs=[], ref_dirs=[], boilerplate_dirs=[], extensions=["py"], display_t=threshold,
                            autoopen=False, silent=True, out_file=str(out / f"{project}.html"))
    for name, path in texts:
        detector.add_file(str(path), "ref" if name == SOLUTIONS else "testref")
    detector.add_file(str(boilerplate), "boilerplate")
    detector.run()
    names = {str(path): name for name, path in texts}
    rows, cols = [names[f] for f in detector.test_files], [names[f] for f in detector.ref_files]
    pairs = []
    for i, a in enumerate(rows):
        for j, b in enumerate(cols):
            if a == b or (b != SOLUTIONS and a > b):
                continue  # each pair once (the solution always as B)
            a_in_b, b_in_a = (float(x) for x in detector.similarity_matrix[i, j])
            if a_in_b < 0:
                continue  # not compared
            pairs.append(Pair(project, a, b, a_in_b, b_in_a, int(detector.token_overlap_matrix[i, j]),
                              max(a_in_b, b_in_a) >= threshold))
    if students:
        detector.generate_html_report()
    heatmap(project, [s for s, _ in students], pairs, out / f"heatmap_{project}.png", threshold)
    return pairs


def compare(entries: list[Entry], out: Path, *, threshold: float = THRESHOLD,
            against_solutions: bool = False) -> list[Pair]:
    """Every pair of students (and the solution, if asked), per project, most similar first; writes the reports.

    The two projects are compared in two processes at once (copydetect runs on one core).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=len(PROJECTS), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(compare_project, entries, project, out, threshold, against_solutions)
                   for project in PROJECTS]
        pairs = [pair for future in futures for pair in future.result()]
    pairs.sort(key=lambda p: (-p.similarity, p.project, p.a, p.b))
    write_pairs(out / "pairs.csv", pairs)
    return pairs


def write_pairs(path: Path, pairs: list[Pair]) -> Path:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["student_a", "student_b", "project", "similarity", "a_in_b", "b_in_a", "overlapping_tokens",
                     "flagged"])
    for p in pairs:
        writer.writerow([p.a, p.b, p.project, f"{p.similarity:.4f}", f"{p.a_in_b:.4f}", f"{p.b_in_a:.4f}", p.tokens,
                         "yes" if p.flagged else ""])
    return atomic_write(path, text.getvalue())


def read_pairs(path: Path) -> list[Pair]:
    with open(path, newline="") as f:
        return [Pair(r["project"], r["student_a"], r["student_b"], float(r["a_in_b"]), float(r["b_in_a"]),
                     int(r["overlapping_tokens"]), r["flagged"] == "yes") for r in csv.DictReader(f)]


def heatmap(project: str, students: list[str], pairs: list[Pair], path: Path, threshold: float) -> Path:
    """The pairwise similarity (the larger of the two shares) of a project's students as a heat map."""
    import numpy as np

    from course.plots import plt, save

    index = {s: i for i, s in enumerate(students)}
    matrix = np.zeros((len(students), len(students)))
    for p in pairs:
        if p.a in index and p.b in index:
            matrix[index[p.a], index[p.b]] = matrix[index[p.b], index[p.a]] = p.similarity
    size = min(12.0, 2.5 + 0.22 * len(students))
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(matrix, vmin=0, vmax=1, cmap="magma_r")
    if len(students) <= 40:
        ax.set_xticks(range(len(students)), students, rotation=90, fontsize=7)
        ax.set_yticks(range(len(students)), students, fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=ax, fraction=0.046, label="similarity (share of code found in the other)")
    ax.set_title(f"{project}: pairwise similarity beyond the handout (flag at {threshold:g})", fontsize=10)
    return save(fig, path)
