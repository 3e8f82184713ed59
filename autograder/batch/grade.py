"""Grade a whole class (``autograder grade``): every submission in a folder, in parallel, in the sandbox, resumably.

Results are kept in OUT/grades.sqlite as each submission finishes, under the entry's key
(:func:`autograder.batch.intake.assign_ids`: entries whose ids fold alike are all kept, each flagged ``same_id``),
with a hash of its files and of the grading code: a rerun grades only new or changed submissions, and a run
stopped at any point (Ctrl-C, or killed) loses only the submissions in flight. After every run OUT holds
grades.csv, feedback/<id>.md|.html, gradescope/<id>/results.json and report.html (with figures/), regenerated from
the store.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.batch.similarity import THRESHOLD, compare_class
from autograder.grading import seed_options, suite_options
from course.errors import CourseError
from course.progress import Progress

if TYPE_CHECKING:
    from autograder.sandbox.limits import Limits

STORE = "grades.sqlite"


@dataclass
class ClassGrading:
    """What ``autograder grade`` was asked: the class, where the outputs go, and how to grade."""

    folder: Path                      # the class: one folder or archive per student (checked by intake.check_folder)
    out: Path                         # grades.sqlite, grades.csv, feedback/, gradescope/, report.html
    limits: Limits                    # the caps per worker
    limit_scale: float = 1.0          # multiplies every time limit
    sandbox: str = "require"          # "require" (refuse to grade without bubblewrap) or "off"
    jobs: int | None = None           # submissions graded at a time here (default: the CPU cores)
    dask: str | None = None           # a Dask scheduler's address, to grade there instead
    regrade: bool = False             # grade again even what the store already holds
    students: list[str] | None = None  # only these entries (the outputs still list everyone)
    task: str | None = None           # only these tasks (ids or prefixes, comma-separated)
    reveal_hidden: bool = False       # hidden tests' details in the feedback
    bench: bool = True                # the benchmark tasks (no points)
    plain_progress: bool = False      # plain lines even on a terminal
    course: Path | None = None        # an nbgrader course (checked by check_course): grade the notebooks too
    similarity: bool = False          # compare the submissions' code too
    threshold: float = THRESHOLD      # similarity at or above which a pair is flagged
    against_solutions: bool = False   # compare with the reference solutions too
    lms: str = "auto"                 # the class's layout (autograder.lms.CHOICES)
    roster: str | None = None         # the class list (CSV)
    config: str | None = None         # the course file (TOML; default ./course.toml if any)
    overrides: str | None = None      # grades changed by hand (CSV)
    seed: int | None = None           # the grading seed (else $AUTOGRADER_SEED / $AUTOGRADER_DATA_SEED / the kit's)


def _result_line(student: str, outcome) -> str:
    if outcome.report is None:
        return f"{student}: not graded ({outcome.problem[:80]})"
    report = outcome.report
    return f"{student}: {report.score:g}/{report.max_score:g} +{report.bonus:g} bonus ({outcome.seconds:.0f} s)"


def grade_class(args: ClassGrading) -> int:
    """Grade the class as ``args`` says, write every output, and return the exit status (130 when interrupted)."""
    from autograder.batch import intake, runner
    from autograder.batch.publish import write_all
    from autograder.batch.store import Record, RowStatus, Store
    from autograder.sandbox.judge import Sandbox
    from autograder.sandbox.limits import process_timeout

    folder, course, limits = args.folder, args.course, args.limits
    sandbox = Sandbox.choose(args.sandbox, limits)  # "require" refuses without bubblewrap
    out = args.out
    from autograder import lms, semester

    term = semester.load(args.config, args.roster, args.overrides)
    prepared = lms.prepare(folder, args.lms, out / ".staging-lms", roster=term.roster, limit=term.limit, tz=term.tz)
    print(prepared.summary(), file=sys.stderr)
    entries = intake.collect(prepared.folder, out / ".staging")
    prepared.explain(entries)
    if not entries:
        raise CourseError(f"{folder} holds no submission (one folder or .zip/.tar.gz archive per student)")
    known = {e.student for e in entries}
    unknown = [s for s in args.students or [] if s not in known]
    if unknown:
        raise CourseError(f"no entry for {', '.join(unknown)} in {folder}; the ids are the entries' names: "
                          + ", ".join(sorted(known)[:10]) + (" …" if len(known) > 10 else ""))
    options = suite_options(limits, args.limit_scale, "require" if sandbox.bwrap else "off") + seed_options(args.seed)
    if args.task:
        from autograder import rubric

        if not rubric.select(args.task):
            raise CourseError(f"--task {args.task!r} matches no task; `python -m autograder.rubric` lists the ids")
        options += ["--task", args.task]
    if not args.bench:
        options += ["-m", "not bench"]
    grading = runner.grading_digest(options + (["--nbgrader", str(course)] if course else []))
    store = Store(out / STORE)
    timeout = process_timeout(limits, args.limit_scale)

    todo, unchanged = [], 0
    for entry in entries:
        if args.students and entry.student not in args.students:
            continue
        digest = intake.digest(entry)
        previous = store.get(entry.student)
        fresh = previous is not None and previous.digest == digest and previous.grading == grading \
            and previous.final
        if fresh and not args.regrade:
            unchanged += 1
        elif not entry.usable:
            store.put(Record(entry.student, digest, grading, RowStatus.UNUSABLE, entry.problem, None, 0.0,
                             entry.source.name))
        else:
            todo.append((entry, digest))

    if sandbox.bwrap is None:
        print(f"warning: grading without a sandbox ({sandbox.reason}): student code runs with your permissions",
              file=sys.stderr)
    jobs = args.jobs or os.cpu_count() or 1
    where = f"the Dask cluster at {args.dask}" if args.dask else f"{min(jobs, max(len(todo), 1))} at a time"
    print(f"{len(entries)} entries in {folder}: {len(todo)} to grade ({where}), {unchanged} unchanged, "
          f"{sum(not e.usable for e in entries)} unusable", file=sys.stderr)
    progress = Progress(len(todo), unit="submission", bar=not args.plain_progress)

    def notebooks(entry, outcome) -> None:
        if course is not None and outcome.report is not None and not outcome.report.notebooks:
            from autograder.notebooks import grading as nb

            outcome.report.notebooks = nb.grade(course, entry.student, entry.root,
                                                   sandbox="require" if sandbox.bwrap else
                                                   "auto" if sandbox.user else "off")  # auto: a student uid

    def record(entry, digest, outcome) -> None:
        notebooks(entry, outcome)  # on Dask the notebooks are graded here, where the course folder is
        status = RowStatus.GRADED if outcome.report is not None and not outcome.report.grader_failed \
            else RowStatus.GRADER_ERROR
        store.put(Record(entry.student, digest, grading, status, outcome.problem, outcome.report, outcome.seconds,
                         entry.source.name))
        progress.update(_result_line(entry.student, outcome))

    interrupted = False
    started = time.monotonic()
    try:
        if args.dask:
            _grade_on_dask(args.dask, todo, options, timeout, record)
        else:
            _grade_here(todo, options, timeout, jobs, record, notebooks)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    wall = time.monotonic() - started

    if args.similarity and not interrupted:
        compare_class(entries, out / "similarity", threshold=args.threshold, against_solutions=args.against_solutions)
    records = []
    for entry in entries:
        stored = store.get(entry.student)
        if stored is not None:
            stored.same_id = tuple(entry.same_id)  # a run's view: which entries of this class fold alike
            records.append(stored)
    if course is not None:
        _merge_gradebook(course, records)
    finals = semester.apply(records, prepared, term, store)
    paths = write_all(out, [f.record for f in finals if f.record is not None], reveal_hidden=args.reveal_hidden)
    paths += [p for p in semester.exports.write_all(out, finals, term) if p not in paths]
    store.close()
    graded = sum(r.report is not None for r in records)
    print(f"{'interrupted: ' if interrupted else ''}graded {len(todo)} submission(s) in {wall:.0f} s"
          + (f" ({60 * len(todo) / wall:.1f} per minute)" if todo and wall and not interrupted else "")
          + f"; {graded} of {len(records)} entries have a grade. Outputs in {out}/: "
          + ", ".join(p.name for p in paths))
    return 130 if interrupted else 0


def check_course(path: str | None) -> Path | None:
    """The nbgrader course folder given with ``--nbgrader`` (resolved), None without one, or a clear error."""
    if path is None:
        return None
    from autograder.notebooks.grading import is_course

    course = Path(path).expanduser().resolve()
    if not is_course(course):
        raise CourseError(f"{course} is not an nbgrader course made by the kit; create it with "
                          f"`autograder nbgrader {path}`")
    return course


def _merge_gradebook(course: Path, records) -> None:
    """Refresh each record's notebook points from nbgrader's gradebook: manual grades given in the formgrader
    since the notebooks were autograded come in; nothing is graded again."""
    from autograder.notebooks.grading import scores

    found = scores(course, [r.student for r in records])
    for record in records:
        notebooks = record.report.notebooks if record.report is not None else {}
        for project, entry in notebooks.items():
            entry.update(found.get(record.student, {}).get(project, {}))


def _grade_here(todo, options, timeout, jobs, record, notebooks) -> None:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from autograder.batch.runner import Running, grade_folder

    running = Running()

    def job(entry):
        outcome = grade_folder(entry.root, options, timeout=timeout, running=running)
        notebooks(entry, outcome)
        return outcome

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures = {pool.submit(job, entry): (entry, digest) for entry, digest in todo}
    try:
        for future in as_completed(futures):
            entry, digest = futures[future]
            record(entry, digest, future.result())
    except BaseException:
        for future in futures:
            future.cancel()
        running.kill_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _grade_on_dask(address, todo, options, timeout, record) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise CourseError("--dask needs dask.distributed: pip install 'dask[distributed]'") from exc
    from autograder.batch.runner import Outcome, grade_files, grading_digest, pack
    from autograder.record import GradeReport

    try:
        client = Client(address, timeout="15s")
    except (OSError, TimeoutError) as exc:
        raise CourseError(f"cannot reach the Dask scheduler at {address} ({exc}); start one with `dask scheduler` "
                          "and workers with `dask worker ADDRESS --nthreads 1` (see docs/batch-grading.md)") from exc
    kit = grading_digest(options)
    try:
        futures = {client.submit(grade_files, pack(entry.root), options, timeout, kit, pure=False,
                                 key=f"grade-{entry.student}-{digest[:12]}"): (entry, digest)
                   for entry, digest in todo}
        for future in as_completed(futures):
            entry, digest = futures[future]
            try:
                result = future.result()
                report = GradeReport.from_json(result["report"]) if result["report"] is not None else None
                outcome = Outcome(report, result["problem"], result["seconds"])
            except Exception as exc:  # noqa: BLE001 - a worker died or lacks the kit: that submission is not graded
                outcome = Outcome(None, f"the Dask worker failed: {type(exc).__name__}: {exc}", 0.0)
            record(entry, digest, outcome)
    except BaseException:
        client.cancel(list(futures)) if "futures" in locals() else None
        raise
    finally:
        client.close()
