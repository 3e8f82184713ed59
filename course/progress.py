"""The kit's one progress convention: a tqdm bar when the output is a terminal, plain lines otherwise (a log, a
pipe, a notebook's captured output), so that no file ever fills with carriage returns.

``Progress(total, unit=..., desc=...)``; ``update(note)`` after each step (the note: what that step gave);
``close()`` at the end, or use it as a context manager. ``bar=False`` asks for the plain lines even on a terminal;
``lines=False`` prints nothing when there is no bar (for steps too small to deserve a line each).
"""

from __future__ import annotations

import sys
import time


class Progress:
    """A tqdm bar on a terminal (done/total, rate, time left, the last note); one line per step otherwise:
    ``[done/total] desc: note  (rate/min, about N s left)``."""

    def __init__(self, total: int, *, unit: str = "it", desc: str = "", bar: bool = True, lines: bool = True,
                 leave: bool = True, file=None):
        self.total, self.done, self.desc, self.lines = total, 0, desc, lines
        self.file = file if file is not None else sys.stderr
        self.start = time.monotonic()
        self.bar = None
        if bar and total and _is_terminal(self.file):
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc or None, unit=unit, leave=leave, file=self.file,
                            dynamic_ncols=True)

    def update(self, note: str = "") -> None:
        """One more step done; ``note`` says what it gave."""
        self.done += 1
        if self.bar is not None:
            if note:
                self.bar.set_postfix_str(note[:60], refresh=False)
            self.bar.update(1)
            return
        if not self.lines:
            return
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed * 60 if elapsed else 0.0
        left = (self.total - self.done) / (self.done / elapsed) if self.done and elapsed else 0.0
        label = ": ".join(part for part in (self.desc, note) if part)
        print(f"[{self.done}/{self.total}] {label}  ({rate:.1f}/min, about {left:.0f} s left)", file=self.file,
              flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_terminal(file) -> bool:
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False
