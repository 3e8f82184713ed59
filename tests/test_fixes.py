"""Small bugs of issue 20, each pinned by a test that failed before its fix: a message missing its ``f`` prefix,
the nbgrader course guard, the umask read, a launch's environment, colliding round seeds, bwrap's exit statuses
and the memory cap named when it stops an import."""

from __future__ import annotations

import ast
import re

import pytest

from course.errors import CourseError
from course.submission import KIT_ROOT

# ``{name}``, ``{name!r}``, ``{name:.2f}``, ``{a.b}``: a replacement field (not CSS's ``{font-size:1em}``, not ``{{``)
FIELD = re.compile(r"(?<!\{)\{[A-Za-z_][\w.]*(\[[\w'\"]+\])?(![rsa])?(:[<>^=+\- #0-9.,_]*[bcdeEfFgGnosxX%]?)?\}(?!\})")


def unformatted_fields(source: str) -> list[tuple[int, str]]:
    """(line, text) of each plain string literal holding a replacement field: neither part of an f-string nor a
    template (a literal, or a name bound to one, whose ``.format``/``.format_map`` the module calls)."""
    tree = ast.parse(source)
    templates = {node.func.value.id for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "format_map")
                 and isinstance(node.func.value, ast.Name)}
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            exempt.update(id(n) for n in ast.walk(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("format", "format_map"):
            exempt.add(id(node.func.value))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in templates for t in node.targets):
            exempt.add(id(node.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in exempt
            and FIELD.search(node.value)]


def test_the_scan_finds_a_missing_f_prefix():
    assert unformatted_fields('x = 1\nrequire(ok, expected="class {name}(Module)")\n') == [(2, "class {name}(Module)")]
    assert not unformatted_fields('name = "a"\nmsg = f"class {name}"\nT = "{a}"\nT.format(a=1)\n"{b:>4}".format(b=2)\n')
    assert not unformatted_fields('CSS = "h1{font-size:1.5em}"\nJINJA = "{{ name }}"\n')


def test_no_message_of_the_kit_shows_a_literal_replacement_field():
    found = [f"{path.relative_to(KIT_ROOT)}:{line}: {text[:60]!r}"
             for root in ("autograder", "course") for path in sorted((KIT_ROOT / root).rglob("*.py"))
             for line, text in unformatted_fields(path.read_text())]
    assert not found, "string literals with {fields} but no f prefix:\n" + "\n".join(found)


# ------------------------------------------------------------------------------------------------ the umask


def test_atomic_write_reads_the_umask_without_setting_it(tmp_path, monkeypatch):
    import os

    from course import files

    mask = os.umask(0o027)
    try:
        def no_umask(_mask):
            raise AssertionError("os.umask was called: threads creating files meanwhile would get mode 0o777")

        monkeypatch.setattr(files.os, "umask", no_umask)
        path = files.atomic_write(tmp_path / "a" / "report.txt", "x")
    finally:
        monkeypatch.undo()
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o640  # 0o644 less the umask in force


# ------------------------------------------------------------------------------------------------ the nbgrader course


@pytest.mark.parametrize("inside", ["", "solutions", "solutions/project1", "assignments", "course", "autograder",
                                    "autograder/notebooks", "docs", "tests", ".."])
def test_no_nbgrader_course_among_the_kits_files(inside, monkeypatch):
    from autograder.notebooks import course as nb_course

    def never(*args, **kwargs):
        raise AssertionError("the course was written among the kit's files")

    monkeypatch.setattr(nb_course, "write_config", never)
    with pytest.raises(CourseError, match="choose a folder of its own"):
        nb_course.make_course(KIT_ROOT / inside)


def test_a_folder_of_its_own_is_accepted(tmp_path):
    from autograder.notebooks import course as nb_course

    nb_course.check_destination(tmp_path / "course-nb")
    nb_course.check_destination(KIT_ROOT / "course-nb")  # a new folder at the kit's root, as the README shows


def test_the_guard_knows_every_folder_git_tracks():
    import subprocess

    from autograder.notebooks import course as nb_course

    done = subprocess.run(["git", "-C", str(KIT_ROOT), "ls-files"], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("the kit is not a git checkout here")
    folders = {line.split("/")[0] for line in done.stdout.splitlines() if "/" in line}
    assert folders <= set(nb_course.KIT_FOLDERS), f"add {sorted(folders - set(nb_course.KIT_FOLDERS))} to KIT_FOLDERS"


def test_a_release_never_copies_nbgraders_files(tmp_path):
    from autograder import release

    source = tmp_path / "solutions"
    (source / "project1" / ".ipynb_checkpoints").mkdir(parents=True)
    (source / "project1" / "models.py").write_text("VALUE = 1\n")
    for name in ("gradebook.db", "nbgrader_config.py", "project1/gradebook.db", "project1/nbgrader_config.py",
                 "project1/.ipynb_checkpoints/models-checkpoint.py"):
        (source / name).write_text("c = get_config()\n")
    release.release(source, tmp_path / "assignments")
    released = sorted(p.relative_to(tmp_path / "assignments").as_posix()
                      for p in (tmp_path / "assignments").rglob("*") if p.is_file())
    assert released == ["project1/models.py"]


# ------------------------------------------------------------------------------------------------ KIT_REQUIRE_SANDBOX


@pytest.mark.parametrize("required", [False, True])
def test_a_test_that_needs_the_sandbox_fails_without_it_when_required(required, monkeypatch):
    import conftest

    monkeypatch.setattr(conftest.isolation, "probe", lambda: (None, "no bwrap found"))
    monkeypatch.setenv(conftest.REQUIRE_SANDBOX, "1" if required else "0")
    with pytest.raises(pytest.fail.Exception if required else pytest.skip.Exception, match="no bwrap found"):
        conftest.sandbox_or_skip()
    if required:
        with pytest.raises(pytest.fail.Exception, match="KIT_REQUIRE_SANDBOX=1 but the sandbox cannot run here"):
            conftest.sandbox_args()
    else:
        assert conftest.sandbox_args() == ["--no-sandbox"]


def test_ci_requires_the_sandbox():
    assert "export KIT_REQUIRE_SANDBOX=1" in (KIT_ROOT / ".ci" / "run").read_text()


# ------------------------------------------------------------------------------------------------ the judge


def _launch(tmp_path, bwrap):
    from autograder.sandbox.judge import Launch, Sandbox

    folder = tmp_path / "copy" / "project1"
    folder.mkdir(parents=True)
    return Launch.prepare(Sandbox(bwrap), folder, env={"KIT_TEST": "1"})


@pytest.mark.parametrize("sandboxed", [False, True])
def test_a_launch_wraps_a_second_command_as_the_first(tmp_path, request, sandboxed):
    import subprocess
    import sys

    launch = _launch(tmp_path, request.getfixturevalue("sandbox") if sandboxed else None)
    try:
        env = dict(launch.env)
        argv = [sys.executable, "-c", "import os; print(os.environ.get('KIT_TEST'), os.environ.get('MPLBACKEND'))"]
        first, second = launch.command(argv), launch.command(argv)
        assert first == second and launch.env == env
        for command in (first, second):
            done = subprocess.run(command, env=launch.popen_env, capture_output=True, text=True, timeout=60,
                                  check=False)
            assert done.stdout.split() == ["1", "Agg"], done.stdout + done.stderr
    finally:
        if launch.cgroup is not None:
            launch.cgroup.remove()


def test_bwraps_exit_statuses_are_told_apart():
    import signal

    from autograder.sandbox.judge import describe_exit

    assert describe_exit(200, bwrap=True) == ("exit code 200", None)  # not "signal 72": no such signal
    words, sig = describe_exit(128 + signal.SIGSEGV, bwrap=True)
    assert sig == signal.SIGSEGV and "segmentation fault" in words and f"exit({128 + signal.SIGSEGV})" in words
    assert describe_exit(128 + signal.SIGSEGV, bwrap=False) == (f"exit code {128 + signal.SIGSEGV}", None)
    assert describe_exit(-signal.SIGKILL, bwrap=False) == ("killed by SIGKILL", signal.SIGKILL)
    assert describe_exit(3, bwrap=True) == ("exit code 3", None)


def _import_failure(tmp_path, bwrap, code: str, **limits):
    """The StudentError of a worker whose project file ``m.py`` runs ``code`` at its import."""
    from autograder.sandbox.judge import Sandbox, StudentError, Worker
    from autograder.sandbox.limits import Limits

    (tmp_path / "sub" / "project1").mkdir(parents=True)
    (tmp_path / "sub" / "project1" / "m.py").write_text(code)
    worker = Worker(tmp_path / "sub", "project1", sandbox=Sandbox(bwrap, Limits(**limits)), modules=("m",))
    try:
        with pytest.raises(StudentError) as caught:
            worker.start()
    finally:
        worker.close()
    return caught.value, worker


def test_an_exit_200_at_import_is_an_exit_status_not_a_signal(tmp_path, sandbox):
    error, _ = _import_failure(tmp_path, sandbox, "import os\nos._exit(200)\n")
    assert error.kind == "import" and "(exit code 200)" in error.message, error.message


def test_the_memory_cap_is_named_when_it_stops_an_import(tmp_path, sandbox):
    from autograder.sandbox import cgroups
    from autograder.sandbox.limits import format_size, parse_size

    if not cgroups.available():
        pytest.skip("no cgroup here: the cap is RLIMIT_DATA, and the import fails with a MemoryError instead")
    cap = parse_size("1G")
    error, worker = _import_failure(tmp_path, sandbox, f"hog = bytearray({2 * cap})\n", memory=cap)
    named = f"ran out of memory (limit {format_size(cap)})"
    assert error.kind == "import" and named in error.message, error.message
    assert "m.py" in error.message and named in [note.text for note in worker.fired]


# ------------------------------------------------------------------------------------------------ round seeds


def test_round_seeds_never_collide_and_keep_their_values():
    from course.protocol import MAX_ROUNDS, round_seed

    seeds = {(s, r): round_seed(s, r) for s in range(-2, 3) for r in range(MAX_ROUNDS)}
    assert len(set(seeds.values())) == len(seeds)
    assert all(value == s * 1000 + r for (s, r), value in seeds.items())  # the published figures' seeds
    for bad in (MAX_ROUNDS, -1):  # round 1000 of seed 0 was round 0 of seed 1
        with pytest.raises(CourseError, match="out of range"):
            round_seed(0, bad)


def test_more_rounds_than_seeds_are_refused(tmp_path, capsys):
    from course import cli
    from course.protocol import MAX_ROUNDS

    for project in ("project1", "project2"):
        assert cli.main(["run", project, "--rounds", str(MAX_ROUNDS + 1), "--out", str(tmp_path)]) == 2
        assert f"--rounds must be at most {MAX_ROUNDS}" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
