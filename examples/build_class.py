"""Build the demo class ``examples/class/`` from the reference solutions, the plain fixture and the skeletons.

    python examples/build_class.py            # (re)write examples/class/
    python examples/build_class.py --check    # exit 1 if examples/class/ differs from a fresh build

Ten entries, as an instructor's download of a small class looks:

==============  ==========================================================  ====================================
entry           what it is                                                  its notebooks (autograder grade
                                                                            --nbgrader)
==============  ==========================================================  ====================================
``ada/``        the reference solution: 100 + 15 bonus                      answered
``ben/``        a plain, correct submission, no bonus attempted: 100 + 0    answered
``chloe/``      ``ReLU.backward`` with the wrong sign: loses the gradients   project2.ipynb missing
                it touches and the circle
``dmitri/``     ``SiameseNet`` with two branches: loses p1.siamese.sharing  a graded test cell deleted
``emma/``       ``pair_loss`` ignores ``aux_weight``: loses p1.pair_loss    a wrong answer (hidden test fails)
``farid/``      a syntax error in ``models.py``: project 1's net tasks      project2.ipynb not valid JSON
``gita.zip``    the reference, zipped, nested one level (a repository)      answered
``hugo/``       ``train.py`` never finishes importing: project 1 at once    a locked test cell changed
``ines/``       the untouched skeleton: 0                                   unanswered
``jonas.tgz``   a corrupt archive: unusable, not graded                     —
==============  ==========================================================  ====================================
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
SOLUTIONS, ASSIGNMENTS, PLAIN = KIT / "solutions", KIT / "assignments", KIT / "tests" / "fixtures" / "plain"
CLASS = KIT / "examples" / "class"
FIXED_TIME = (2026, 11, 23, 12, 0, 0)  # archive timestamps, so a rebuild is byte-identical


def copy_project(source: Path, target: Path, project: str) -> None:
    """The project's .py files, and its notebook as a student hands it in: the released one, answered unless the
    source is the skeleton itself (a student's notebook never holds the hidden tests)."""
    (target / project).mkdir(parents=True, exist_ok=True)
    for path in sorted((source / project).glob("*.py")):
        shutil.copyfile(path, target / project / path.name)
    notebook = answered(project) if source != ASSIGNMENTS else (ASSIGNMENTS / project / f"{project}.ipynb").read_text()
    (target / project / f"{project}.ipynb").write_text(notebook)


def answered(project: str) -> str:
    """The released notebook with every answer cell filled in from the solution notebook (markers removed)."""
    released = json.loads((ASSIGNMENTS / project / f"{project}.ipynb").read_text())
    solution = json.loads((SOLUTIONS / project / f"{project}.ipynb").read_text())
    answers = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in solution["cells"]}
    for cell in released["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            source = "".join(answers[meta["grade_id"]]["source"])
            lines = [line for line in source.split("\n") if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line]
            cell["source"] = "\n".join(lines)
    return json.dumps(released, indent=1, ensure_ascii=False) + "\n"


def edit_notebook(path: Path, grade_id: str, change) -> None:
    """Apply ``change(cell)`` to the cell ``grade_id`` of a notebook (``change`` returns None to delete it)."""
    nb = json.loads(path.read_text())
    cells = []
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            cell = change(cell)
        if cell is not None:
            cells.append(cell)
    nb["cells"] = cells
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"build_class: {path.name} no longer contains exactly one {old!r}; update the fault")
    path.write_text(text.replace(old, new))


def drop_class(path: Path, name: str) -> None:
    """Remove ``class name`` from a module (a bonus part not attempted): its lines up to the next line that starts
    at the margin (the next definition, comment or helper stays)."""
    lines = path.read_text().splitlines(keepends=True)
    start = lines.index(next(line for line in lines if line.startswith(f"class {name}")))
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
        end += 1
    path.write_text("".join(lines[:start] + lines[end:]))


def solution(target: Path) -> Path:
    for project in ("project1", "project2"):
        copy_project(SOLUTIONS, target, project)
    return target


def build(root: Path) -> None:
    root.mkdir(parents=True)
    solution(root / "ada")

    ben = root / "ben"
    copy_project(PLAIN, ben, "project1")
    copy_project(SOLUTIONS, ben, "project2")
    for name in ("LeakyReLU", "Dropout", "LossBCE", "LossCrossEntropy", "Adam", "Conv2d", "MaxPool2d", "Flatten"):
        drop_class(ben / "project2" / "framework.py", name)
    edit(ben / "project2" / "framework.py", "        if self.momentum != 0.0:", "        if False:  # no momentum")

    chloe = solution(root / "chloe")
    edit(chloe / "project2" / "framework.py", "        return gradwrtoutput * self.output.sign()\n",
         "        return -gradwrtoutput * self.output.sign()\n")
    (chloe / "project2" / "project2.ipynb").unlink()  # the notebook was not handed in

    dmitri = solution(root / "dmitri")
    edit(dmitri / "project1" / "models.py", "        self.branch = DigitNet(out_features=10, dropout=dropout)\n"
         "        self.head = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))",
         "        self.first = DigitNet(out_features=10, dropout=dropout)\n"
         "        self.second = DigitNet(out_features=10, dropout=dropout)\n"
         "        self.head = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))")
    edit(dmitri / "project1" / "models.py", "        first = self.branch(x[:, 0:1])  # N×10\n"
         "        second = self.branch(x[:, 1:2])  # N×10\n        target_logits",
         "        first = self.first(x[:, 0:1])  # N×10\n        second = self.second(x[:, 1:2])  # N×10\n"
         "        target_logits")
    edit_notebook(dmitri / "project1" / "project1.ipynb", "p1-test-params", lambda cell: None)  # a deleted test

    emma = solution(root / "emma")
    edit(emma / "project1" / "train.py", "        loss = loss + aux_weight * (first_digit_loss + second_digit_loss)",
         "        loss = loss + first_digit_loss + second_digit_loss")
    edit(emma / "project1" / "project1.ipynb", "sum(1 for a in range(10) for b in range(10) if a <= b) / 100",
         "0.5")  # a wrong answer: the public check passes, the hidden one does not

    farid = solution(root / "farid")
    edit(farid / "project1" / "models.py", "class SiameseNet(nn.Module):", "class SiameseNet(nn.Module)")
    broken = farid / "project2" / "project2.ipynb"
    broken.write_text(broken.read_text()[:3000])  # a notebook cut short: not valid JSON

    with tempfile.TemporaryDirectory() as tmp:
        gita = solution(Path(tmp) / "dl-miniprojects")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(gita.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(path.relative_to(gita.parent).as_posix(), FIXED_TIME)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    z.writestr(info, path.read_bytes())
        (root / "gita.zip").write_bytes(buffer.getvalue())

    hugo = solution(root / "hugo")
    edit_notebook(hugo / "project2" / "project2.ipynb", "p2-test-disk",  # a locked test cell "fixed"
                  lambda cell: {**cell, "source": "assert True  # my answer is right"})
    edit(hugo / "project1" / "train.py", "import math\n", "import math\nimport time\n\nwhile True:  # left over "
         "from an experiment: this file never finishes importing\n    time.sleep(1)\n")

    ines = root / "ines"
    for project in ("project1", "project2"):
        copy_project(ASSIGNMENTS, ines, project)

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as t:
        data = (SOLUTIONS / "project1" / "models.py").read_bytes()
        info = tarfile.TarInfo("jonas/project1/models.py")
        info.size, info.mtime = len(data), 0
        t.addfile(info, io.BytesIO(data))
    (root / "jonas.tgz").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])  # cut: a corrupt download


def differences(a: Path, b: Path) -> list[str]:
    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    fa, fb = files(a), files(b) if b.is_dir() else {}
    return sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if examples/class/ differs from a fresh build")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "class"
        build(fresh)
        diff = differences(fresh, CLASS)
        if args.check:
            if diff:
                print("examples/class/ is out of date (python examples/build_class.py):\n  " + "\n  ".join(diff))
                return 1
            print("examples/class/ is up to date")
            return 0
        if CLASS.exists():
            shutil.rmtree(CLASS)
        shutil.copytree(fresh, CLASS)
    print(f"wrote {CLASS} ({len(list(CLASS.iterdir()))} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
