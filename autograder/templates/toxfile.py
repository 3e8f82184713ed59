"""tox's inline plugin for the student bundle (tox loads the ``toxfile.py`` beside ``tox.ini``): the last line of
``tox`` is your score.

tox ends every run with its own summary ("grade: OK", "congratulations :)"), which only says that the
self-check ran, not how it went: at 0 points it would still cheer last. This plugin finds the score line that
``autograder check`` printed ("Total: 12 / 90 ...") and prints it again once tox has finished, after that
summary. tox's exit status is unchanged: 0 whenever your work could be graded (a low score is not a failure of
tox), non-zero when the self-check could not run (then there is no score to repeat) or when
``tox -- --require-full`` finds a task short of full marks.

Only the standard library and tox are used here: tox may run from another Python than the kit's.
"""

from __future__ import annotations

import atexit

from tox.plugin import impl

SCORE_PREFIX = "Total:"  # the first word of the last line of `autograder check` (autograder/report.py)


def score_line(outputs) -> str | None:
    """The last score line in the standard outputs ``outputs`` (strings, in order), or None when there is none."""
    lines = [line.strip() for out in outputs for line in (out or "").splitlines()]
    scores = [line for line in lines if line.startswith(SCORE_PREFIX)]
    return scores[-1] if scores else None


@impl
def tox_after_run_commands(tox_env, exit_code, outcomes) -> None:
    """After the grade environment's commands: print the score again when tox exits, below its summary."""
    score = score_line(outcome.out for outcome in outcomes)
    if score:
        atexit.register(print, score)
