"""Shared fixtures of the kit's tests."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny matrices: one CPU thread is fastest and immune to a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
