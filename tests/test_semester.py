"""A semester's rules (autograder/semester): course.toml, the late policy (one test per rule), the roster, the
overrides (one test per kind), the store's history, and the LMS exports' formats. No grading here: fast."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from autograder import rubric, semester
from autograder.batch.store import STORE_VERSION, Record, RowStatus, Store
from autograder.lms import Layout, Prepared, Submission
from autograder.record import GradeReport, Status, TaskResult
from autograder.semester import exports
from autograder.semester import late as rules
from autograder.semester import overrides as ov
from autograder.semester.config import LatePolicy
from autograder.semester.config import load as load_config
from autograder.semester.roster import load as load_roster
from course.errors import CourseError

DEADLINE = "2026-12-04T23:59:00+01:00"


def toml(tmp_path, text: str):
    path = tmp_path / "course.toml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------------ course.toml


def test_a_course_file_is_read_typed(tmp_path):
    config = load_config(toml(tmp_path, f"""[assignment]
name = "Mini-projects"
canvas_id = 4242
seed = 7
deadline = {DEADLINE}
[late]
grace_minutes = 10
penalty_percent = 5
per = "hour"
maximum_percent = 40
minimum_percent = 20
[extensions]
ada = 24
ben = "2026-12-06T12:00:00"
"""))
    deadline = datetime.fromisoformat(DEADLINE)
    assert config.assignment == "Mini-projects" and config.canvas_id == "4242" and config.seed == 7
    assert config.deadline == deadline and config.late.per == "hour" and config.late.maximum_percent == 40
    assert config.deadline_of("ada") == deadline + timedelta(hours=24)
    assert config.deadline_of("ben") == datetime.fromisoformat("2026-12-06T12:00:00+01:00")  # the deadline's zone
    assert config.deadline_of("carol") == deadline


@pytest.mark.parametrize("text, words", [
    ('[assignment]\nname = "x"\ndeadline = 2026-12-04T23:59:00\n', "assignment.deadline] 2026-12-04T23:59:00 has no time zone"),
    ('[assignment]\nname = "x"\ndeadline = "tomorrow"\n', "not an ISO 8601 time"),
    ('[assignment]\ndeadline = 2026-12-04T23:59:00Z\n', "assignment.name] is missing"),
    ('[assignment]\nname = "x"\ndeadlin = 2026-12-04T23:59:00Z\n', "assignment.deadlin] is not a key"),
    (f'[assignment]\nname = "x"\ndeadline = {DEADLINE}\n[late]\nper = "week"\n', "late.per] is 'week'"),
    (f'[assignment]\nname = "x"\ndeadline = {DEADLINE}\n[late]\npenalty_percent = "ten"\n', "write a number"),
    (f'[assignment]\nname = "x"\ndeadline = {DEADLINE}\n[late]\nmaximum_percent = 150\n', "between 0 and 100"),
    ('[assignment]\nname = "x"\n[late]\npenalty_percent = 10\n', "[late] needs a deadline"),
    ('[assignment]\nname = "x"\ntimezone = "Mars/Olympus"\n', "not a time zone"),
    ('[assignment\nname = "x"\n', "not valid TOML"),
])
def test_a_wrong_course_file_names_the_key(tmp_path, text, words):
    with pytest.raises(CourseError) as error:
        load_config(toml(tmp_path, text))
    assert words in str(error.value) and "\n" not in str(error.value)


def test_course_toml_in_the_current_folder_is_the_default(tmp_path, monkeypatch):
    toml(tmp_path, '[assignment]\nname = "Here"\n')
    monkeypatch.chdir(tmp_path)
    assert semester.load().config.assignment == "Here"


# ------------------------------------------------------------------------------------------------ late policy: one test per rule

POLICY = LatePolicy(grace_minutes=15, penalty_percent=10, per="day", maximum_percent=50, minimum_percent=0)


def test_rule_1_on_time_or_within_the_grace_period_costs_nothing():
    assert not rules.assess(-30, POLICY).late
    assert not rules.assess(15, POLICY).late
    assert rules.assess(15.5, POLICY).late
    assert not rules.assess(None, POLICY).late


def test_rule_1_a_late_flag_without_a_time_counts_one_period():
    lateness = rules.assess(None, POLICY, flagged=True)
    assert lateness.late and lateness.periods == 1 and lateness.percent == POLICY.penalty_percent


def test_rule_2_after_the_cutoff_nothing_is_accepted():
    policy = LatePolicy(penalty_percent=10, cutoff_hours=72)
    assert rules.assess(72 * 60, policy).accepted
    lateness = rules.assess(72 * 60 + 1, policy)
    assert not lateness.accepted and rules.penalty(80, 100, lateness, policy) == 80


def test_rule_3_lateness_counts_in_started_periods_from_the_deadline():
    assert rules.assess(16, POLICY).periods == 1                # one minute past the grace: one day
    assert rules.assess(1440, POLICY).periods == 1
    assert rules.assess(1441, POLICY).periods == 2
    hourly = LatePolicy(penalty_percent=2, per="hour")
    assert rules.assess(61, hourly).periods == 2 and rules.assess(61, hourly).percent == 4


def test_rule_4_a_late_day_budget_is_spent_before_any_penalty():
    policy = LatePolicy(late_days=2, penalty_percent=10)
    assert rules.assess(2 * 1440, policy).percent == 0 and rules.assess(2 * 1440, policy).budget_days == 2
    assert rules.assess(3 * 1440, policy).percent == 10
    assert rules.assess(2 * 1440, policy, days_used=1).percent == 10  # one day spent on an earlier assignment
    strict = LatePolicy(late_days=1)
    assert not rules.assess(2 * 1440, strict).accepted               # beyond the budget, no penalty set: refused


def test_rule_5_the_penalty_is_a_percent_of_the_maximum_capped_and_floored():
    assert rules.penalty(90, 100, rules.assess(3 * 1440, POLICY), POLICY) == 30
    assert rules.penalty(90, 100, rules.assess(9 * 1440, POLICY), POLICY) == 50      # at most maximum_percent
    assert rules.penalty(20, 100, rules.assess(3 * 1440, POLICY), POLICY) == 20      # never below 0
    floored = LatePolicy(penalty_percent=10, minimum_percent=60)
    assert rules.penalty(90, 100, rules.assess(5 * 1440, floored), floored) == 30    # not below 60
    assert rules.penalty(40, 100, rules.assess(5 * 1440, floored), floored) == 0     # already below: stays


# ------------------------------------------------------------------------------------------------ roster


def test_a_roster_maps_lms_ids_logins_github_and_names(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("student_id,name,email,lms_id,github\nada,Ada Lovelace,ada@x.edu,340001,ada-l\n"
                    "ines,Inès Müller,ines@x.edu,,ines-m\n")
    roster = load_roster(path)
    assert roster.match(lms_id="340001") == "ada" and roster.match(login="ADA-L") == "ada"
    assert roster.match(name="lovelaceada") == "ada" and roster.match(name="Ines Muller") == "ines"
    assert roster.match(name="mullerines") == "ines" and roster.match(lms_id="999", name="Zoë Stranger") is None


@pytest.mark.parametrize("text, words", [("name\nAda\n", "no student_id column"),
                                         ("student_id\nada\nada\n", "appears twice"),
                                         ("student_id,name\n,Ada\n", "empty student_id")])
def test_a_wrong_roster_is_a_message(tmp_path, text, words):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(CourseError, match=words):
        load_roster(path)


# ------------------------------------------------------------------------------------------------ overrides: one test per kind


def _report(points: dict[str, float]) -> GradeReport:
    tasks = [TaskResult(task=t, points=p, max_points=rubric.BY_ID[t].points, bonus=rubric.BY_ID[t].bonus,
                        visibility="public", status=Status.PASSED, description="d", cases=1, passed=1)
             for t, p in points.items()]
    core = sum(t.points for t in tasks if not t.bonus)
    bonus = sum(t.points for t in tasks if t.bonus)
    return GradeReport(score=core, max_score=rubric.core_total(), bonus=bonus, max_bonus=rubric.bonus_total(),
                       tasks=tasks)


def _overrides(tmp_path, rows: str) -> list[ov.Override]:
    path = tmp_path / "overrides.csv"
    path.write_text("student,task,points,reason,who,when\n" + rows)
    return ov.load(path)


def test_an_override_sets_a_tasks_points_within_its_maximum(tmp_path):
    task = rubric.BY_ID["p1.shapes"]
    report = ov.apply_tasks(_report({"p1.shapes": 0.0}), _overrides(tmp_path, f"a,p1.shapes,{task.points + 5},r,w,t\n"))
    assert report.task("p1.shapes").points == task.points and report.score == task.points
    assert "changed by hand" in report.task("p1.shapes").feedback


def test_an_override_adjusts_a_task_up_or_down(tmp_path):
    task = rubric.BY_ID["p1.shapes"]
    up = ov.apply_tasks(_report({"p1.shapes": 0.0}), _overrides(tmp_path, "a,p1.shapes,+1,r,w,t\n"))
    down = ov.apply_tasks(_report({"p1.shapes": task.points}), _overrides(tmp_path, "a,p1.shapes,-1,r,w,t\n"))
    assert up.score == 1 and down.score == task.points - 1
    floor = ov.apply_tasks(_report({"p1.shapes": 0.0}), _overrides(tmp_path, "a,p1.shapes,-3,r,w,t\n"))
    assert floor.score == 0


def test_a_total_override_sets_or_adjusts_the_final_total(tmp_path):
    assert ov.apply_total(40, _overrides(tmp_path, "a,total,55,r,w,t\n")) == 55
    assert ov.apply_total(40, _overrides(tmp_path, "a,total,+2,r,w,t\na,total,-5,r,w,t\n")) == 37


@pytest.mark.parametrize("row, words", [("a,p9.nothing,1,r,w,t\n", "not a task id"),
                                        ("a,total,lots,r,w,t\n", "not a number")])
def test_a_wrong_override_is_a_message(tmp_path, row, words):
    with pytest.raises(CourseError, match=words):
        _overrides(tmp_path, row)


# ------------------------------------------------------------------------------------------------ apply, store history, exports


def _class(tmp_path, overrides=""):
    (tmp_path / "roster.csv").write_text("student_id,name,email,lms_id,sis_login_id,section\n"
                                         "ada,Ada Lovelace,ada@x.edu,340001,ada01,A\n"
                                         "gita,Gita Rao,gita@x.edu,340005,gita01,B\n")
    toml(tmp_path, f'[assignment]\nname = "Mini-projects"\ncanvas_id = "4242"\ndeadline = {DEADLINE}\n'
                   '[late]\npenalty_percent = 10\n')
    (tmp_path / "overrides.csv").write_text("student,task,points,reason,who,when\n" + overrides)
    term = semester.load(str(tmp_path / "course.toml"), str(tmp_path / "roster.csv"), str(tmp_path / "overrides.csv"))
    late = datetime.fromisoformat(DEADLINE) + timedelta(hours=30)
    subs = {"340001": Submission("340001", student="ada", lms_id="340001", name="Ada Lovelace", submitted_at=late,
                                 folder_name="Ada Lovelace_340001_assignsubmission_file_"),
            "zoe": Submission("zoe", lms_id="777", name="Zoë Stranger")}
    records = [Record("340001", "d", "g", RowStatus.GRADED, report=_report({"p1.shapes": 2.0})),
               Record("zoe", "d", "g", RowStatus.GRADED, report=_report({"p1.shapes": 0.0}))]
    return term, Prepared(Layout.MOODLE, tmp_path, subs), records


def test_every_roster_student_gets_a_row_and_strangers_are_flagged(tmp_path):
    term, prepared, records = _class(tmp_path)
    finals = {f.student_id: f for f in semester.apply(records, prepared, term)}
    assert set(finals) == {"ada", "gita", "zoe"}
    assert finals["gita"].status == semester.MISSING and finals["gita"].total == 0
    assert finals["zoe"].unmatched and not finals["ada"].unmatched
    ada = finals["ada"]
    expected = rules.penalty(2.0, rubric.core_total(), rules.assess(30 * 60, term.policy), term.policy)
    assert ada.raw_score == 2.0 and ada.penalty == expected and ada.score == 2.0 - expected


def test_overrides_survive_in_the_feedback_csv_and_the_store_history(tmp_path):
    term, prepared, records = _class(tmp_path, "ada,p1.shapes,+1,regraded,TA,2026-12-07\nada,total,+2,bonus,Prof,x\n")
    store = Store(tmp_path / "grades.sqlite")
    finals = {f.student_id: f for f in semester.apply(records, prepared, term, store)}
    ada = finals["ada"]
    assert ada.raw_score == 3.0 and ada.total == round(3.0 - ada.penalty + 2, 2)
    assert "Changed by hand: p1.shapes: +1 — regraded (TA, 2026-12-07)" in ada.record.adjustments
    semester.apply(records, prepared, term, store)  # a second run keeps one history row per change
    kinds = [kind for _, kind, _, _ in store.history("ada")]
    assert kinds.count("override") == 2 and kinds.count("late") == 1
    columns, rows = exports.grades_rows(list(finals.values()))
    row = next(r for r in rows if r["student_id"] == "ada")
    assert {"raw_score", "late_submission_penalty", "score", "submitted_at", "late_minutes"} <= set(columns)
    assert row["late_minutes"] == 30 * 60 and "p1.shapes: +1" in row["overrides"] and row["p1.shapes"] == 3.0


def test_an_override_for_nobody_is_a_warning(tmp_path, capsys):
    term, prepared, records = _class(tmp_path, "bob,total,+2,r,w,t\n")
    semester.apply(records, prepared, term)
    assert "overrides line 2: no student 'bob'" in capsys.readouterr().err


def test_canvas_and_moodle_files_have_their_formats(tmp_path):
    term, prepared, records = _class(tmp_path)
    finals = semester.apply(records, prepared, term)
    (tmp_path / "out" / "feedback").mkdir(parents=True)
    (tmp_path / "out" / "feedback" / "340001.html").write_text("<p>feedback</p>")
    exports.write_all(tmp_path / "out", finals, term)
    canvas = list(csv.reader((tmp_path / "out" / "canvas.csv").read_text().splitlines()))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Mini-projects (4242)"]
    assert canvas[1][:5] == ["Ada Lovelace", "340001", "ada", "ada01", "A"]
    moodle = list(csv.DictReader((tmp_path / "out" / "moodle.csv").read_text().splitlines()))
    assert {"Identifier", "Email address", "ID number", "Grade", "Feedback comments"} <= set(moodle[0])
    ada = next(r for r in moodle if r["ID number"] == "ada")
    assert ada["Identifier"] == "Participant 340001" and ada["Grade"] and "late" in ada["Feedback comments"]
    with zipfile.ZipFile(io.BytesIO((tmp_path / "out" / "feedback-moodle.zip").read_bytes())) as z:
        assert z.namelist() == ["Ada Lovelace_340001_assignsubmission_file_/feedback.html"]


def test_a_store_of_version_2_gains_the_history_table(tmp_path):
    path = tmp_path / "grades.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE history")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'store_version'")
    db.commit()
    db.close()
    store = Store(path)
    assert store.log("ada", "override", {"task": "total"}) and not store.log("ada", "override", {"task": "total"})
    store.close()
    version = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()[0]
    assert int(version) == STORE_VERSION == 3


def test_times_come_from_the_times_csv(tmp_path):
    (tmp_path / "times.csv").write_text("lms_id,submitted_at\n340001,2026-12-05T10:00:00\n")
    toml(tmp_path, f'[assignment]\nname = "x"\ndeadline = {DEADLINE}\ntimes = "times.csv"\n')
    term = semester.load(str(tmp_path / "course.toml"))
    assert term.times["340001"] == datetime(2026, 12, 5, 10, 0, tzinfo=timezone(timedelta(hours=1)))
