"""Exact integer splitting: one measured window for N assets, divided by declared weights.

Short generations are below the NVML counter's ~100 ms resolution; meter them as one batch
window and split it here by weights such as ``pixels x denoising steps``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from xcr_py.errors import InputError
from xcr_py.meter.window import DeviceEnergy, EnergyWindow

__all__ = ["split_batch", "split_exact"]


def _check_weights(weights: Sequence[int], field: str) -> None:
    if not weights:
        raise InputError(field, "must list at least one weight")
    for i, w in enumerate(weights):
        if isinstance(w, bool) or not isinstance(w, int) or w <= 0:
            raise InputError(f"{field}[{i}]", f"must be an integer > 0, got {w!r}")


def split_exact(total: int, weights: Sequence[int]) -> list[int]:
    """Split the integer ``total`` in proportion to ``weights``; the parts sum to ``total``.

    Largest-remainder method: every part is ``floor(total x w / W)`` or one more; the leftover
    units go to the largest remainders, ties to the earlier index (deterministic).
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise InputError("total", f"must be an integer >= 0, got {total!r}")
    _check_weights(weights, "weights")
    whole = sum(weights)
    parts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    leftover = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        parts[i] += 1
    return parts


def split_batch(
    window: EnergyWindow,
    weights: Sequence[int] | Mapping[str, int],
) -> list[EnergyWindow]:
    """Divide one window among N assets by declared integer weights.

    ``weights`` is a list (parts are keyed ``"<key>#<i>"``) or a mapping from asset key to weight.
    For every device the attributed millijoules are split exactly (parts sum to the total);
    the lower bound is split rounding down and the upper bound rounding up, so each part's
    interval still contains its value. The parts keep the batch's method and sources.
    """
    if isinstance(weights, Mapping):
        keys = [str(k) for k in weights]
        values = list(weights.values())
    else:
        values = list(weights)
        keys = [f"{window.key}#{i}" for i in range(len(values))]
    _check_weights(values, "weights")
    whole = sum(values)
    per_device = [split_exact(d.energy_mj, values) for d in window.devices]
    per_span = [split_exact(d.span_energy_mj, values) for d in window.devices]
    parts: list[EnergyWindow] = []
    for i, (key, weight) in enumerate(zip(keys, values, strict=True)):
        devices = tuple(
            replace(
                d,
                energy_mj=per_device[j][i],
                span_energy_mj=per_span[j][i],
                low_mj=d.low_mj * weight // whole,
                high_mj=-(-d.high_mj * weight // whole),
            )
            for j, d in enumerate(window.devices)
        )
        parts.append(_part(window, key, weight, devices, i, len(values), whole))
    return parts


def _part(window: EnergyWindow, key: str, weight: int, devices: tuple[DeviceEnergy, ...],
          index: int, count: int, whole: int) -> EnergyWindow:
    note = (f"split {index + 1} of {count} from batch {window.key!r} by declared weight "
            f"{weight}/{whole}")
    return EnergyWindow(key=key, started_at=window.started_at, duration_s=window.duration_s,
                        devices=devices, weight=weight, notes=(*window.notes, note))
