"""The worker: the only process that imports and runs a student's code (see :mod:`autograder.sandbox`).

``python -m autograder.sandbox.worker FD ROOT PROJECT`` serves probe calls on the socket ``FD`` until it closes.
Each reply is ``{"status": "ok", "value": ...}`` or ``{"status": "error", "kind": ..., "message": ...,
"where": ..., "details": ...}``; ``kind`` is ``not_implemented`` for a stub that is still
``raise NotImplementedError``, ``import`` for a file that does not import, ``exception`` otherwise.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

from autograder.sandbox.wire import decode, encode


class Context:
    """What a probe gets: the student's modules of one project, loaded on demand."""

    def __init__(self, root: str, project: str):
        self.root, self.project = root, project

    def module(self, name: str):
        from course.submission import load_module

        return load_module(self.root, self.project, name)


def _error(exc: BaseException, folder: Path) -> dict:
    from course.errors import SubmissionError
    from course.submission import student_frames

    frames = student_frames(exc, folder)
    where = ""
    if frames:
        f = frames[-1]
        where = f"{Path(f.filename).name}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}"
    if isinstance(exc, SubmissionError):
        return {"status": "error", "kind": "import", "message": str(exc), "where": where, "details": ""}
    if isinstance(exc, NotImplementedError):
        return {"status": "error", "kind": "not_implemented", "message": "not implemented yet",
                "where": where, "details": ""}
    details = "".join(traceback.format_list(frames)) if frames else ""
    message = f"{type(exc).__name__}: {exc}"
    return {"status": "error", "kind": "exception", "message": message[:2000], "where": where,
            "details": details[-4000:]}


def serve(conn: Connection, root: str, project: str) -> None:
    import torch

    probes = importlib.import_module(f"autograder.sandbox.probes.{project}")
    context = Context(root, project)
    folder = (Path(root) / project).resolve()
    while True:
        try:
            request = decode(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            # a probe module declares whether its probes run with autograd (project 2's framework: never)
            with torch.set_grad_enabled(probes.AUTOGRAD):
                value = getattr(probes, request["probe"])(context, **request["kwargs"])
            reply = {"status": "ok", "value": value}
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the judge
            if isinstance(exc, KeyboardInterrupt):
                raise
            reply = _error(exc, folder)
        try:
            payload = encode(reply)
        except Exception as exc:  # noqa: BLE001
            payload = encode({"status": "error", "kind": "invalid",
                              "message": f"the result could not be sent back: {type(exc).__name__}: {exc}"})
        conn.send_bytes(payload)


def main(argv=None) -> None:
    fd, root, project = (argv or sys.argv[1:])[:3]
    sys.path.insert(0, str(Path(root) / project))
    serve(Connection(int(fd)), root, project)


if __name__ == "__main__":
    main()
