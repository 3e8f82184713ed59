"""The messages between judge and worker: plain data (tensors, numbers, strings, lists, dicts) serialised with
``torch.save`` and read back with ``torch.load(weights_only=True)``, which refuses any object that could run code
in the reader.

Framing is that of ``multiprocessing.connection.Connection`` (a 4-byte signed length, or -1 and an 8-byte one, then
the bytes), which the worker writes with. The judge reads its worker's replies with :func:`receive`: the length is
checked against a cap before a byte of the frame is read, and the whole frame must arrive before a deadline,
however slowly its bytes trickle — the worker runs student code, which can write anything on its socket.
"""

from __future__ import annotations

import io
import select
import socket
import struct
import time


class FrameTooLarge(Exception):
    """The frame announces more bytes than the reader accepts (``size``)."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


class Deadline(Exception):
    """The frame did not arrive in full before the deadline."""


def encode(obj) -> bytes:
    import torch  # imported on first use: a command that grades nothing (a rerun) does not pay for torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def decode(data: bytes):
    import torch

    return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")


def _read(sock: socket.socket, n: int, deadline: float) -> bytes:
    """Exactly ``n`` bytes, read in chunks as they come; Deadline at ``deadline``, EOFError when the peer closes."""
    chunks, left = [], n
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise Deadline
        ready, _, _ = select.select([sock], [], [], wait)
        if not ready:
            raise Deadline
        try:
            chunk = sock.recv(min(left, 1 << 20), socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket, deadline: float, cap: int) -> bytes:
    """One frame's bytes; FrameTooLarge past ``cap`` (nothing of the frame read), Deadline, EOFError."""
    size, = struct.unpack("!i", _read(sock, 4, deadline))
    if size == -1:
        size, = struct.unpack("!Q", _read(sock, 8, deadline))
    if size < 0 or size > cap:
        raise FrameTooLarge(size)
    return _read(sock, size, deadline)


def send(sock: socket.socket, data: bytes, deadline: float) -> None:
    """One frame, written before ``deadline`` (Deadline otherwise: a peer that stops reading cannot hold us)."""
    header = struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else struct.pack("!iQ", -1, len(data))
    for part in (header, data):
        view = memoryview(part)
        while view:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise Deadline
            _, ready, _ = select.select([], [sock], [], wait)
            if not ready:
                raise Deadline
            try:
                view = view[sock.send(view, socket.MSG_DONTWAIT):]
            except BlockingIOError:
                continue
