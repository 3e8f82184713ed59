"""Shared fixtures of the kit's tests, and the one rule for tests that need the sandbox.

A test that needs bubblewrap calls :func:`sandbox_or_skip` (or uses the ``sandbox`` fixture, or
:func:`sandbox_args` for a command line): where bubblewrap cannot run it is skipped, or graded with
``--no-sandbox`` — except under ``KIT_REQUIRE_SANDBOX=1`` (``.ci/run`` sets it), where it fails instead, so that a
CI run cannot pass without any sandbox coverage.
"""

import os

import pytest
import torch

from autograder import rubric
from autograder.sandbox import isolation

REQUIRE_SANDBOX = "KIT_REQUIRE_SANDBOX"


def _no_sandbox(why: str) -> None:
    """Fail under KIT_REQUIRE_SANDBOX=1; return otherwise (the caller skips or falls back)."""
    if os.environ.get(REQUIRE_SANDBOX) == "1":
        pytest.fail(f"{REQUIRE_SANDBOX}=1 but the sandbox cannot run here: {why}", pytrace=False)


def sandbox_or_skip() -> str:
    """The path of a bwrap that runs here; else skip the test (fail it under KIT_REQUIRE_SANDBOX=1)."""
    bwrap, why = isolation.probe()
    if bwrap is None:
        _no_sandbox(why)
        pytest.skip(f"no sandbox here: {why}")
    return bwrap


def sandbox_args() -> list[str]:
    """``[]`` where bubblewrap runs, else ``["--no-sandbox"]`` for a grading command line (a failure under
    KIT_REQUIRE_SANDBOX=1: called at a test module's import, it fails that module's collection)."""
    bwrap, why = isolation.probe()
    if bwrap is None:
        _no_sandbox(why)
        return ["--no-sandbox"]
    return []


def points_of(pattern: str) -> float:
    """The points of the tasks ``pattern`` selects (``rubric.select``: ids or prefixes, bonus tasks included), so
    that an expected score follows the rubric instead of restating its arithmetic."""
    return sum(task.points for task in rubric.select(pattern))


@pytest.fixture
def sandbox() -> str:
    """bwrap's path, for a test that needs the sandbox (see :func:`sandbox_or_skip`)."""
    return sandbox_or_skip()


@pytest.fixture
def one_thread():
    """Tiny matrices: one CPU thread is fastest and immune to a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
