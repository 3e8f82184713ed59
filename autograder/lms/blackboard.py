"""Blackboard's download: ``Assignment_username_attempt_YYYY-MM-DD-HH-MM-SS_filename`` for each file of each
attempt, plus ``Assignment_username_attempt_YYYY-MM-DD-HH-MM-SS.txt`` describing the attempt. The username is the
student's id; the stamp is the attempt's time (in the course's time zone: ``timezone`` in course.toml, else the
deadline's). The latest attempt is graded; the others are listed.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from autograder.lms.common import Context, Submission, visible
from autograder.lms.staging import gather

NAME = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_]+)_attempt_"
                  r"(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>.+)|(?P<info>\.txt))$")
INFO_NAME = re.compile(r"^Name:\s*(?P<name>.+?)\s*\((?P<user>[^()]+)\)\s*$", re.MULTILINE)


def recognises(path: Path) -> bool:
    return path.is_file() and NAME.match(path.name) is not None


def _name(info: Path | None) -> str:
    """The student's name from the attempt's .txt (``Name: Ada Lovelace (alovelace)``), if it says."""
    if info is None:
        return ""
    match = INFO_NAME.search(info.read_text(encoding="utf-8", errors="replace")[:10_000])
    return match["name"] if match else ""


def read(folder: Path, ctx: Context) -> list[Submission]:
    attempts: dict[str, dict[str, list[tuple[Path, re.Match]]]] = {}
    subs = []
    for path in visible(folder):
        match = NAME.match(path.name)
        if match is None or not path.is_file():
            sub = ctx.add(Submission("", source=path.name, problem="not named as Blackboard names a download "
                                     "(Assignment_username_attempt_YYYY-MM-DD-HH-MM-SS_file)"), path.name)
            gather([(path, path.name)], *ctx.entry(sub.key))
            subs.append(sub)
            continue
        attempts.setdefault(match["user"], {}).setdefault(match["stamp"], []).append((path, match))
    for user, by_stamp in sorted(attempts.items()):
        stamps = sorted(by_stamp, reverse=True)  # the latest first
        files = [(p, m["file"]) for p, m in by_stamp[stamps[0]] if m["file"]]
        info = next((p for p, m in by_stamp[stamps[0]] if m["info"]), None)
        naive = datetime.strptime(stamps[0], "%Y-%m-%d-%H-%M-%S")
        when = naive.replace(tzinfo=ctx.tz) if ctx.tz is not None else naive.astimezone()  # else this machine's
        sub = Submission("", lms_id=user, name=_name(info), source=", ".join(p.name for p, _ in files),
                         submitted_at=when, attempts=stamps)
        ctx.add(sub, user, login=user)
        if files:
            problem = gather(files, *ctx.entry(sub.key))
        else:
            ctx.entry(sub.key)[0].mkdir(parents=True, exist_ok=True)
            problem = "the latest attempt holds no file"
        sub.problem = "; ".join(p for p in (sub.problem, problem) if p)
        subs.append(sub)
    return subs
