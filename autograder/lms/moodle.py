"""Moodle's "Download all submissions": a folder per student, ``Full Name_participantid_assignsubmission_file_``
(usually holding the uploaded zip), or the same as a prefix of each file when the download was not made with
folders. The participant id is the student's id in this assignment (Moodle's "Participant 123"); the folder name
is kept for the feedback zip ("upload multiple feedback files in a zip" matches it).
"""

from __future__ import annotations

import re
from pathlib import Path

from autograder.lms.common import Context, Submission, visible
from autograder.lms.staging import gather

FOLDER = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?$")
FILE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$")


def recognises(path: Path) -> bool:
    return (FOLDER if path.is_dir() else FILE).match(path.name) is not None


def read(folder: Path, ctx: Context) -> list[Submission]:
    groups: dict[str, list[tuple[Path, str, re.Match]]] = {}
    subs = []
    for path in visible(folder):
        match = (FOLDER if path.is_dir() else FILE).match(path.name)
        if match is None:
            sub = ctx.add(Submission("", source=path.name, problem="not named as Moodle names a download "
                                     "(Full Name_participantid_assignsubmission_file_)"), path.name)
            gather([(path, path.name)], *ctx.entry(sub.key))
            subs.append(sub)
            continue
        name = match["file"] if not path.is_dir() else path.name
        groups.setdefault(match["pid"], []).append((path, name, match))
    for pid, items in sorted(groups.items(), key=lambda g: int(g[0])):
        first = items[0][2]
        sub = Submission("", lms_id=pid, name=first["name"], source=", ".join(i[0].name for i in items),
                         folder_name=f"{first['name']}_{pid}_assignsubmission_file_")
        ctx.add(sub, pid)
        problem = gather([(p, n) for p, n, _ in items], *ctx.entry(sub.key))
        sub.problem = "; ".join(p for p in (sub.problem, problem) if p)
        subs.append(sub)
    return subs
