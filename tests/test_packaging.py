"""What the kit's packages import at load time is installed by `pip install -e .`, without the dev extras:
students run `autograder check` and `tox` from the bundle, which installs the kit alone."""

import ast
import importlib.metadata as metadata
import re
import sys

import pytest

from course.submission import KIT_ROOT

tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11

# import name -> distribution name, for the third-party packages the kit may use at run time
DISTRIBUTIONS = {"torch": "torch", "numpy": "numpy", "mlxtend": "mlxtend", "matplotlib": "matplotlib", "tqdm": "tqdm",
                 "jinja2": "jinja2",
                 "pytest": "pytest", "_pytest": "pytest", "pytest_benchmark": "pytest-benchmark"}
LOCAL = {"course", "autograder"}
TEMPLATES = KIT_ROOT / "autograder" / "templates"
SHELL_BUILTINS = {".", "source", "cd", "export"}


def runtime_dependencies() -> set[str]:
    project = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}


def module_level_imports(path):
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


# instructor tools (nbgrader integration): imported only by instructor commands, lazily; their module-level imports
# come with the dev extras, which instructors install
INSTRUCTOR = KIT_ROOT / "autograder" / "notebooks"
INSTRUCTOR_DISTRIBUTIONS = {"nbgrader": "nbgrader", "nbformat": "nbformat", "traitlets": "nbgrader"}


def dev_dependencies() -> set[str]:
    project = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0].lower() for dep in project["optional-dependencies"]["dev"]}


def test_module_level_imports_are_runtime_dependencies():
    deps, dev = runtime_dependencies(), dev_dependencies()
    missing = []
    for path in sorted((KIT_ROOT / "course").rglob("*.py")) + sorted((KIT_ROOT / "autograder").rglob("*.py")):
        if TEMPLATES in path.parents:  # files of the student bundle (toxfile.py is run by tox), never imported
            continue
        for name in module_level_imports(path):
            if name in sys.stdlib_module_names or name in LOCAL:
                continue
            if INSTRUCTOR in path.parents and INSTRUCTOR_DISTRIBUTIONS.get(name) in dev:
                continue
            dist = DISTRIBUTIONS.get(name)
            if dist is None or dist not in deps:
                missing.append(f"{path.relative_to(KIT_ROOT)} imports {name}")
    assert not missing, "not installed by `pip install -e .`: " + "; ".join(missing)


def test_the_templates_are_package_data():
    """A kit installed without -e (Gradescope's image, a wheel) has the files autograder/ reads besides its modules:
    every file of autograder/templates/ matches the package data pyproject.toml declares."""
    import fnmatch

    declared = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text()).get("tool", {}).get("setuptools", {}) \
        .get("package-data", {}).get("autograder", [])
    files = [p.relative_to(KIT_ROOT / "autograder").as_posix() for p in sorted(TEMPLATES.rglob("*")) if p.is_file()]
    assert any(name.endswith(".j2") for name in files) and "templates/README.md" in files, files
    missing = [name for name in files if not any(fnmatch.fnmatch(name, pattern) for pattern in declared)]
    assert not missing, f"not installed with the kit (add them to [tool.setuptools.package-data]): {missing}"


def test_the_grading_time_limits_are_installed():
    """The suite's per-test backstop is pytest-timeout's marker: without the plugin a hung test would hang the run."""
    assert "pytest-timeout" in runtime_dependencies()


# ------------------------------------------------------------------------------------------------ the student bundle


def commands_named(markdown: str, known: set[str]) -> set[str]:
    """The commands a README tells its reader to type: the first word of every line of its ```bash blocks, and of
    every inline code span whose first word is a command (one of ``known``)."""
    named = set()
    for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.S):
        for line in block.splitlines():
            for command in re.split(r"&&|\|\||;|\|", line.split("#", 1)[0]):
                if command.split() and command.split()[0] not in SHELL_BUILTINS:
                    named.add(command.split()[0])
    for span in re.findall(r"`([^`\n]+)`", markdown):
        words = span.split()
        if len(words) > 1 and words[0] in known:
            named.add(words[0])
    return named


def console_scripts(requirements: list[str]) -> set[str]:
    """The console commands installed by ``requirements`` and everything they require (installed here), by name."""
    seen, todo, scripts = set(), [re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0] for r in requirements], set()
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        scripts |= {ep.name for ep in dist.entry_points if ep.group == "console_scripts"}
        todo += [re.split(r"[<>=!~\[ ;(]", r, maxsplit=1)[0] for r in dist.requires or [] if "extra ==" not in r]
    return scripts


def test_bundle_setup_installs_every_command_its_readme_names():
    """The bundle's README installs one extra (pip install -e ".[EXTRA]"); every command it names comes from the
    virtual environment (python, pip), the kit's own scripts, or that extra ("tox: command not found" otherwise)."""
    project = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["project"]
    readme = (TEMPLATES / "README.md").read_text()
    extras = re.findall(r'pip install -e "\.\[(\w+)\]"', readme)
    assert len(extras) == 1 and extras[0] in project["optional-dependencies"], extras
    provided = {"python", "pip"} | set(project["scripts"]) | console_scripts(project["optional-dependencies"][extras[0]])
    known = {ep.name for ep in metadata.entry_points(group="console_scripts")} | provided
    named = commands_named(readme, known)
    assert {"tox", "autograder", "course"} <= named, f"the README's commands were not found: {named}"
    assert named <= provided, f"the bundle's README names {sorted(named - provided)}, which its set-up does not install"


def test_one_torch_pin():
    """The torch pin is named once (course/versions.py): the generated files take it from there, and the files read
    before anything is installed (the README, tox.ini, .ci/run, pyproject.toml, the guides) spell the same one."""
    from course import versions

    literal = ["README.md", "tox.ini", ".ci/run", "pyproject.toml", "docs/instructor-guide.md", "docs/batch-grading.md"]
    found = {}
    for rel in literal:
        for pin in re.findall(r"torch==([0-9][\w.+]*)", (KIT_ROOT / rel).read_text()):
            found.setdefault(pin.rstrip("."), []).append(rel)
    assert set(found) == {versions.TORCH}, f"the torch pin is {versions.TORCH} (course/versions.py), but: {found}"
    assert {"README.md", "tox.ini", ".ci/run"} <= set(found[versions.TORCH])
    spelled = [p.relative_to(KIT_ROOT).as_posix() for folder in ("autograder", "course") for p in
               sorted((KIT_ROOT / folder).rglob("*")) if p.is_file() and p.suffix != ".pyc"
               and p.name != "versions.py" and versions.TORCH in p.read_text(errors="replace")]
    assert not spelled, f"write {{{{ torch_version }}}} (course/versions.py) instead of the version in {spelled}"
