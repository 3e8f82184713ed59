"""tox's inline plugin for the student bundle (tox loads the ``toxfile.py`` beside ``tox.ini``): the last line of
``tox`` is your score.

tox ends every run with its own summary ("grade: OK", "congratulations :)"), which only says that the
self-check ran, not how it went: at 0 points it would still cheer last. This plugin reads the report that
``autograder check --report`` wrote (tox.ini asks for it in tox's temporary folder) and prints the score again
once tox has finished, after that
summary. tox's exit status is unchanged: 0 whenever your work could be graded (a low score is not a failure of
tox), non-zero when the self-check could not run (then there is no score to repeat) or when
``tox -- --require-full`` finds a task short of full marks.

Only the standard library and tox are used here: tox may run from another Python than the kit's.
"""

from __future__ import annotations

import atexit
import json
from pathlib import Path

from tox.plugin import impl

REPORT = "grade-report.json"  # `autograder check ... --report {env_tmp_dir}/grade-report.json` (tox.ini)


def score_line(report: Path) -> str | None:
    """The score line of the grade report at ``report`` (the JSON `autograder check --report` writes), or None when
    there is no readable report (the self-check could not run)."""
    try:
        data = json.loads(Path(report).read_text(encoding="utf-8"))
        score, max_score = float(data["score"]), float(data["max_score"])
        bonus, max_bonus = float(data.get("bonus", 0.0)), float(data.get("max_bonus", 0.0))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return f"Total: {score:g} / {max_score:g}" + (f"   bonus: {bonus:g} / {max_bonus:g}" if max_bonus else "")


@impl
def tox_before_run_commands(tox_env) -> None:
    """A report of an earlier run must not be repeated as this run's score."""
    (Path(tox_env.env_tmp_dir) / REPORT).unlink(missing_ok=True)


@impl
def tox_after_run_commands(tox_env, exit_code, outcomes) -> None:
    """After the grade environment's commands: print the score again when tox exits, below its summary."""
    score = score_line(Path(tox_env.env_tmp_dir) / REPORT)
    if score:
        atexit.register(print, score)
