"""The ``course run`` commands of both projects share their options and check every input before they start."""

from __future__ import annotations

import json

import pytest

from course import cli

SHARED = ("--rounds", "--epochs", "--lr", "--batch-size", "--seed", "--device", "--threads", "--impl", "--out",
          "--quick", "--no-progress")


def _help(project, capsys) -> str:
    with pytest.raises(SystemExit):
        cli.main(["run", project, "--help"])
    return capsys.readouterr().out


def test_both_projects_take_the_shared_options(capsys):
    for project in ("project1", "project2"):
        text = _help(project, capsys)
        assert all(option in text for option in SHARED), project


def test_project2_takes_no_progress_and_an_explicit_rounds_wins_over_quick(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", "project2", "--quick", "--rounds", "10", "--epochs", "1", "--no-progress",
                     "--out", str(out)]) == 0
    assert len(json.loads((out / "project2.json").read_text())["rows"]) == 10


@pytest.mark.parametrize("project", ["project1", "project2"])
def test_a_missing_implementation_is_reported_before_anything_starts(tmp_path, capsys, project):
    assert cli.main(["run", project, "--impl", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "missing" in err and "not found" in err
    assert "%|" not in err and "round" not in err, "a progress bar was drawn before the input was checked"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option", ["--rounds", "--epochs", "--batch-size", "--threads"])
def test_counts_below_one_are_refused(tmp_path, capsys, option):
    for project in ("project1", "project2"):
        assert cli.main(["run", project, option, "0", "--out", str(tmp_path)]) == 2
        assert f"{option} must be at least 1" in capsys.readouterr().err
