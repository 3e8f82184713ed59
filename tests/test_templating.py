"""The generated pages, scripts and configurations (autograder/templates/*.j2): values are escaped in HTML and
quoted in scripts and configurations, so a student's id or text never becomes markup or code."""

from __future__ import annotations

import shlex

import pytest

from autograder.batch import outputs
from autograder.batch.store import Record
from autograder.templating import TEMPLATES, environment, render

HOSTILE = "<script>alert('x')</script> & \"quoted\"; $(rm -rf ~) `id`\n"


def test_html_templates_and_only_they_autoescape():
    names = {p.name for p in TEMPLATES.glob("*.j2")}
    assert {"report.html.j2", "feedback.html.j2", "setup.sh.j2", "run_autograder.j2", "nbgrader_config.py.j2"} <= names
    for name in names:
        assert environment().autoescape(name) == name.endswith(".html.j2"), name


def test_feedback_pages_escape_the_students_text(tmp_path):
    record = Record("eve<b>", "d", "g", "unusable", HOSTILE, None, 0.0)
    paths = outputs.write_feedback(tmp_path, record)
    page = next(p for p in paths if p.suffix == ".html").read_text()
    assert "<script>" not in page and "<b>" not in page and "&lt;script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")


def test_scripts_quote_every_value():
    values = {"venv": "/v env", "pip": HOSTILE, "python": "/p", "kit": "/k; rm -rf /", "root": "/r",
              "torch": "torch==2.13.0", "torch_index": "https://example.org/whl/cpu"}
    setup = render("setup.sh.j2", **values)
    assert f"python3 -m venv {shlex.quote('/v env')}\n" in setup
    assert f"install -q {shlex.quote('/k; rm -rf /')}\n" in setup and f"{shlex.quote(HOSTILE)} install" in setup
    assert "torch==2.13.0 --index-url https://example.org/whl/cpu" in setup  # plain words stay unquoted
    run = render("run_autograder.j2", **values)
    assert shlex.split(run.splitlines()[2]) == ["cd", "/k; rm -rf /"]


def test_the_nbgrader_config_is_python_literals():
    values = {"course_id": "c'ourse", "exclude": {"project1": ["models.py"]}, "sandbox": "require",
              "cell_timeout": 60, "notebook_timeout": 300.0, "memory": HOSTILE}
    text = render("nbgrader_config.py.j2", **values)

    class Config:  # what nbgrader's get_config() returns: attributes made on first use
        def __getattr__(self, name):
            value = Config()
            setattr(self, name, value)
            return value

    config = Config()
    exec(compile(text, "nbgrader_config.py", "exec"), {"get_config": lambda: config})  # noqa: S102 - our own output
    assert config.CourseDirectory.course_id == "c'ourse" and config.SandboxedExecute.memory == HOSTILE
    assert config.Autograde.exclude_overwriting == {"project1": ["models.py"]}
    assert config.SandboxedExecute.timeout == 60 and config.SandboxedExecute.notebook_timeout == 300.0


def test_an_undefined_value_is_an_error():
    jinja2 = pytest.importorskip("jinja2")
    with pytest.raises(jinja2.UndefinedError):
        render("run_autograder.j2", kit="/k")
