"""A GitHub Classroom clone (``gh classroom clone student-repos``): ``<assignment>-submissions/<prefix>-<username>/``,
each a git repository. The username is the repository's name without the prefix all of them share (or, with a
roster, the ``github`` column it ends with).

The graded commit is the last one (by commit time) at or before the student's limit — the deadline, their
extension, plus the late window when the course accepts late work — read straight from git's object store
(``ls-tree`` and ``cat-file``: no checkout, no hook, no filter, no configuration of the system or the user);
later commits are listed, never graded. Commit times are what the student's git recorded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path, PurePosixPath

from autograder.batch import intake
from autograder.lms.common import Context, Submission, visible
from autograder.lms.staging import gather


class GitError(Exception):
    pass


def recognises(path: Path) -> bool:
    return path.is_dir() and (path / ".git").exists()


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    """``git -C repo args`` with no system or global configuration and no hooks; its output, or GitError."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
           "GIT_OPTIONAL_LOCKS": "0"}
    command = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "safe.directory=*",
               "-C", str(repo), *args]
    try:
        done = subprocess.run(command, check=False, input=data, capture_output=True, env=env, timeout=120,
                              stdin=None if data is not None else subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise GitError("git is not installed; install git to grade a GitHub Classroom clone") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} did not finish within 120 s") from exc
    if done.returncode != 0:
        raise GitError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()[:200]}")
    return done.stdout


def commits(repo: Path) -> list[tuple[str, datetime, str, str]]:
    """The commits reachable from HEAD, newest first: (hash, commit time (aware), subject, author's name)."""
    out = git(repo, "log", "HEAD", "--format=%H%x1f%cI%x1f%s%x1f%an%x1e").decode(errors="replace")
    found = []
    for line in out.split("\x1e"):
        if line.strip():
            sha, when, subject, author = line.strip("\n").split("\x1f", 3)
            found.append((sha, datetime.fromisoformat(when), subject, author))
    return sorted(found, key=lambda c: c[1], reverse=True)


def export_tree(repo: Path, commit: str, target: Path) -> None:
    """The regular files of ``commit`` written under ``target`` (no link, no submodule), capped like an archive."""
    listing = git(repo, "ls-tree", "-r", "-l", "-z", "--full-tree", commit).split(b"\0")
    blobs = []
    for item in listing:
        if not item:
            continue
        meta, _, name = item.partition(b"\t")
        mode, kind, oid, length = meta.split()
        path = PurePosixPath(name.decode(errors="replace"))
        if kind != b"blob" or mode not in (b"100644", b"100755") or path.is_absolute() or ".." in path.parts:
            continue
        blobs.append((path, oid, int(length)))
    if sum(b[2] for b in blobs) > intake.MAX_BYTES or len(blobs) > intake.MAX_FILES:
        raise GitError(f"the commit holds more than {intake.MAX_BYTES // 2**20} MB or {intake.MAX_FILES} files")
    out = git(repo, "cat-file", "--batch", data=b"".join(oid + b"\n" for _, oid, _ in blobs))
    pos = 0
    for path, _, _ in blobs:
        end = out.index(b"\n", pos)
        size = int(out[pos:end].split()[2])
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_bytes(out[end + 1:end + 1 + size])
        pos = end + 1 + size + 1


def usernames(repos: list[Path], github: list[str]) -> dict[Path, str]:
    """Each repository's GitHub username: the roster's ``github`` name it ends with (``-<username>``, the longest),
    else the name after the prefix every repository shares (up to a ``-``)."""
    names = [r.name for r in repos]
    prefix = os.path.commonprefix(names) if len(names) > 1 else names[0].split("-", 1)[0] + "-"
    prefix = prefix[: prefix.rfind("-") + 1] if "-" in prefix else ""
    if len(names) > 1 and any(n == prefix.rstrip("-") for n in names):
        prefix = ""
    found = {}
    for repo in repos:
        known = [g for g in github if repo.name.lower().endswith(f"-{g.lower()}")]
        found[repo] = max(known, key=len) if known else (repo.name[len(prefix):] or repo.name)
    return found


def _short(commit: tuple[str, datetime, str, str]) -> str:
    return f"{commit[0][:10]} {commit[1].isoformat()} {commit[2][:60]}"


def read(folder: Path, ctx: Context) -> list[Submission]:
    items = visible(folder)
    repos = [p for p in items if recognises(p)]
    subs = []
    for path in items:
        if path not in repos:
            sub = ctx.add(Submission("", source=path.name, problem="not a git repository"), path.name)
            gather([(path, path.name)], *ctx.entry(sub.key))
            subs.append(sub)
    github = [s.github for s in getattr(ctx.roster, "students", []) if s.github]
    users = usernames(repos, github) if repos else {}
    for repo in repos:
        user, problem = users[repo], ""
        try:
            history = commits(repo)
        except (GitError, ValueError) as exc:
            history, problem = [], str(exc)
        sub = ctx.add(Submission("", lms_id=user, name=history[0][3] if history else "", source=repo.name), user,
                      login=user)
        target, raw = ctx.entry(sub.key)
        try:
            if not history:
                raise GitError(problem)
            limit = ctx.limit(sub.student or sub.key)
            graded = [c for c in history if limit is None or c[1] <= limit]
            sub.later_commits = [_short(c) for c in history if c not in graded]
            if not graded:
                raise GitError(f"no commit at or before {limit.isoformat() if limit else 'the deadline'}"
                               f" ({len(history)} later commit(s), not graded)")
            sub.graded_commit, sub.submitted_at = graded[0][0], graded[0][1]
            sub.attempts = [_short(c) for c in graded]
            tree = ctx.staging / "git" / sub.key
            shutil.rmtree(tree, ignore_errors=True)
            tree.mkdir(parents=True)
            export_tree(repo, graded[0][0], tree)
            problem = gather([(tree, repo.name)], target, raw)
            shutil.rmtree(tree, ignore_errors=True)
        except (GitError, ValueError, IndexError) as exc:
            problem = str(exc)
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
        sub.problem = "; ".join(p for p in (sub.problem, problem) if p)
        subs.append(sub)
    return subs
