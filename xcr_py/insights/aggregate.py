"""Energy and gross emissions per asset, grouped by model and by settings.

Pure functions over :class:`~xcr_py.receipt.Receipt` objects. The receipt has no place for
generation parameters, so resolution, steps and duration come separately, keyed by asset CID
(the tracker keeps them in its outbox rows as ``params``). Arithmetic is exact
(:class:`~fractions.Fraction`); figures leave as JSON numbers with their unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from xcr_py.meter.window import BENCHMARK_METHOD, BENCHMARK_SOURCE
from xcr_py.receipt import Receipt

__all__ = ["AssetFacts", "Group", "asset_facts", "group_by", "output_size", "settings_of"]


def _num(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def output_size(media_type: str, params: Mapping[str, Any]) -> str:
    """The output size an asset is compared on: ``WxH`` for images, seconds for audio/video."""
    width, height = _num(params.get("width")), _num(params.get("height"))
    if width is not None and height is not None:
        size = f"{width:g}x{height:g}"
        duration = _num(params.get("duration_s"))
        return f"{size} {duration:g}s" if duration is not None else size
    duration = _num(params.get("duration_s"))
    if duration is not None:
        return f"{duration:g}s"
    return "unknown"


def settings_of(params: Mapping[str, Any]) -> str:
    """A compact settings label: resolution and steps when present (``1024x1024, 30 steps``)."""
    parts = []
    width, height = _num(params.get("width")), _num(params.get("height"))
    if width is not None and height is not None:
        parts.append(f"{width:g}x{height:g}")
    steps = _num(params.get("steps"))
    if steps is not None:
        parts.append(f"{steps:g} steps")
    duration = _num(params.get("duration_s"))
    if duration is not None:
        parts.append(f"{duration:g} s")
    return ", ".join(parts) or "not declared"


@dataclass(frozen=True)
class AssetFacts:
    """What insights need from one receipt (and its declared parameters).

    Units: ``energy_mj`` mJ, ``gross_mg`` mg CO2e (the receipt's exact on-chain integers).
    """

    cid: str
    model: str
    task: str
    size: str
    settings: str
    energy_mj: int
    gross_mg: int
    energy_method: str
    sources: tuple[str, ...]

    @property
    def published_benchmark(self) -> bool:
        """Whether the energy came from the cloud table (see :mod:`xcr_py.cloud`).

        The receipt says so in ``energy.method``; receipts written before that label existed
        are recognised by their ``gpu:cloud`` device source.
        """
        if self.energy_method == BENCHMARK_METHOD:
            return True
        return any(s.startswith("gpu:cloud") or s.endswith(f":{BENCHMARK_SOURCE}")
                   for s in self.sources)


def asset_facts(receipt: Receipt, params: Mapping[str, Any] | None = None) -> AssetFacts:
    """Extract :class:`AssetFacts`; the task is the media type's top level (``image``)."""
    params = params or {}
    media = receipt.asset.media_type
    return AssetFacts(cid=receipt.asset.cid, model=receipt.asset.model,
                      task=media.split("/", 1)[0], size=output_size(media, params),
                      settings=settings_of(params), energy_mj=receipt.emissions.energy_mj,
                      gross_mg=receipt.emissions.gross_mg,
                      energy_method=receipt.energy.method, sources=receipt.energy.sources)


@dataclass(frozen=True)
class Group:
    """Assets sharing a key (a model, or a model and its settings). Exact sums."""

    key: tuple[str, ...]
    assets: int
    energy_mj: int
    gross_mg: int
    estimated_assets: int

    @property
    def energy_j_per_asset(self) -> Fraction:
        """Mean energy per asset. Units: J."""
        return Fraction(self.energy_mj, 1000 * self.assets)

    @property
    def gross_g_per_asset(self) -> Fraction:
        """Mean gross emissions per asset. Units: gCO2e."""
        return Fraction(self.gross_mg, 1000 * self.assets)

    @property
    def method(self) -> str:
        """``measured``, ``estimated``, or ``measured and estimated`` (by asset energy)."""
        if self.estimated_assets == 0:
            return "measured"
        return "estimated" if self.estimated_assets == self.assets else \
            "measured and estimated"

    def to_dict(self, names: Sequence[str]) -> dict[str, Any]:
        """JSON-ready, every figure with its unit, source and method."""
        src = {"source": "campaign receipts", "method": self.method}
        return {
            **dict(zip(names, self.key, strict=True)),
            "assets": self.assets,
            "energy": {"value": self.energy_mj / 1000, "unit": "J", **src},
            "energy_per_asset": {"value": float(self.energy_j_per_asset), "unit": "J", **src},
            "gross": {"value": self.gross_mg / 1000, "unit": "gCO2e", **src},
            "gross_per_asset": {"value": float(self.gross_g_per_asset), "unit": "gCO2e", **src},
            "estimated_assets": self.estimated_assets,
        }


def group_by(facts: Iterable[AssetFacts], *fields: str) -> list[Group]:
    """Groups of ``facts`` keyed by the named :class:`AssetFacts` fields, sorted by key."""
    acc: dict[tuple[str, ...], list[int]] = {}
    for f in facts:
        key = tuple(str(getattr(f, name)) for name in fields)
        row = acc.setdefault(key, [0, 0, 0, 0])
        row[0] += 1
        row[1] += f.energy_mj
        row[2] += f.gross_mg
        row[3] += f.energy_method != "measured"
    return [Group(k, *v) for k, v in sorted(acc.items())]
