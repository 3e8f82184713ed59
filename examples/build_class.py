"""Build the demo class ``examples/class/`` from the reference solutions, the plain fixture and the skeletons.

    python examples/build_class.py            # (re)write examples/class/
    python examples/build_class.py --check    # exit 1 if examples/class/ or examples/lms/ differs from a fresh build
    python examples/build_class.py --github-classroom DIR   # the GitHub Classroom clone of the demo, into DIR

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
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
SOLUTIONS, ASSIGNMENTS, PLAIN = KIT / "solutions", KIT / "assignments", KIT / "tests" / "fixtures" / "plain"
CLASS = KIT / "examples" / "class"
LMS = KIT / "examples" / "lms"
LMS_WORK = {"grades", "grades-moodle", "grades-github", "clone"}  # what the instructor guide's week writes into examples/lms/ (ignored by git)
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


# ------------------------------------------------------------------------------------------------ LMS downloads
# Four demo students as three LMSs hand them over (files of examples/class/, byte for byte), with a roster and a
# course file: examples/lms/ (docs/instructor-guide.md, "A week of the semester").

DEADLINE = "2026-12-04T23:59:00+01:00"
# demo id, name (as the roster writes it), Canvas user id, GitHub username
STUDENTS = (("ada", "Ada Lovelace", "340001", "ada-l"), ("emma", "Emmy Nöther", "340002", "emmy-n"),
            ("farid", "Farid Haddad", "340003", "farid-h"), ("ines", "Inès Müller", "340004", "ines-m"))
ROSTER = ("student_id,name,email,lms_id,sis_login_id,section,github\n"
          + "".join(f"{sid},{name},{sid}@example.edu,{canvas},{sid}01,{'A' if i < 2 else 'B'},{gh}\n"
                    for i, (sid, name, canvas, gh) in enumerate(STUDENTS))
          + "gita,Gita Rao,gita@example.edu,340005,gita01,B,gita-r\n")  # hands nothing in: a missing row
COURSE = f"""# The demo's course file (docs/course-file.md)
[assignment]
name = "Mini-projects"
canvas_id = "4242"
seed = 2026
deadline = {DEADLINE}

[late]
grace_minutes = 15
penalty_percent = 10
per = "day"
maximum_percent = 50
cutoff_hours = 72

[extensions]
ines = 48   # hours
"""
OVERRIDES = ("student,task,points,reason,who,when\n"
             "farid,p1.shapes,+1,the syntax error was a copy-paste slip fixed in office hours,TA Bo,2026-12-07\n"
             "ines,total,5,participation credit agreed in class,Prof. Ng,2026-12-08\n")


def files_of(student: str) -> dict[str, bytes]:
    """A demo student's files in examples/class/ (built just before), by path under the submission."""
    root = CLASS_BUILT / student
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(members.items()):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buffer.getvalue()


def canvas(target: Path) -> None:
    """Canvas's Download Submissions: ada uploaded her files one by one (models.py twice: Canvas renamed the
    second models-1.py), emma's zip is flagged _LATE, farid zipped a downloaded repository (two levels), ines
    uploaded a zip."""
    members: dict[str, bytes] = {}
    attachment = 9000000
    ada = files_of("ada")
    skeleton = (ASSIGNMENTS / "project1" / "models.py").read_bytes()
    for name, data in [("models.py", skeleton), *((Path(k).name, v) for k, v in ada.items()),
                       ("models-1.py", ada["project1/models.py"])]:
        if name == "models.py" and data != skeleton:
            continue  # the second upload of models.py is models-1.py
        attachment += 1
        members[f"lovelaceada_340001_{attachment}_{name}"] = data
    members["noetheremmy_LATE_340002_9000100_emma.zip"] = zip_bytes(files_of("emma"))
    members["haddadfarid_340003_9000200_dl-miniprojects-main.zip"] = zip_bytes(
        {f"dl-miniprojects-main/assignments/{k}": v for k, v in files_of("farid").items()})
    members["mullerines_340004_9000300_submission.zip"] = zip_bytes(files_of("ines"))
    (target / "canvas").mkdir(parents=True)
    (target / "canvas" / "submissions.zip").write_bytes(zip_bytes(members))


def moodle(target: Path) -> None:
    """Moodle's Download all submissions: a folder per student (participant ids of this assignment), holding the
    uploaded zip, or the files themselves (farid); one participant not on the roster."""
    members: dict[str, bytes] = {}
    for pid, (sid, name, _, _) in enumerate(STUDENTS, start=501):
        folder = f"{name}_{pid}_assignsubmission_file_"
        if sid == "farid":
            members.update({f"{folder}/{k}": v for k, v in files_of(sid).items()})
        else:
            members[f"{folder}/{sid}.zip"] = zip_bytes(files_of(sid))
    members["Zoë Stranger_599_assignsubmission_file_/work.zip"] = zip_bytes(files_of("ines"))
    (target / "moodle").mkdir(parents=True)
    (target / "moodle" / "submissions.zip").write_bytes(zip_bytes(members))


# (student, commit time, what it changes): ada commits after the cutoff (not graded), emma a day late
COMMITS = {"ada": [("2026-12-01T10:00:00+01:00", "ines"), ("2026-12-04T20:00:00+01:00", "ada"),
                   ("2026-12-09T09:00:00+01:00", "ines")],
           "emma": [("2026-12-02T10:00:00+01:00", "ines"), ("2026-12-05T23:00:00+01:00", "emma")],
           "farid": [("2026-12-04T23:50:00+01:00", "farid")],
           "ines": [("2026-12-06T12:00:00+01:00", "ines")]}


def github_classroom(target: Path) -> Path:
    """``gh classroom clone student-repos`` of the demo: mini-projects-submissions/mini-projects-<username>/, each a
    git repository whose commits fall around the deadline (GIT_COMMITTER_DATE); farid's nests the projects under
    assignments/. Built on demand (a git repository cannot live inside the kit's)."""
    root = target / "mini-projects-submissions"
    with tempfile.TemporaryDirectory() as tmp:
        global CLASS_BUILT
        CLASS_BUILT = Path(tmp) / "class"
        build(CLASS_BUILT)
        for sid, name, _, user in STUDENTS:
            repo = root / f"mini-projects-{user}"
            repo.mkdir(parents=True)
            git = ["git", "-c", "user.name=" + name, "-c", f"user.email={sid}@example.edu", "-c",
                   "init.defaultBranch=main", "-c", "core.hooksPath=/dev/null", "-C", str(repo)]
            subprocess.run([*git, "init", "-q"], check=True)
            for when, source in COMMITS[sid]:
                for old in [p for p in repo.iterdir() if p.name != ".git"]:
                    shutil.rmtree(old)
                prefix = "assignments/" if sid == "farid" else ""
                for rel, data in files_of(source).items():
                    (repo / (prefix + rel)).parent.mkdir(parents=True, exist_ok=True)
                    (repo / (prefix + rel)).write_bytes(data)
                env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_CONFIG_NOSYSTEM": "1"}
                subprocess.run([*git, "add", "-A"], check=True, env=env)
                subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", f"work of {when[:10]}"], check=True,
                               env=env)
    return root


def build_lms(root: Path, built_class: Path) -> None:
    global CLASS_BUILT
    CLASS_BUILT = built_class
    root.mkdir(parents=True)
    canvas(root)
    moodle(root)
    (root / "roster.csv").write_text(ROSTER)
    (root / "course.toml").write_text(COURSE)
    (root / "overrides.csv").write_text(OVERRIDES)


CLASS_BUILT = CLASS


def differences(a: Path, b: Path) -> list[str]:
    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    fa, fb = files(a), files(b) if b.is_dir() else {}
    return sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if examples/class/ or examples/lms/ differs from a fresh build")
    parser.add_argument("--github-classroom", metavar="DIR", default=None,
                        help="write the demo's GitHub Classroom clone into DIR (git repositories) and stop")
    args = parser.parse_args(argv)
    if args.github_classroom:
        print(f"wrote {github_classroom(Path(args.github_classroom).resolve())}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh, fresh_lms = Path(tmp) / "class", Path(tmp) / "lms"
        build(fresh)
        build_lms(fresh_lms, fresh)
        diff = differences(fresh, CLASS) + [f"lms/{d}" for d in differences(fresh_lms, LMS)
                                            if d.split("/")[0] not in LMS_WORK]
        if args.check:
            if diff:
                print("examples/ is out of date (python examples/build_class.py):\n  " + "\n  ".join(diff))
                return 1
            print("examples/class/ and examples/lms/ are up to date")
            return 0
        if CLASS.exists():
            shutil.rmtree(CLASS)
        shutil.copytree(fresh, CLASS)
        for path in LMS.iterdir() if LMS.exists() else []:
            if path.name not in LMS_WORK:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        shutil.copytree(fresh_lms, LMS, dirs_exist_ok=True)
    print(f"wrote {CLASS} ({len(list(CLASS.iterdir()))} entries) and {LMS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
