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

from pathlib import Path

from autograder import seeds
from autograder.commands.check import add_sandbox_arguments, limits_of
from autograder.commands.similarity import add_similarity_options
from course.errors import CourseError


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
    parser.add_argument("--seed", type=seeds.argument, default=None, metavar="N",
                        help="the grading seed (project 1's pairs and nets; default $AUTOGRADER_SEED, else "
                             "$AUTOGRADER_DATA_SEED, else the kit's public seed); recorded in every report, and part "
                             "of the grading digest: a new seed regrades everyone")
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


def _check_inputs(args) -> Path:
    from autograder.batch.intake import ARCHIVES, check_folder

    path = Path(args.folder).expanduser()
    folder = path if path.is_file() and path.name.lower().endswith(ARCHIVES) else check_folder(args.folder)
    if args.jobs is not None and args.jobs < 1:
        raise CourseError(f"--jobs must be at least 1, got {args.jobs}")
    out = Path(args.out).expanduser()
    if out.resolve() == folder.resolve() or folder.resolve() in out.resolve().parents:
        raise CourseError(f"--out {out} lies inside the class folder {folder}; choose a folder outside it")
    return folder


def run(args) -> int:
    from autograder.batch.grade import ClassGrading, check_course, grade_class
    from autograder.batch.similarity import check_threshold

    folder = _check_inputs(args)
    check_threshold(args.threshold)
    course = check_course(args.nbgrader)
    return grade_class(ClassGrading(
        folder=folder, out=Path(args.out).expanduser(), limits=limits_of(args), limit_scale=args.limit_scale,
        sandbox="off" if args.no_sandbox else "require", jobs=args.jobs, dask=args.dask, regrade=args.regrade,
        students=args.student, task=args.task, reveal_hidden=args.reveal_hidden, bench=not args.no_bench,
        plain_progress=args.no_progress, course=course, similarity=args.similarity, threshold=args.threshold,
        against_solutions=args.against_solutions, lms=args.lms, roster=args.roster, config=args.config,
        overrides=args.overrides, seed=args.seed))
