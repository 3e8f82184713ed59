"""The messages between judge and worker: plain data (tensors, numbers, strings, lists, dicts) serialised with
``torch.save`` and read back with ``torch.load(weights_only=True)``, which refuses any object that could run code
in the reader."""

from __future__ import annotations

import io


def encode(obj) -> bytes:
    import torch  # imported on first use: a command that grades nothing (a rerun) does not pay for torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def decode(data: bytes):
    import torch

    return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
