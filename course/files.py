"""Writing files so that a reader never sees half of one: every write goes to a temporary file in the target's
folder, then replaces the target in one rename. Files are readable by the group and others (``0o644`` less
the umask), since course teams share reports and results."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, data: bytes | str, *, mode: int = 0o644) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; folders are created. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | os.PathLike, value, *, indent: int = 2) -> Path:
    """``value`` as JSON at ``path``, atomically."""
    return atomic_write(path, json.dumps(value, indent=indent) + "\n")
