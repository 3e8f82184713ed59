"""Grade a whole class: every submission in a folder, in parallel, in the sandbox, resumably.

  autograder grade submissions/                 one entry per student: a folder like assignments/ or an archive
  autograder grade submissions/ --out grades/   where the results go (default: grades/)
  autograder grade submissions/ --jobs 4        submissions graded at a time (default: the CPU cores)
  autograder grade submissions/ --dask tcp://scheduler:8786   on a Dask cluster instead
  autograder grade submissions/ --student alice --regrade      grade one student again

Results are kept in OUT/grades.sqlite as each submission finishes, keyed by a hash of its files and of the grading
code: a rerun grades only new or changed submissions, and a run stopped at any point (Ctrl-C, or killed) loses only
the submissions in flight. After every run OUT holds grades.csv, feedback/<id>.md|.html,
gradescope/<id>/results.json and report.html (with figures/), regenerated from the store.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from autograder.commands.check import add_sandbox_arguments, limits_of, suite_options
from autograder.commands.similarity import add_similarity_options, check_threshold, compare_class
from course.errors import CourseError

STORE = "grades.sqlite"


def add_arguments(parser) -> None:
    parser.add_argument("folder", help="the class: one folder or archive (.zip, .tar.gz) per student")
    parser.add_argument("--out", default="grades", help="output folder (default: grades)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions graded at the same time (default: the number of CPU cores)")
    parser.add_argument("--dask", metavar="ADDRESS", default=None,
                        help="grade on an existing Dask cluster (tcp://HOST:8786) instead of this machine")
    parser.add_argument("--regrade", action="store_true", help="grade every submission again, changed or not")
    parser.add_argument("--student", action="append", default=None, metavar="ID",
                        help="only this student (repeat for several); the outputs still list everyone")
    parser.add_argument("--task", default=None,
                        help="grade only these tasks (ids or prefixes, comma-separated): to try the command quickly; "
                             "the grades then cover those tasks alone")
    parser.add_argument("--reveal-hidden", action="store_true",
                        help="show hidden tests' details in the feedback (default: 'hidden test failed: …' only)")
    parser.add_argument("--no-progress", action="store_true", help="plain lines instead of a progress bar")
    parser.add_argument("--no-bench", action="store_true",
                        help="skip the benchmark tasks (p2.bench.*: no points, about 4 s per submission)")
    parser.add_argument("--nbgrader", metavar="COURSE", default=None,
                        help="also grade the notebooks with nbgrader in this course folder (made by `autograder "
                             "nbgrader COURSE`); written answers graded in its formgrader are merged at every run")
    parser.add_argument("--similarity", action="store_true",
                        help="also compare the submissions' code (OUT/similarity/, and a section of report.html)")
    add_similarity_options(parser)
    add_sandbox_arguments(parser)
    add_semester_arguments(parser)


def add_semester_arguments(parser) -> None:
    from autograder.lms import CHOICES

    parser.add_argument("--lms", choices=CHOICES, default="auto",
                        help="how the class folder (or archive) is laid out (default: auto, which says what it found)")
    parser.add_argument("--roster", metavar="CSV", default=None,
                        help="the class list: student_id, and name, email, lms_id, sis_login_id, section, github")
    parser.add_argument("--config", metavar="TOML", default=None,
                        help="the course file: deadline, late policy, extensions (default: ./course.toml if any)")
    parser.add_argument("--overrides", metavar="CSV", default=None,
                        help="grades changed by hand: student,task,points,reason,who,when (docs/course-file.md)")


class Progress:
    """A tqdm bar on a terminal (done/total, rate, ETA, the last result); plain lines otherwise."""

    def __init__(self, total: int, plain: bool):
        self.total, self.done, self.start = total, 0, time.monotonic()
        self.bar = None
        if not plain and total and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="submission", file=sys.stderr, dynamic_ncols=True)

    def update(self, line: str) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(line[:60])
            self.bar.update(1)
            return
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed * 60 if elapsed else 0.0
        left = (self.total - self.done) / (self.done / elapsed) if self.done and elapsed else 0.0
        print(f"[{self.done}/{self.total}] {line}  ({rate:.1f}/min, about {left:.0f} s left)", file=sys.stderr,
              flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _result_line(student: str, outcome) -> str:
    if outcome.report is None:
        return f"{student}: not graded ({outcome.problem[:80]})"
    report = outcome.report
    return f"{student}: {report.score:g}/{report.max_score:g} +{report.bonus:g} bonus ({outcome.seconds:.0f} s)"


def check_folder(path: str) -> Path:
    """The class folder, or a clear error."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise CourseError(f"{folder} does not exist; give the folder that holds one folder or archive per student")
    if not folder.is_dir():
        raise CourseError(f"{folder} is a file; give the folder that holds one folder or archive per student")
    return folder


def _check_inputs(args) -> Path:
    from autograder.batch.intake import ARCHIVES

    path = Path(args.folder).expanduser()
    folder = path if path.is_file() and path.name.lower().endswith(ARCHIVES) else check_folder(args.folder)
    if args.jobs is not None and args.jobs < 1:
        raise CourseError(f"--jobs must be at least 1, got {args.jobs}")
    out = Path(args.out).expanduser()
    if out.resolve() == folder.resolve() or folder.resolve() in out.resolve().parents:
        raise CourseError(f"--out {out} lies inside the class folder {folder}; choose a folder outside it")
    return folder


def run(args) -> int:
    from autograder.batch import intake, runner
    from autograder.batch.outputs import write_all
    from autograder.batch.store import Record, RowStatus, Store
    from autograder.sandbox.judge import Sandbox

    folder = _check_inputs(args)
    check_threshold(args.threshold)
    course = _check_course(args.nbgrader)
    limits = limits_of(args)
    sandbox = Sandbox.choose("off" if args.no_sandbox else "require", limits)  # refuses without --no-sandbox
    out = Path(args.out).expanduser()
    from autograder import lms, semester

    term = semester.load(args.config, args.roster, args.overrides)
    prepared = lms.prepare(folder, args.lms, out / ".staging-lms", roster=term.roster, limit=term.limit, tz=term.tz)
    print(prepared.summary(), file=sys.stderr)
    entries = intake.collect(prepared.folder, out / ".staging")
    prepared.explain(entries)
    if not entries:
        raise CourseError(f"{folder} holds no submission (one folder or .zip/.tar.gz archive per student)")
    known = {e.student for e in entries}
    unknown = [s for s in args.student or [] if s not in known]
    if unknown:
        raise CourseError(f"no entry for {', '.join(unknown)} in {folder}; the ids are the entries' names: "
                          + ", ".join(sorted(known)[:10]) + (" …" if len(known) > 10 else ""))
    options = suite_options(args, "require" if sandbox.bwrap else "off")
    if args.task:
        from autograder import rubric

        if not rubric.select(args.task):
            raise CourseError(f"--task {args.task!r} matches no task; `python -m autograder.rubric` lists the ids")
        options += ["--task", args.task]
    if args.no_bench:
        options += ["-m", "not bench"]
    grading = runner.grading_digest(options + (["--nbgrader", str(course)] if course else []))
    store = Store(out / STORE)
    timeout = (limits.submission_seconds + 2 * (limits.startup_seconds + limits.import_seconds)) * args.limit_scale + 120

    todo, unchanged = [], 0
    for entry in entries:
        if args.student and entry.student not in args.student:
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
    progress = Progress(len(todo), args.no_progress)

    def notebooks(entry, outcome) -> None:
        if course is not None and outcome.report is not None and not outcome.report.notebooks:
            from autograder.notebooks import grading as nb

            outcome.report.notebooks = nb.grade(course, entry.student, entry.root,
                                                   sandbox="require" if sandbox.bwrap else "off")

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
        compare_class(entries, out / "similarity", args)
    records = [r for r in (store.get(e.student) for e in entries) if r is not None]
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


def _check_course(path: str | None) -> Path | None:
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
