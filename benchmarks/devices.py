"""The devices every benchmark case runs on: CPU, and CUDA where PyTorch sees a GPU (skipped otherwise)."""

from __future__ import annotations

import pytest
import torch

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (PyTorch sees none here)")
DEVICES = [pytest.param("cpu", id="cpu"), pytest.param("cuda", id="cuda", marks=[pytest.mark.cuda, CUDA])]


def sync(device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously); nothing to wait for on CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
