"""Class entries whose ids fold alike (issue 25, "Class folders"): ``Alice`` beside ``alice``, ``alice.zip`` beside
folder ``alice``, ``alice `` with a trailing space, full-width ``ａｌｉｃｅ``. Every one is kept under its own key
(the first ``alice``, the others ``alice~<hex>``), every row is flagged ``same_id`` and names its entry, nothing
is replaced from one run to the next, and no two output files differ only by case (a case-insensitive file
system would merge them)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import points_of, sandbox_args

from autograder import escape
from autograder.batch import intake, outputs, publish
from autograder.batch.store import Record, RowStatus
from autograder.lms import Context, folders
from autograder.record import Flag
from autograder.semester.roster import Roster, Student
from course.submission import KIT_ROOT

DEMO = KIT_ROOT / "examples" / "class"
MODELS = b"class BaselineNet: pass\n"
SAME = ("alice", "Alice", "alice ", "alice.zip", "\uff41\uff4c\uff49\uff43\uff45")  # the last: full-width


def _zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, path.relative_to(folder).as_posix())
    return archive


def _tiny_class(folder: Path) -> Path:
    for name in SAME:
        if name.endswith(".zip"):
            with zipfile.ZipFile(folder / name, "w") as z:
                z.writestr("project1/models.py", MODELS)
        else:
            (folder / name / "project1").mkdir(parents=True)
            (folder / name / "project1" / "models.py").write_bytes(MODELS)
    (folder / "bob" / "project1").mkdir(parents=True)
    (folder / "bob" / "project1" / "models.py").write_bytes(MODELS)
    return folder


def _unique_after_casefold(names) -> bool:
    names = list(names)
    return len({escape.id_fold(n) for n in names}) == len(names)


def test_entries_whose_ids_fold_alike_are_all_kept_under_distinct_stable_keys(tmp_path):
    cls = _tiny_class(tmp_path / "class")
    entries = intake.collect(cls, tmp_path / "staging")
    by_source = {e.source.name: e for e in entries}
    assert sorted(by_source) == sorted([*SAME, "bob"]), "every entry is kept"
    assert all(e.usable for e in entries), [(e.student, e.problem) for e in entries]
    assert by_source["alice"].student == "alice", "the entry named exactly as its id keeps it"
    assert by_source["bob"].student == "bob" and by_source["bob"].same_id == []
    keys = [e.student for e in entries]
    assert _unique_after_casefold(keys), keys
    for name in SAME:
        entry = by_source[name]
        if name != "alice":
            base = intake.student_id(name)
            assert entry.student == f"{base}{intake.SAME_ID}{escape.short_hash(name)}", (name, entry.student)
        assert sorted(entry.same_id) == sorted(by_source[n].student for n in SAME if n != name), entry
    # the same class gives the same keys, whatever the order the names are listed in
    again = intake.assign_ids(list(reversed(intake.listed(cls))))
    assert {name: key for name, (key, _) in again.items()} == {e.source.name: e.student for e in entries}
    # unpacked archives never share a staging folder with another entry on a case-insensitive file system
    assert _unique_after_casefold(p.name for p in (tmp_path / "staging").iterdir())


def test_the_lms_keys_are_the_intake_keys_and_a_duplicate_is_matched_to_nobody(tmp_path):
    cls = _tiny_class(tmp_path / "class")
    roster = Roster([Student("S001", name="Alice Liddell", sis_login_id="alice"), Student("S002", github="bob")])
    subs = {s.source: s for s in folders.read(cls, Context(tmp_path / "staging", roster))}
    entries = {e.source.name: e for e in intake.collect(cls, tmp_path / "staging")}
    assert {n: s.key for n, s in subs.items()} == {n: e.student for n, e in entries.items()}
    assert subs["alice"].student == "S001" and subs["bob"].student == "S002"
    assert all(subs[n].student == "" for n in SAME if n != "alice"), "a duplicate never takes alice's roster row"


def test_lms_keys_never_fold_alike(tmp_path):
    from autograder.lms import Submission

    ctx = Context(tmp_path)
    keys = [ctx.add(Submission("", lms_id=str(i), source=f"s{i}"), name).key
            for i, name in enumerate(["Alice", "alice", "ALICE"])]
    assert _unique_after_casefold(keys), keys


def test_file_stems_never_collide_after_casefold():
    keys = ["Alice", "alice", "ALICE", "alice~abc123", "a/b", ".hidden", "bob"]
    stems = escape.file_stems(keys)
    assert _unique_after_casefold(stems.values()), stems
    assert stems["alice"] == "alice" and stems["bob"] == "bob" and stems["alice~abc123"] == "alice~abc123"
    assert all("/" not in s and not s.startswith(".") for s in stems.values())


def test_each_row_is_flagged_and_names_its_entry(tmp_path):
    records = [Record("alice", "d", "g", RowStatus.UNUSABLE, problem="empty", source="alice",
                      same_id=("alice~0a1b2c",)),
               Record("alice~0a1b2c", "d", "g", RowStatus.UNUSABLE, problem="empty", source="alice ",
                      same_id=("alice",)),
               Record("bob", "d", "g", RowStatus.UNUSABLE, problem="empty", source="bob")]
    columns, rows = outputs.csv_rows(records)
    by_id = {row["student_id"]: row for row in rows}
    assert Flag.SAME_ID.value in by_id["alice"]["flags"].split(";")
    assert Flag.SAME_ID.value in by_id["alice~0a1b2c"]["flags"].split(";")
    assert Flag.SAME_ID.value not in by_id["bob"]["flags"]
    assert "'alice '" in by_id["alice~0a1b2c"]["problem"] and "alice" in by_id["alice~0a1b2c"]["problem"]
    text = outputs.feedback_text(records[1])
    assert "'alice '" in text and "1 other entry" in text


# ------------------------------------------------------------------------------------------------ end to end

TASK = "p1.shapes"


def _grade(folder: Path, out: Path, *extra) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(folder), "--out", str(out),
                           "--task", TASK, "--jobs", "2", "--no-progress", "--no-bench", *sandbox_args(), *extra],
                          capture_output=True, text=True, timeout=600, cwd=KIT_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _rows(out: Path, name: str = "grades.csv") -> dict[str, dict]:
    with open(out / name, newline="") as f:
        return {row["student_id"]: {k: v for k, v in row.items() if k not in ("seconds", "graded_at")}
                for row in csv.DictReader(f)}


def test_outputs_never_differ_only_by_case(tmp_path):
    """Keys that differ only by case (as another layout or an older store might give) still get output files a
    case-insensitive file system keeps apart."""
    records = [Record(key, "d", "g", RowStatus.UNUSABLE, problem="empty", source=key)
               for key in ("alice", "Alice", "ALICE")]
    publish.write_all(tmp_path, records)
    for folder in (tmp_path / "feedback", tmp_path / "gradescope"):
        names = [p.name for p in folder.iterdir()]
        assert _unique_after_casefold(names), names
    assert len(list((tmp_path / "feedback").glob("*.md"))) == len(records)
    assert len(list((tmp_path / "gradescope").iterdir())) == len(records)
    stems = escape.file_stems(r.student for r in records)
    report = (tmp_path / "report.html").read_text()
    assert all(f'href="feedback/{stems[r.student]}.html"' in report for r in records)


def test_a_class_with_ids_that_fold_alike_keeps_every_grade_across_runs(tmp_path):
    """The issue's class: alice graded alone, then ``alice `` (trailing space) and ``alice.zip`` added beside her
    folder, then the same class again."""
    cls, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(DEMO / "ada", cls / "alice")  # the reference: full points
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,sis_login_id\nS001,Alice Liddell,alice\n")
    _grade(cls, out, "--roster", str(roster))
    first = _rows(out)["S001"]
    assert float(first["score"]) == points_of(TASK) and first["flags"] == ""

    shutil.copytree(DEMO / "ines", cls / "alice ")  # the skeleton: no point
    _zip_folder(DEMO / "ada", cls / "alice.zip")
    second = _grade(cls, out, "--roster", str(roster))
    assert "1 unchanged" in second.stderr and "0 unusable" in second.stderr, second.stderr
    rows = _rows(out)
    keys = {name: f"{intake.student_id(name)}~{escape.short_hash(name)}" for name in ("alice ", "alice.zip")}
    assert set(rows) == {"S001", *keys.values()}, sorted(rows)
    alice = rows["S001"]
    assert {k: v for k, v in alice.items() if k not in ("flags", "problem")} == \
        {k: v for k, v in first.items() if k not in ("flags", "problem")}, "alice's grade is not replaced"
    assert alice["flags"] == Flag.SAME_ID.value and "'alice'" in alice["problem"]
    for name, key in keys.items():
        row = rows[key]
        assert Flag.SAME_ID.value in row["flags"].split(";") and repr(name) in row["problem"], row
        assert "not_on_roster" in row["flags"], "a duplicate is not merged into alice's roster row"
        assert row["status"] == "graded"
    assert float(rows[keys["alice "]]["score"]) == 0
    assert float(rows[keys["alice.zip"]]["score"]) == points_of(TASK)
    canvas = {row["Student"]: row for row in csv.DictReader((out / "canvas.csv").open(newline=""))}
    assert canvas["Alice Liddell [same_id]"]["SIS User ID"] == "S001"
    assert {f"{key} [same_id]" for key in keys.values()} <= set(canvas), sorted(canvas)
    assert "'alice '" in (out / "feedback" / f"{keys['alice ']}.md").read_text()
    for folder in (out / "feedback", out / "gradescope", out / ".staging"):
        names = [p.name for p in folder.iterdir()]
        assert _unique_after_casefold(names), names

    third = _grade(cls, out, "--roster", str(roster))
    assert "0 to grade" in third.stderr and _rows(out) == rows, "the same class gives the same rows and grades"
