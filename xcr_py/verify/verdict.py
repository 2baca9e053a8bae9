"""What `xcr verify` concludes: an ordered list of steps, each passed or failed, with its numbers.

Every number carries its unit, where it came from (``source``) and how it was obtained
(``method``): ``recomputed`` (derived here from bytes or factors with :mod:`xcr_py.units`),
``on-chain`` (read from a contract), ``stated`` (as written in a document or label, and compared
with a recomputed or on-chain twin), or a receipt factor's own method (``measured``,
``estimated``, ``dataset``, ``declared``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Number", "Step", "Verdict"]

Result = Literal["pass", "fail"]


@dataclass(frozen=True)
class Number:
    """One figure a step used: value, unit, source and method."""

    name: str
    value: int | str
    unit: str
    source: str
    method: str


@dataclass(frozen=True)
class Step:
    """One verification step: its name, result, a one-line explanation and its numbers."""

    name: str
    title: str
    result: Result
    details: str
    numbers: tuple[Number, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the step passed."""
        return self.result == "pass"


@dataclass(frozen=True)
class Verdict:
    """All steps run for one file, in order; verification stops at the first failing step.

    Attributes:
        path: the file verified.
        mode: ``"single"`` or ``"batch"`` once the token was read, else ``None``.
        steps: the steps that ran.
    """

    path: str
    mode: str | None
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when every step passed and at least the on-chain retirement was reached."""
        return bool(self.steps) and all(s.ok for s in self.steps) and any(
            s.name == "retirement" for s in self.steps)

    @property
    def failed_step(self) -> Step | None:
        """The first failing step, if any."""
        return next((s for s in self.steps if not s.ok), None)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (what ``xcr verify --json`` prints)."""
        failed = self.failed_step
        return {
            "schema": "xcr.verdict/1",
            "path": self.path,
            "ok": self.ok,
            "mode": self.mode,
            "failed_step": failed.name if failed else None,
            "steps": [
                {**{k: v for k, v in asdict(s).items() if k != "numbers"},
                 "numbers": [asdict(n) for n in s.numbers]}
                for s in self.steps
            ],
        }
