"""The kit's generated pages, scripts and configurations, rendered from Jinja2 templates in ``autograder/templates/``
(the ``*.j2`` files; the other files there are the student bundle's, copied as they are).

HTML templates (``*.html.j2``) escape every value (autoescaping): a student's id, a file name or a feedback text
never becomes markup. Scripts and configurations are not HTML: there, every value goes through a filter that quotes
it for its language — ``|shell`` (:func:`shlex.quote`) in shell scripts, ``|py`` (:func:`repr`, a Python literal) in
Python configurations. An undefined value is an error, never an empty string.
"""

from __future__ import annotations

import shlex
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=lambda name: (name or "").endswith(".html.j2"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["shell"] = lambda value: shlex.quote(str(value))
    env.filters["py"] = repr
    return env


def render(name: str, **values) -> str:
    """The text of template ``name`` (``autograder/templates/<name>``) with ``values``."""
    return environment().get_template(name).render(**values)
