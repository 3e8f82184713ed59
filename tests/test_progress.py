"""One progress convention (course/progress.py): a tqdm bar on a terminal, plain lines elsewhere, never a log full of
carriage returns."""

from __future__ import annotations

import io

from course.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_the_output_is_not_a_terminal():
    out = io.StringIO()
    with Progress(3, desc="project1", unit="net", file=out) as progress:
        progress.update("round 1/3 baseline: test 80.0%")
        progress.update()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    assert lines[0].startswith("[1/3] project1: round 1/3 baseline: test 80.0%  (") and "s left)" in lines[0]
    assert lines[1].startswith("[2/3] project1  (")


def test_a_bar_on_a_terminal():
    out = Terminal()
    with Progress(2, unit="submission", file=out) as progress:
        progress.update("alice: 100/100")
        progress.update("bob: 88/100")
    text = out.getvalue()
    assert "\r" in text and "2/2" in text and "bob: 88/100" in text and "[1/2]" not in text


def test_plain_lines_asked_for_or_none_at_all():
    out = Terminal()
    Progress(1, file=out, bar=False).update("alice")
    assert out.getvalue().startswith("[1/1] alice  (") and "\r" not in out.getvalue()
    quiet = io.StringIO()
    Progress(5, file=quiet, lines=False).update("epoch 1")
    assert quiet.getvalue() == ""
