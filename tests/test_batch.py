"""`autograder grade`: the intake of folders and archives, the store, the outputs, resuming after a kill, Dask, and
the class report in a browser.

The end-to-end tests grade a small class taken from the demo class (examples/class: the reference, a syntax error,
the skeleton, a corrupt archive) on a few tasks only (``TASKS``), to stay fast; `autograder grade examples/class`
grades everything (docs/batch-grading.md has the measured figures).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from conftest import points_of, sandbox_args
from gradescope_format import validate

from autograder import escape, rubric
from autograder.batch import intake
from autograder.batch.store import Record, RowStatus, Store
from autograder.record import GradeReport, NoteKind, SchemaError, Status
from course.submission import KIT_ROOT

DEMO = KIT_ROOT / "examples" / "class"
TASKS = "p1.shapes,p1.pair_loss,p2.linear.forward"
NO_SANDBOX = sandbox_args()


# ------------------------------------------------------------------------------------------------ intake


def _zip(path: Path, members: dict[str, bytes], links: dict[str, str] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
    return path


def _tar(path: Path, members: dict[str, bytes], links: dict[str, str] = ()) -> Path:
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for name, target in dict(links).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            t.addfile(info)
    return path


MODELS = b"class BaselineNet: pass\n"


def test_intake_reads_folders_nested_folders_and_archives(tmp_path):
    cls = tmp_path / "class"
    (cls / "alice" / "project1").mkdir(parents=True)
    (cls / "alice" / "project1" / "models.py").write_bytes(MODELS)
    (cls / "bob" / "dl-miniprojects" / "project2").mkdir(parents=True)
    (cls / "bob" / "dl-miniprojects" / "project2" / "framework.py").write_text("x = 1\n")
    _zip(cls / "carol.zip", {"repo/project1/models.py": MODELS, "__MACOSX/._x": b""})
    _tar(cls / "dave.tar.gz", {"project1/models.py": MODELS})
    (cls / "empty").mkdir()
    (cls / "eve" / "homework").mkdir(parents=True)
    (cls / "eve" / "homework" / "main.py").write_text("print(1)\n")
    (cls / "notes.txt").write_text("not a submission")
    (cls / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    (cls / "frank").mkdir()
    (cls / "frank" / "project1").mkdir()
    _zip(cls / "frank.zip", {"project1/models.py": MODELS})
    entries = {e.student: e for e in intake.collect(cls, tmp_path / "staging")}

    frank_zip = f"frank~{escape.short_hash('frank.zip')}"  # beside folder frank: both kept (tests/test_ids.py)
    assert sorted(entries) == ["alice", "bob", "carol", "corrupt", "dave", "empty", "eve", "frank", frank_zip,
                               "notes.txt"]
    assert entries["alice"].root == cls / "alice"
    assert entries["bob"].root == cls / "bob" / "dl-miniprojects"
    assert (entries["carol"].root / "project1" / "models.py").read_bytes() == MODELS
    assert (entries["dave"].root / "project1" / "models.py").read_bytes() == MODELS
    for student, words in (("empty", "empty"), ("eve", "no project1/ or project2/"), ("notes.txt", "not a folder"),
                           ("corrupt", "corrupt")):
        assert entries[student].root is None and words in entries[student].problem, (student, entries[student])
    assert entries["frank"].root == cls / "frank" and entries["frank"].same_id == [frank_zip]
    assert entries[frank_zip].root is not None and entries[frank_zip].same_id == ["frank"]


@pytest.mark.parametrize("make", [_zip, _tar])
def test_archives_unpack_nothing_outside_and_no_links(tmp_path, make):
    archive = make(tmp_path / f"mallory{'.zip' if make is _zip else '.tar.gz'}",
                   {"project1/models.py": MODELS, "../escaped.py": b"bad", "/tmp/absolute.py": b"bad",
                    "project1/../../up.py": b"bad"},
                   links={"project1/link.py": "/etc/passwd"})
    staging = tmp_path / "staging"
    [entry] = intake.collect(_only(archive, tmp_path), staging)
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file() or p.is_symlink())
    assert files == ["mallory/project1/models.py"], files
    assert not (tmp_path / "escaped.py").exists() and not Path("/tmp/absolute.py").exists()
    assert entry.root is not None


def _only(archive: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "only"
    folder.mkdir(exist_ok=True)
    shutil.move(str(archive), folder / archive.name)
    return folder


def test_an_archive_that_unpacks_too_big_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_BYTES", 1000)
    cls = tmp_path / "class"
    cls.mkdir()
    _zip(cls / "bomb.zip", {"project1/models.py": b"#" * 5000})
    [entry] = intake.collect(cls, tmp_path / "staging")
    assert entry.root is None and "more than" in entry.problem


def test_digest_is_about_the_graded_files_only(tmp_path):
    cls = tmp_path / "class"
    (cls / "alice" / "project1" / "__pycache__").mkdir(parents=True)
    (cls / "alice" / "project1" / "models.py").write_bytes(MODELS)
    _zip(cls / "bob.zip", {"bob-repo/project1/models.py": MODELS, "bob-repo/README.md": b"hello"})
    entries = {e.student: e for e in intake.collect(cls, tmp_path / "staging")}
    first = intake.digest(entries["alice"])
    assert first == intake.digest(entries["bob"]), "the same graded files hash the same, however they were handed in"
    (cls / "alice" / "project1" / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"cache")
    assert intake.digest(entries["alice"]) == first
    (cls / "alice" / "project1" / "models.py").write_bytes(MODELS + b"# changed\n")
    assert intake.digest(entries["alice"]) != first


def _report(score: float) -> GradeReport:
    return GradeReport(score=score, max_score=rubric.core_total(), bonus=0.0, max_bonus=rubric.bonus_total(), tasks=[])


def test_store_keeps_one_row_per_student(tmp_path):
    store = Store(tmp_path / "grades.sqlite")
    store.put(Record("alice", "d1", "g", RowStatus.GRADED, report=_report(1)))
    store.put(Record("alice", "d2", "g", RowStatus.GRADED, report=_report(2)))
    store.put(Record("bob", "d3", "g", RowStatus.UNUSABLE, problem="empty"))
    store.close()
    again = Store(tmp_path / "grades.sqlite").all()
    assert set(again) == {"alice", "bob"} and again["alice"].report == _report(2) and again["bob"].problem == "empty"
    assert again["bob"].status is RowStatus.UNUSABLE


def test_a_store_of_the_previous_version_is_migrated(tmp_path):
    """A grades.sqlite of the kit before the typed record (no meta table, status sentences, "error" rows) is
    migrated when it is opened: statuses become typed, notes typed, an "error" row a grader_error to retry."""
    path = tmp_path / "grades.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE results (student TEXT PRIMARY KEY, digest TEXT NOT NULL, grading TEXT NOT NULL, "
               "status TEXT NOT NULL, problem TEXT NOT NULL, report TEXT, seconds REAL NOT NULL, "
               "source TEXT NOT NULL, graded_at TEXT NOT NULL)")
    old = {"score": 3.0, "max_score": 100, "bonus": 0.0, "max_bonus": 15, "complete": True,
           "tasks": [{"task": "p2.mse", "points": 0.0, "max_points": 5, "bonus": False, "visibility": "public",
                      "status": "timed out", "description": "d", "cases": 2, "passed": 0, "feedback": "x"}],
           "notes": ["project2: printed more than 1 MB; the rest was cut"], "import_errors": [],
           "benchmarks": [], "benchmarks_not_measured": []}
    db.execute("INSERT INTO results VALUES ('ada', 'd', 'g', 'graded', '', ?, 1.0, 'ada', 't')", (json.dumps(old),))
    db.execute("INSERT INTO results VALUES ('bo', 'd', 'g', 'error', 'boom', NULL, 1.0, 'bo', 't')")
    db.commit()
    db.close()
    rows = Store(path).all()
    ada = rows["ada"].report
    assert ada.tasks[0].status is Status.TIMEOUT and ada.notes[0].kind is NoteKind.OUTPUT
    assert [f.value for f in ada.flags()] == ["timeout", "output_cut"]
    assert rows["bo"].status is RowStatus.GRADER_ERROR and not rows["bo"].final


def test_a_store_of_a_newer_kit_is_refused(tmp_path):
    path = tmp_path / "grades.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'store_version'")
    db.commit()
    db.close()
    with pytest.raises(SchemaError, match="store version 99"):
        Store(path)


def test_a_report_of_a_newer_schema_is_refused():
    with pytest.raises(SchemaError, match="schema 99"):
        GradeReport.from_json({**_report(1).to_json(), "schema": 99})


# ------------------------------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for name in ("ada", "farid", "ines"):
        shutil.copytree(DEMO / name, folder / name)
    shutil.copyfile(DEMO / "jonas.tgz", folder / "jonas.tgz")
    return folder


def grade_class(folder: Path, out: Path, *extra, check=True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(folder), "--out", str(out),
                           "--task", TASKS, "--jobs", "2", "--no-progress", *NO_SANDBOX, *extra],
                          capture_output=True, text=True, timeout=600, cwd=KIT_ROOT)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def grades(out: Path, drop=("seconds", "graded_at")) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as f:
        return {row["student_id"]: {k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def graded(small_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("grades")
    done = grade_class(small_class, out)
    return out, done


def test_a_class_is_graded_with_every_output(graded):
    out, done = graded
    rows = grades(out)
    assert set(rows) == {"ada", "farid", "ines", "jonas"}
    assert float(rows["ada"]["score"]) == points_of(TASKS) and rows["ada"]["flags"] == ""
    assert float(rows["farid"]["score"]) == points_of("p1.pair_loss,p2.linear.forward")  # models.py does not import
    assert "import_error" in rows["farid"]["flags"]
    assert float(rows["ines"]["score"]) == 0
    assert rows["jonas"]["status"] == "unusable" and "corrupt" in rows["jonas"]["problem"]
    assert {"student_id", "raw_score", "score", "max_score"} <= set(next(iter(rows.values())))  # nbgrader's names
    for student in rows:
        assert (out / "feedback" / f"{student}.md").is_file() and (out / "feedback" / f"{student}.html").is_file()
        validate(json.loads((out / "gradescope" / student / "results.json").read_text()))
    farid = (out / "feedback" / "farid.md").read_text()
    assert "syntax error" in farid and "not graded: models.py of project1 does not import" in farid
    assert "Traceback" not in farid
    report = (out / "report.html").read_text()
    assert report.count('<img src="data:image/png;base64,') == 3
    assert all((out / "figures" / name).is_file() for name in ("totals.png", "pass_rate.png", "seconds.png"))
    assert oct((out / "grades.csv").stat().st_mode & 0o777) == oct(0o644 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_hidden_tests_stay_hidden_in_student_outputs(small_class, tmp_path):
    wrong = tmp_path / "class"
    shutil.copytree(small_class / "ada", wrong / "ada")
    train = wrong / "ada" / "project1" / "train.py"
    train.write_text(train.read_text().replace("loss = loss + aux_weight * (", "loss = loss + 0.5 * aux_weight * ("))
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(wrong), "--out", str(tmp_path / "o"),
                           "--task", "p1.hidden.pair_loss", "--no-progress", *NO_SANDBOX],
                          capture_output=True, text=True, timeout=300, cwd=KIT_ROOT)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "o" / "feedback" / "ada.md").read_text()
    assert "hidden test failed: p1.hidden.pair_loss" in text and "aux_weight=0.3" not in text
    results = json.loads((tmp_path / "o" / "gradescope" / "ada" / "results.json").read_text())
    [test] = [t for t in results["tests"] if t["number"] == "p1.hidden.pair_loss"]
    assert test["visibility"] == "after_published" and "expected" not in test["output"]


def test_a_rerun_grades_only_what_changed(small_class, graded, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(graded[0], out)
    before = grades(out)
    again = grade_class(small_class, out)
    assert "0 to grade" in again.stderr and grades(out) == before
    changed = tmp_path / "class"
    shutil.copytree(small_class, changed)
    framework = changed / "ines" / "project2" / "framework.py"
    framework.write_text(framework.read_text() + "\n# a comment changes the hash\n")
    third = grade_class(changed, out)
    assert "1 to grade" in third.stderr and grades(out) == before


def _stored(out: Path) -> int:
    try:
        with sqlite3.connect(out / "grades.sqlite") as db:
            return db.execute("SELECT COUNT(*) FROM results WHERE status = 'graded'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_killed_run_resumes_to_the_same_grades(small_class, graded, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder.cli", "grade", str(small_class), "--out", str(out), "--task", TASKS,
               "--jobs", "1", "--no-progress", *NO_SANDBOX]
    proc = subprocess.Popen(command, cwd=KIT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _stored(out) < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20  # the grading process in flight notices its parent is gone and stops
    while (orphans := subprocess.run(["pgrep", "-f", str(small_class)], capture_output=True, text=True).stdout.split()) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not orphans, "a grading process outlived the killed command"
    grade_class(small_class, out)
    assert grades(out) == grades(graded[0])


@pytest.mark.timeout(600)
def test_dask_gives_the_grades_of_the_local_pool(small_class, graded, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(small_class), "--out",
                               str(tmp_path / "dask"), "--task", TASKS, "--no-progress", "--dask",
                               cluster.scheduler_address, *NO_SANDBOX],
                              capture_output=True, text=True, timeout=600, cwd=KIT_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Dask cluster" in done.stderr
    assert grades(tmp_path / "dask") == grades(graded[0])


def test_a_dask_worker_with_another_kit_grades_nothing():
    from autograder.batch.runner import grade_files, grading_digest

    options = ["--task", TASKS]
    files = {"project1/models.py": b"raise SystemExit('must not run')\n"}
    done = grade_files(files, options, timeout=60, kit="0" * 64)
    assert done["report"] is None and "another version of the kit" in done["problem"], done
    assert grading_digest(options) != grading_digest(options + ["--no-bench"])  # the options are part of it


def test_bad_input_is_a_message(tmp_path):
    for args, words in ((["grade", str(tmp_path / "missing")], "does not exist"),
                        (["grade", str(tmp_path), "--jobs", "0"], "--jobs must be at least 1"),
                        (["grade", str(tmp_path), "--out", str(tmp_path / "in")], "inside the class folder"),
                        (["grade", str(tmp_path)], "holds no submission")):
        done = subprocess.run([sys.executable, "-m", "autograder.cli", *args, *NO_SANDBOX], capture_output=True,
                              text=True, timeout=120, cwd=KIT_ROOT)
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)


# ------------------------------------------------------------------------------------------------ in a browser


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(chromium() is None, reason="no Chromium installed (Debian: apt-get install chromium)")
def test_the_class_report_opens_in_a_browser(graded, tmp_path):
    out = graded[0]
    page = out / "report.html"
    probe = tmp_path / "probe.html"
    # the report inside an iframe, and a script that counts its images that loaded, once everything has
    probe.write_text(f"""<!DOCTYPE html><html><body><iframe id=f src="{page.as_uri()}"></iframe><script>
window.onload = () => {{ const d = document.getElementById('f').contentDocument;
  const imgs = [...d.images]; document.body.dataset.images = imgs.length;
  document.body.dataset.loaded = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.links = [...d.links].map(a => a.getAttribute('href')).join('|'); }};</script></body></html>""")
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--no-first-run", "--allow-file-access-from-files", f"--user-data-dir={tmp_path / 'profile'}",
                           "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120)
    dom = done.stdout
    assert 'data-images="3"' in dom and 'data-loaded="3"' in dom, dom[-2000:]
    links = dom.split('data-links="', 1)[1].split('"', 1)[0].split("|")
    assert links and all((out / link).is_file() for link in links), links
    shot = tmp_path / "report.png"
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={shot}", "--window-size=1200,1600",
                    page.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_the_demo_class_is_a_fresh_build():
    done = subprocess.run([sys.executable, str(KIT_ROOT / "examples" / "build_class.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr + "\nrun: python examples/build_class.py"


def test_the_plain_demo_framework_earns_every_core_point_of_project_2(tmp_path):
    """ben/ is the solution's framework with the bonus classes cut out and momentum off: cutting them must leave
    everything the core tasks need (a helper between two classes once went with them)."""
    report = tmp_path / "ben.json"
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "check", str(DEMO / "ben"), "--all", "--task", "p2",
                           "--no-bench", "--report", str(report), *NO_SANDBOX],
                          capture_output=True, text=True, timeout=600, cwd=KIT_ROOT)
    tasks = json.loads(report.read_text())["tasks"]
    core = {t["task"]: t["status"] for t in tasks if not t["bonus"] and t["max_points"]}
    assert core and set(core.values()) == {"passed"}, done.stdout
    bonus = {t["task"]: t["status"] for t in tasks if t["bonus"]}
    assert bonus["p2.bonus.momentum"] == "failed" and bonus["p2.bonus.adam"] == Status.NOT_ATTEMPTED.code, bonus


# ------------------------------------------------------------------------------------------------ options and Ctrl-C


def test_student_and_regrade_choose_what_is_graded_and_the_outputs_list_everyone(small_class, graded, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(graded[0], out)
    before = grades(out)
    unchanged = grade_class(small_class, out, "--student", "ines")
    assert "0 to grade" in unchanged.stderr, unchanged.stderr  # unchanged: --student alone grades nothing
    again = grade_class(small_class, out, "--student", "ines", "--regrade")
    assert "1 to grade" in again.stderr and "ines:" in again.stderr and "ada:" not in again.stderr, again.stderr
    assert grades(out) == before  # everyone still listed, ines with the same grade
    unknown = grade_class(small_class, out, "--student", "nobody", check=False)
    assert unknown.returncode == 2 and "no entry for nobody" in unknown.stderr and "Traceback" not in unknown.stderr


def test_reveal_hidden_shows_the_hidden_tests_details(small_class, tmp_path):
    wrong = tmp_path / "class"
    shutil.copytree(small_class / "ada", wrong / "ada")
    train = wrong / "ada" / "project1" / "train.py"
    train.write_text(train.read_text().replace("loss = loss + aux_weight * (", "loss = loss + 0.5 * aux_weight * ("))
    out = tmp_path / "o"
    for extra, shown in (((), False), (("--reveal-hidden",), True)):  # the second run grades nothing: same store
        done = grade_class(wrong, out, "--task", "p1.hidden.pair_loss", *extra)
        text = (out / "feedback" / "ada.md").read_text()
        assert "p1.hidden.pair_loss" in text and ("aux_weight=0.3" in text) == shown, (extra, text)
    assert "0 to grade" in done.stderr


def test_ctrl_c_stops_the_grading_leaves_a_consistent_store_and_a_rerun_resumes(small_class, graded, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder.cli", "grade", str(small_class), "--out", str(out), "--task", TASKS,
               "--jobs", "1", "--no-progress", *NO_SANDBOX]
    # SIGINT as a terminal gives it: a suite started in the background (`bash .ci/run &`) inherits SIGINT ignored,
    # and Python leaves an ignored SIGINT ignored (no KeyboardInterrupt) in the command it starts
    proc = subprocess.Popen(command, cwd=KIT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while _stored(out) < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: SIGINT to the terminal's foreground process group
    said, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and said.startswith("interrupted") and "Traceback" not in err, said + err
    orphans = subprocess.run(["pgrep", "-f", str(small_class)], capture_output=True, text=True, check=False)
    assert not orphans.stdout.split(), "a grading process outlived Ctrl-C"
    with sqlite3.connect(out / "grades.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = _stored(out)
    assert 1 <= stored < 3 and len(grades(out)) >= stored  # what was graded is kept and written out
    rerun = grade_class(small_class, out)
    assert f"{3 - stored} to grade" in rerun.stderr, rerun.stderr  # the rerun grades only what was left
    assert grades(out) == grades(graded[0])
