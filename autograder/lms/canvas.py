"""Canvas's "Download Submissions": one flat zip, a file per uploaded file, named
``lastfirst[_LATE]_userid_attachmentid_originalname`` (``smithbob_340934_208490284_work.zip``); a file uploaded
again under the same name becomes ``name-1.ext``. The user id is the student's Canvas id; ``_LATE`` is Canvas's own
late flag (the download carries no submission time: a times CSV can give them, see docs/course-file.md).

All the files of one user id make one submission: archives unpacked, files handed in one by one placed by name,
and of several uploads of the same file the last (the highest attachment id) kept, the others listed.
"""

from __future__ import annotations

import re
from pathlib import Path

from autograder.lms.common import Context, Submission, visible
from autograder.lms.staging import CANVAS_COPY, gather

# the attachment id is missing on a text entry (lastfirst_userid_text.html)
NAME = re.compile(r"^(?P<name>[^_]+?)(?P<late>_LATE)?_(?P<user>\d+)(?:_(?P<attachment>\d+))?_(?P<file>.+)$")


def recognises(path: Path) -> bool:
    return path.is_file() and NAME.match(path.name) is not None


def upload_name(name: str) -> str:
    """The name the student uploaded: Canvas's ``-1`` (before the first dot) taken off."""
    match = CANVAS_COPY.match(name)
    return f"{match['stem']}{match['ext'] or ''}" if match else name


def read(folder: Path, ctx: Context) -> list[Submission]:
    groups: dict[str, list[tuple[int, Path, re.Match]]] = {}
    subs = []
    for path in visible(folder):
        match = NAME.match(path.name)
        if match is None or not path.is_file():
            sub = ctx.add(Submission("", source=path.name, problem="not named as Canvas names a download "
                                     "(lastfirst_userid_attachmentid_file)"), path.name)
            gather([(path, path.name)], *ctx.entry(sub.key))
            subs.append(sub)
            continue
        groups.setdefault(match["user"], []).append((int(match["attachment"] or 0), path, match))
    for user, files in sorted(groups.items()):
        files.sort(key=lambda f: f[0])  # oldest upload first
        latest: dict[str, tuple[int, Path, re.Match]] = {}
        for item in files:
            latest[upload_name(item[2]["file"])] = item
        kept = sorted(latest.values(), key=lambda f: f[0])
        older = [f[1].name for f in files if f not in kept]
        first = files[-1][2]
        sub = Submission("", lms_id=user, name=first["name"], source=", ".join(f[1].name for f in kept),
                         late=any(f[2]["late"] for f in kept),
                         attempts=[", ".join(f[2]["file"] for f in kept), *older])
        ctx.add(sub, user)
        problem = gather([(f[1], upload_name(f[2]["file"])) for f in kept], *ctx.entry(sub.key))
        sub.problem = "; ".join(p for p in (sub.problem, problem) if p)
        subs.append(sub)
    return subs
