"""The versions the kit pins, named once.

``TORCH`` is the torch the course machines, CI, tox and Gradescope install (the CPU wheel: a looser requirement can
pull several GB of CUDA packages). Generated files take it from here: the student bundle's ``README.md`` and
``tox.ini`` (``autograder release --bundle``) and Gradescope's ``setup.sh`` hold the placeholder
``{{ torch_version }}``, filled by :func:`render`. The kit's own ``README.md``, ``tox.ini``, ``.ci/run`` and
``pyproject.toml`` spell it out (they are read before anything is installed); a kit test checks they agree.
"""

from __future__ import annotations

TORCH = "2.13.0"
PLACEHOLDERS = {"{{ torch_version }}": TORCH}


def render(text: str) -> str:
    """``text`` with every pin placeholder (``{{ torch_version }}``) replaced by its version."""
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return text
