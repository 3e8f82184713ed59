"""What the kit's packages import at load time is installed by `pip install -e .`, without the dev extras:
students run `autograder check` and `tox` from the bundle, which installs the kit alone."""

import ast
import re
import sys

import pytest

from course.submission import KIT_ROOT

tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11

# import name -> distribution name, for the third-party packages the kit may use at run time
DISTRIBUTIONS = {"torch": "torch", "numpy": "numpy", "mlxtend": "mlxtend", "matplotlib": "matplotlib", "tqdm": "tqdm",
                 "pytest": "pytest", "_pytest": "pytest", "pytest_benchmark": "pytest-benchmark"}
LOCAL = {"course", "autograder"}


def runtime_dependencies() -> set[str]:
    project = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}


def module_level_imports(path):
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_module_level_imports_are_runtime_dependencies():
    deps = runtime_dependencies()
    missing = []
    for path in sorted((KIT_ROOT / "course").rglob("*.py")) + sorted((KIT_ROOT / "autograder").rglob("*.py")):
        for name in module_level_imports(path):
            if name in sys.stdlib_module_names or name in LOCAL:
                continue
            dist = DISTRIBUTIONS.get(name)
            if dist is None or dist not in deps:
                missing.append(f"{path.relative_to(KIT_ROOT)} imports {name}")
    assert not missing, "not installed by `pip install -e .`: " + "; ".join(missing)


def test_the_grading_time_limits_are_installed():
    """The suite's per-test backstop is pytest-timeout's marker: without the plugin a hung test would hang the run."""
    assert "pytest-timeout" in runtime_dependencies()
