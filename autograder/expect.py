"""What the grading tests expect, and how they say it when it is not so. Each failure states what was checked,
what was expected, what came back and the likely cause — the words a student reads at 2 a.m. — as a
:class:`GradingFailure`. These run in the judge, on plain tensors the worker sent back."""

from __future__ import annotations

import torch


class GradingFailure(AssertionError):
    """A check that failed: ``what`` was checked; ``expected``/``received``; the ``cause`` to look for."""

    def __init__(self, what: str, *, expected="", received="", cause: str = "", detail: str = ""):
        self.what, self.expected, self.received, self.cause, self.detail = what, expected, received, cause, detail
        super().__init__(self.render())

    def render(self) -> str:
        lines = [self.what]
        if self.expected != "" or self.received != "":
            lines += [f"  expected: {self.expected}", f"  received: {self.received}"]
        if self.detail:
            lines.append(f"  {self.detail}")
        if self.cause:
            lines.append(f"  likely cause: {self.cause}")
        return "\n".join(lines)


def rel_error(received: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """CS231n's element-wise relative error ``|a − b| / max(1e-8, |a| + |b|)``."""
    return (received - expected).abs() / (received.abs() + expected.abs()).clamp_min(1e-8)


def _fmt(x) -> str:
    if isinstance(x, torch.Tensor) and x.numel() == 1:
        return f"{x.item():.6g}"
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def expect_tensor(what: str, received, *, shape=None, cause: str = "") -> torch.Tensor:
    """``received`` must be a tensor (of ``shape`` when given)."""
    if not isinstance(received, torch.Tensor):
        kind = received.get("not_a_tensor") if isinstance(received, dict) else type(received).__name__
        raise GradingFailure(what, expected=f"a tensor{'' if shape is None else f' of shape {tuple(shape)}'}",
                             received=f"{kind} {received.get('repr', '') if isinstance(received, dict) else ''}".strip(),
                             cause=cause or "the method returns nothing (a missing `return`?) or the wrong object")
    if shape is not None and tuple(received.shape) != tuple(shape):
        transposed = len(shape) == 2 and tuple(received.shape) == tuple(shape)[::-1]
        raise GradingFailure(what, expected=f"shape {tuple(shape)}", received=f"shape {tuple(received.shape)}",
                             cause=cause or ("a transposed matrix: check which side the weight multiplies"
                                             if transposed else "a sum over the wrong dimension or a missing "
                                             "broadcast"))
    return received


def expect_close(what: str, received, expected: torch.Tensor, *, tol: float = 1e-5, cause: str = "") -> None:
    """Tensors equal up to relative error ``tol`` (CS231n style); the message names the worst index."""
    expected = expected.detach()
    received = expect_tensor(what, received, shape=expected.shape, cause="")
    received = received.to(expected.dtype)
    if not torch.isfinite(received).all():
        bad = tuple(int(i) for i in torch.nonzero(~torch.isfinite(received))[0])
        raise GradingFailure(what, expected="finite values", received=f"{received[bad].item()} at index {bad}",
                             cause="a division by zero, an exp that overflows, or a diverging update")
    if expected.numel() == 0:
        return
    errors = rel_error(received, expected)
    worst = int(errors.argmax())
    err = float(errors.flatten()[worst])
    if err > tol:
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), expected.shape)) if expected.dim() else ()
        raise GradingFailure(
            what, expected=f"{_fmt(expected.flatten()[worst])} at index {index}",
            received=_fmt(received.flatten()[worst]),
            detail=f"relative error {err:.2e} (worst over {expected.numel()} values; tolerance {tol:.0e})",
            cause=cause)


def require(condition: bool, what: str, *, expected="", received="", cause: str = "") -> None:
    if not condition:
        raise GradingFailure(what, expected=expected, received=received, cause=cause)


def randn(*shape, seed: int, dtype=torch.float64) -> torch.Tensor:
    """Judge-side random data, reproducible and independent of the global RNG."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
