"""What LMSs hand over, as it comes (autograder/lms): each layout recognised, the ids taken from the LMS, the right
files gathered; then the demo downloads (examples/lms, and the GitHub Classroom clone built by
examples/build_class.py) graded by a relative path give the points of the plain demo class, on a few cheap tasks.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from autograder import lms, semester
from autograder.batch import intake
from autograder.batch.runner import grade_folder
from autograder.lms import Layout
from autograder.sandbox.isolation import probe as bwrap_probe
from autograder.semester import late as rules
from course.submission import KIT_ROOT

DEMO = KIT_ROOT / "examples" / "class"
LMS = KIT_ROOT / "examples" / "lms"
TASKS = "p1.shapes,p2.linear.forward"
NO_SANDBOX = [] if bwrap_probe()[0] else ["--no-sandbox"]
STUDENTS = ("ada", "emma", "farid", "ines")
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in intake.graded_files(root)}


def _staged(path, tmp_path, **kwargs):
    term = semester.load(str(LMS / "course.toml"), str(LMS / "roster.csv"))
    prepared = lms.prepare(path, kwargs.pop("lms", "auto"), tmp_path / "staging", roster=term.roster,
                           limit=term.limit, tz=term.tz)
    entries = {e.student: e for e in intake.collect(prepared.folder, tmp_path / "intake")}
    prepared.explain(entries.values())
    return prepared, entries


@pytest.fixture(scope="module")
def github(tmp_path_factory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    target = tmp_path_factory.mktemp("gh")
    subprocess.run([sys.executable, str(KIT_ROOT / "examples" / "build_class.py"), "--github-classroom", str(target)],
                   check=True, capture_output=True, timeout=300)
    return target / "mini-projects-submissions"


# ------------------------------------------------------------------------------------------------ layouts


def test_plain_folders_stay_where_they_are(tmp_path):
    prepared = lms.prepare(DEMO, "auto", tmp_path / "staging")
    assert prepared.layout is Layout.FOLDERS and prepared.folder == DEMO.resolve()
    assert set(prepared.submissions) == {e.student for e in intake.collect(DEMO, tmp_path / "intake")}


def test_a_canvas_download_is_gathered_per_student(tmp_path):
    prepared, entries = _staged(LMS / "canvas" / "submissions.zip", tmp_path)  # the class archive itself
    assert prepared.layout is Layout.CANVAS and set(entries) == set(STUDENTS)
    subs = prepared.submissions
    assert [subs[s].lms_id for s in STUDENTS] == ["340001", "340002", "340003", "340004"]
    assert subs["ada"].name == "lovelaceada" and subs["emma"].late and not subs["ada"].late
    from autograder.lms import canvas

    assert canvas.NAME.match("lovelaceada_340001_text.html")["file"] == "text.html"  # a text entry
    for student in STUDENTS:  # flat files placed, the re-uploaded models-1.py kept, a repository zip two levels deep
        assert _files(entries[student].root) == _files(DEMO / student), student
    assert any("models.py" in a for a in subs["ada"].attempts[1:])  # the first upload, listed not graded


def test_a_moodle_download_keeps_participant_ids_and_flags_strangers(tmp_path):
    folder = tmp_path / "download"
    with zipfile.ZipFile(LMS / "moodle" / "submissions.zip") as z:
        z.extractall(folder)
    prepared, entries = _staged(folder, tmp_path)
    assert prepared.layout is Layout.MOODLE and set(entries) == {*STUDENTS, "599"}
    subs = prepared.submissions
    assert subs["ines"].name == "Inès Müller" and subs["ines"].lms_id == "504"  # matched by name (non-ASCII)
    assert subs["599"].student == "" and subs["599"].name == "Zoë Stranger"
    assert subs["ada"].folder_name == "Ada Lovelace_501_assignsubmission_file_"
    for student in STUDENTS:  # a zip in the folder, or the files themselves (farid)
        assert _files(entries[student].root) == _files(DEMO / student), student


def test_blackboard_attempts_keep_the_latest(tmp_path):
    cls = tmp_path / "bb"
    cls.mkdir()
    first, last = "2026-12-03-10-00-00", "2026-12-05-09-30-00"
    (cls / f"Mini Projects_alovelace_attempt_{first}_models.py").write_bytes(b"old = 1\n")
    for path in sorted((DEMO / "ada").rglob("*.py")):
        (cls / f"Mini Projects_alovelace_attempt_{last}_{path.name}").write_bytes(path.read_bytes())
    (cls / f"Mini Projects_alovelace_attempt_{last}.txt").write_text("Name: Ada Lovelace (alovelace)\n")
    prepared, entries = _staged(cls, tmp_path)
    sub = prepared.submissions["ada"]
    assert prepared.layout is Layout.BLACKBOARD and sub.lms_id == "alovelace" and sub.name == "Ada Lovelace"
    assert sub.attempts == [last, first]
    assert sub.submitted_at == datetime.fromisoformat("2026-12-05T09:30:00+01:00")  # the course's zone
    assert _files(entries["ada"].root) == {k: v for k, v in _files(DEMO / "ada").items() if k.endswith(".py")}


@needs_git
def test_github_classroom_grades_the_last_commit_within_the_limit(github, tmp_path):
    prepared, entries = _staged(github, tmp_path)
    subs = prepared.submissions
    assert prepared.layout is Layout.GITHUB_CLASSROOM and set(entries) == set(STUDENTS)
    assert [subs[s].lms_id for s in STUDENTS] == ["ada-l", "emmy-n", "farid-h", "ines-m"]
    # ada's last commit comes after the late window (cutoff_hours): listed, not graded
    assert len(subs["ada"].later_commits) == 1 and subs["ada"].submitted_at.day == 4
    for student in STUDENTS:  # farid's repository nests the projects under assignments/
        assert _files(entries[student].root) == _files(DEMO / student), student
    term = semester.load(str(LMS / "course.toml"))
    deadline = term.config.deadline
    assert term.config.deadline_of("ines") == deadline + timedelta(hours=48)  # ines's extension: on time
    assert subs["emma"].submitted_at - deadline == timedelta(hours=23, minutes=1)


@needs_git
def test_the_graded_commit_is_read_from_git_not_from_the_working_tree(github, tmp_path):
    """Nothing is checked out (no hook, no filter runs): a file changed but not committed is not graded, and the
    repository is left as it was."""
    repo = github / "mini-projects-ada-l"
    models = repo / "project1" / "models.py"
    models.write_text("# not committed\n")
    marker = tmp_path / "ran"
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    try:
        _, entries = _staged(github, tmp_path)
        assert _files(entries["ada"].root) == _files(DEMO / "ada")
        assert models.read_text() == "# not committed\n" and not marker.exists()
    finally:
        hook.unlink()
        subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--", "project1/models.py"], check=True)


def test_repositories_are_named_by_the_rosters_github_usernames():
    from autograder.lms.github_classroom import usernames

    repos = [Path("hw1-john-a"), Path("hw1-john-b"), Path("hw1-mary")]
    assert list(usernames(repos, []).values()) == ["john-a", "john-b", "mary"]
    two = [Path("hw1-john-a"), Path("hw1-john-b")]  # the shared prefix eats part of the usernames...
    assert list(usernames(two, []).values()) == ["a", "b"]
    assert list(usernames(two, ["John-A", "john-b", "b"]).values()) == ["John-A", "john-b"]  # ...not the roster


def test_an_unknown_lms_name_and_a_missing_path_are_messages(tmp_path):
    from course.errors import CourseError

    with pytest.raises(CourseError, match="is not one of"):
        lms.prepare(DEMO, "blackbored", tmp_path / "s")
    with pytest.raises(CourseError, match="does not exist"):
        lms.prepare(tmp_path / "nothing", "auto", tmp_path / "s")


# ------------------------------------------------------------------------------------------------ grading


def test_a_relative_submission_path_is_graded_like_an_absolute_one(tmp_path, monkeypatch):
    """The grading process runs in the kit's folder: a relative path once resolved to nothing (every task 0)."""
    nested = tmp_path / "alice" / "assignments"
    shutil.copytree(DEMO / "ada" / "project1", nested / "project1")
    monkeypatch.chdir(tmp_path)
    options = ["--task", "p1.shapes", "--sandbox", "off" if NO_SANDBOX else "require"]
    relative = grade_folder(Path("alice/assignments"), options, timeout=300)
    assert relative.report is not None and not relative.report.grader_failed, relative.problem
    assert relative.report.score == relative.report.max_score > 0


def test_a_folder_the_grader_cannot_read_is_a_grader_error_not_a_zero(tmp_path):
    options = ["--task", "p1.shapes", "--sandbox", "off" if NO_SANDBOX else "require"]
    outcome = grade_folder(tmp_path / "gone", options, timeout=300)
    assert outcome.report is None or outcome.report.grader_failed


def grade(path: str, out: Path, cwd: Path, *extra) -> dict[str, dict]:
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", path, "--out", str(out), "--task", TASKS,
                           "--jobs", "2", "--no-progress", *NO_SANDBOX, *extra],
                          capture_output=True, text=True, timeout=900, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("plain")
    for student in STUDENTS:
        shutil.copytree(DEMO / student, folder / "class" / student)
    return grade("class", folder / "out", folder)


def _expected_penalty(raw: float, minutes: float | None, flagged: bool) -> float:
    policy = semester.load(str(LMS / "course.toml")).policy
    lateness = rules.assess(minutes, policy, flagged=flagged)
    return rules.penalty(raw, float(plain_max()), lateness, policy) if lateness.late else 0.0


def plain_max() -> float:
    from autograder import rubric

    return rubric.core_total()


@pytest.mark.timeout(1200)
def test_the_canvas_demo_by_a_relative_path_gives_the_plain_points(plain, tmp_path):
    shutil.copytree(LMS, tmp_path / "lms")
    rows = grade("canvas/submissions.zip", tmp_path / "out", tmp_path / "lms", "--roster", "roster.csv")
    for student in STUDENTS:
        assert rows[student]["raw_score"] == plain[student]["raw_score"], student
    assert rows["gita"]["status"] == semester.MISSING
    emma = rows["emma"]
    raw = float(emma["raw_score"])
    assert float(emma["late_submission_penalty"]) == _expected_penalty(raw, None, True)
    assert float(emma["score"]) == round(raw - _expected_penalty(raw, None, True), 2)
    header = (tmp_path / "out" / "canvas.csv").read_text().splitlines()[0]
    assert header == "Student,ID,SIS User ID,SIS Login ID,Section,Mini-projects (4242)"


@needs_git
@pytest.mark.timeout(1200)
def test_the_github_classroom_demo_gives_the_plain_points_and_late_penalties(plain, github, tmp_path):
    shutil.copytree(LMS, tmp_path / "lms")
    shutil.copytree(github.parent, tmp_path / "lms" / "clone", symlinks=True)
    rows = grade("clone", tmp_path / "out", tmp_path / "lms", "--roster", "roster.csv", "--overrides",
                 "overrides.csv")
    for student in STUDENTS:
        assert rows[student]["raw_score"] == plain[student]["raw_score"] or student == "farid", student
        assert rows[student]["lms_id"], student
    emma = rows["emma"]
    raw = float(emma["raw_score"])
    assert int(emma["late_minutes"]) == 23 * 60 + 1
    assert float(emma["late_submission_penalty"]) == _expected_penalty(raw, 23 * 60 + 1, False)
    assert rows["ines"]["late_minutes"] == "0" and rows["ines"]["total"] == "5.0"  # extension; total override
    farid = float(rows["farid"]["raw_score"])
    assert farid == float(plain["farid"]["raw_score"]) + 1  # p1.shapes +1 by hand
    assert "changed by hand" in (tmp_path / "out" / "feedback" / "farid.md").read_text()


@pytest.mark.timeout(1200)
def test_the_moodle_demo_gives_the_plain_points_and_a_feedback_zip(plain, tmp_path):
    shutil.copytree(LMS, tmp_path / "lms")
    rows = grade("moodle/submissions.zip", tmp_path / "out", tmp_path / "lms", "--roster", "roster.csv")
    for student in STUDENTS:
        assert rows[student]["raw_score"] == plain[student]["raw_score"], student
    assert rows["599"]["roster"] == "not on the roster" and "not_on_roster" in rows["599"]["flags"]
    with zipfile.ZipFile(tmp_path / "out" / "feedback-moodle.zip") as z:
        assert "Inès Müller_504_assignsubmission_file_/feedback.html" in z.namelist()


def _zip(path: Path, root: Path, prefix: str = "", only: str = "") -> tuple[Path, str]:
    with zipfile.ZipFile(path, "w") as z:
        for rel, data in _files(root).items():
            if rel.startswith(only):
                z.writestr(prefix + (rel.split("/", 1)[1] if prefix == "flat/" else rel), data)
    return path, path.name


def test_projects_zipped_apart_or_files_zipped_flat_make_one_submission(tmp_path):
    from autograder.lms.staging import gather

    apart = [_zip(tmp_path / "p1.zip", DEMO / "ada", "p1/", "project1"), _zip(tmp_path / "p2.zip", DEMO / "ada",
                                                                             "", "project2")]
    assert gather(apart, tmp_path / "a", tmp_path / "raw") == ""
    assert _files(tmp_path / "a") == _files(DEMO / "ada")
    flat = [_zip(tmp_path / "files.zip", DEMO / "ada", "flat/")]
    assert gather(flat, tmp_path / "b", tmp_path / "raw") == ""
    assert _files(tmp_path / "b") == _files(DEMO / "ada")


def test_two_copies_of_a_project_are_a_problem_not_a_guess(tmp_path):
    from autograder.lms.staging import gather

    twice = [_zip(tmp_path / "one.zip", DEMO / "ada", "", "project1"), _zip(tmp_path / "two.zip", DEMO / "emma",
                                                                            "", "project1")]
    problem = gather(twice, tmp_path / "a", tmp_path / "raw")
    assert "several folders hold project1/" in problem
    entry = intake.collect(tmp_path, tmp_path / "intake")
    assert not next(e for e in entry if e.student == "a").usable
