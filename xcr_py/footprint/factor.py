"""A :class:`Factor` is a number that can leave the process: value, unit, source, method, interval.

Values are kept as :class:`~decimal.Decimal` (floats are converted through their shortest
``repr``, so ``1.56`` stays 1.56, never 1.5600000000000001). Conversions to the on-chain integer
units live here, in one place, and round as :mod:`xcr_py.units` does: up for the value and the
upper bound, down for the lower bound, so rounding can only widen an interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal

from xcr_py.errors import InputError

__all__ = [
    "FACTOR_METHODS",
    "Factor",
    "FactorMethod",
    "Number",
    "ceil_scaled",
    "floor_scaled",
    "to_decimal",
]

FactorMethod = Literal["measured", "estimated", "dataset", "declared"]
FACTOR_METHODS: tuple[str, ...] = ("measured", "estimated", "dataset", "declared")
Number = int | float | str | Decimal | Fraction


def to_decimal(value: Number, field_name: str = "value") -> Decimal:
    """Convert to Decimal exactly (floats via ``repr``); raise :class:`InputError` if not finite."""
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        if isinstance(value, Fraction):
            result = Decimal(value.numerator) / Decimal(value.denominator)
        elif isinstance(value, float):
            result = Decimal(repr(value))
        else:
            result = Decimal(value)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise InputError(field_name, f"must be a number, got {value!r}") from exc
    if not result.is_finite():
        raise InputError(field_name, f"must be finite, got {value!r}")
    return result


def ceil_scaled(value: Decimal | Fraction, scale: int) -> int:
    """``ceil(value x scale)`` exactly."""
    if isinstance(value, Fraction):
        return -(-(value.numerator * scale) // value.denominator)
    return int((value * scale).to_integral_value(rounding=ROUND_CEILING))


def floor_scaled(value: Decimal | Fraction, scale: int) -> int:
    """``floor(value x scale)`` exactly."""
    if isinstance(value, Fraction):
        return (value.numerator * scale) // value.denominator
    return int((value * scale).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True, init=False)
class Factor:
    """One input or output of the calculation.

    Args:
        value: the central value, in ``unit``.
        unit: e.g. ``"J"``, ``"kWh"``, ``"gCO2e/kWh"``, ``"ratio"``, ``"kgCO2e"``, ``"h"``.
        source: where the number comes from (dataset and year, device counter, a person).
        method: ``measured`` / ``estimated`` / ``dataset`` / ``declared``.
        interval: ``(low, high)`` in ``unit``; defaults to the value itself (no stated spread).
        note: optional remark shown by ``xcr explain``.

    Raises:
        InputError: unknown method, empty unit or source, negative value, or an interval that
            does not contain the value.
    """

    value: Decimal
    unit: str
    source: str
    method: FactorMethod
    interval: tuple[Decimal, Decimal]
    note: str = field(compare=False)

    def __init__(self, value: Number, unit: str, source: str, method: FactorMethod,
                 interval: tuple[Number, Number] | None = None, note: str = "") -> None:
        v = to_decimal(value, "factor.value")
        if not unit:
            raise InputError("factor.unit", "must not be empty")
        if not source:
            raise InputError("factor.source", f"must say where the {unit} value comes from")
        if method not in FACTOR_METHODS:
            raise InputError("factor.method", f"must be one of {FACTOR_METHODS}, got {method!r}")
        if v < 0:
            raise InputError("factor.value", f"must be >= 0 {unit}, got {v}")
        low, high = interval if interval is not None else (v, v)
        low_d, high_d = to_decimal(low, "factor.interval"), to_decimal(high, "factor.interval")
        if not 0 <= low_d <= v <= high_d:
            raise InputError("factor.interval", f"must satisfy 0 <= low <= value <= high, got "
                             f"[{low_d}, {high_d}] for {v} {unit}")
        for name, item in (("value", v), ("unit", unit), ("source", source),
                           ("method", method), ("interval", (low_d, high_d)), ("note", note)):
            object.__setattr__(self, name, item)

    @property
    def low(self) -> Decimal:
        """Lower bound, in ``unit``."""
        return self.interval[0]

    @property
    def high(self) -> Decimal:
        """Upper bound, in ``unit``."""
        return self.interval[1]

    @classmethod
    def relative(cls, value: Number, unit: str, source: str, method: FactorMethod,
                 spread: Number, note: str = "") -> Factor:
        """A factor with a symmetric relative interval, e.g. ``spread=0.05`` for +/-5 %."""
        v = to_decimal(value)
        s = to_decimal(spread, "spread")
        if not 0 <= s <= 1:
            raise InputError("spread", f"must be in [0, 1], got {s}")
        return cls(v, unit, source, method, (v * (1 - s), v * (1 + s)), note)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: numbers as JSON numbers, with unit, source, method and interval."""
        return {
            "value": _num(self.value),
            "unit": self.unit,
            "source": self.source,
            "method": self.method,
            "interval": [_num(self.low), _num(self.high)],
            **({"note": self.note} if self.note else {}),
        }


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
