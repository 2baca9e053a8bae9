"""Receipt bytes for a stream of receipts, without one pydantic model per receipt.

A tracker writes thousands of receipts that differ only in their asset, energy, emissions and
time; their ``factors``, ``oracle`` and ``removal.credit`` parts are the same validated objects
from one receipt to the next. :class:`ReceiptWriter` checks the per-receipt values directly
(the limits the models in :mod:`xcr_py.receipt.model` state), derives the integers with the
same :mod:`xcr_py.units` arithmetic as :func:`~xcr_py.receipt.build.build_receipt`, and splices
in each shared part's canonical bytes, encoded once.

It only takes this fast path for plain values it can check exactly: floats where the schema
has floats, a raw-block CID that matches ``sha256``, ASCII sources, a known asset/schedule
metadata combination (validated by the models the first time it is seen). Anything else goes
through ``build_receipt`` and ``receipt_bytes``, so the bytes, and the error for a bad value,
are always exactly theirs (property-tested in ``tests/receipt/test_writer.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from xcr_py import units
from xcr_py.content.blocks import cid_text
from xcr_py.content.canonical import canonical_json, format_float
from xcr_py.content.unixfs import CHUNK_SIZE, RAW_V1_PREFIX
from xcr_py.receipt.build import build_receipt, receipt_bytes
from xcr_py.receipt.model import (
    Asset,
    CreditIntent,
    Factors,
    OracleInfo,
    Schedule,
    j_to_mj,
    value_to_milli,
)

__all__ = ["ReceiptWriter", "WrittenReceipt"]

_J_PER_KWH = 3_600_000.0
_SHA_HEX = re.compile(r"[0-9a-f]{64}")
_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_ASSET_KEYS = frozenset({"cid", "sha256", "media_type", "bytes", "model", "campaign",
                         "creator"})
_ASSET_META = ("media_type", "model", "campaign", "creator")
_ENERGY_KEYS = frozenset({"gpu_j", "cpu_j", "window_s", "method", "sources", "uncertainty"})
_ENERGY_METHODS = frozenset({"measured", "estimated", "estimated (published benchmark)",
                             "declared"})


@dataclass(frozen=True)
class WrittenReceipt:
    """A receipt's canonical bytes and the on-chain integers inside them (mJ, mg, milli)."""

    data: bytes
    energy_mj: int
    intensity_mg_per_kwh: int
    pue_milli: int
    embodied_mg: int
    gross_mg: int
    required_mg: int


def _plain_float(value: object) -> bool:
    """A float the schema's ``NonNegFloat`` takes as it is (finite, >= 0)."""
    return type(value) is float and math.isfinite(value) and value >= 0


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _num(value: float) -> str:
    """A plain float as canonical_json writes it (ECMAScript's shortest form)."""
    if value == 0:
        return "0"  # -0.0 too
    text = repr(value)
    if "e" in text:
        return format_float(value)
    return text[:-2] if text.endswith(".0") else text


def _contains(low: float, high: float, value: float) -> bool:
    """:meth:`~xcr_py.receipt.model.Interval.contains`, on plain floats."""
    slack = 1e-9 * max(1.0, abs(value))
    return low - slack <= value <= high + slack


class ReceiptWriter:
    """``receipt_bytes(build_receipt(...))`` for many receipts, each shared part encoded once.

    Not thread-safe (one writer per preparing thread).

    Args:
        size: most shared parts and metadata combinations remembered (cleared when full).
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._fragments: dict[int, tuple[BaseModel, str]] = {}
        self._milli: dict[int, tuple[Factors, tuple[int, int, int]]] = {}
        self._meta: dict[tuple[object, ...], tuple[str, str]] = {}
        self._schedules: dict[tuple[object, ...], str] = {}
        self._source_text: dict[tuple[object, ...], str] = {}
        self.fallbacks = 0
        """How many receipts went through ``build_receipt`` instead (diagnostics, tests)."""

    def _remember(self, cache: dict[Any, Any], key: object, value: object) -> None:
        if len(cache) >= self._size:
            cache.clear()
        cache[key] = value

    def _fragment(self, part: BaseModel) -> str:
        hit = self._fragments.get(id(part))
        if hit is not None and hit[0] is part:
            return hit[1]
        text = canonical_json(part.model_dump(mode="json", by_alias=True,
                                              exclude_none=True)).decode()
        self._remember(self._fragments, id(part), (part, text))  # holding it keeps its id
        return text

    def _factor_milli(self, factors: Factors) -> tuple[int, int, int]:
        hit = self._milli.get(id(factors))
        if hit is not None and hit[0] is factors:
            return hit[1]
        milli = (value_to_milli(factors.intensity.value), value_to_milli(factors.pue.value),
                 value_to_milli(factors.embodied.value))
        self._remember(self._milli, id(factors), (factors, milli))
        return milli

    def write(self, *, asset: Mapping[str, Any], energy: Mapping[str, Any], factors: Factors,
              ratio_bps: int, credit: CreditIntent, oracle: OracleInfo, created: datetime,
              schedule: Mapping[str, Any] | None = None) -> WrittenReceipt:
        """The canonical bytes of the receipt ``build_receipt`` makes from the same arguments.

        ``factors``, ``credit`` and ``oracle`` are validated parts (see
        :func:`~xcr_py.receipt.build.validate_part`), shared across receipts.

        Raises:
            ReceiptInvalid: exactly as ``build_receipt`` raises it for the same arguments.
        """
        written = None
        if isinstance(factors, Factors) and isinstance(credit, CreditIntent) \
                and isinstance(oracle, OracleInfo):
            written = self._fast(asset, energy, factors, ratio_bps, credit, oracle, created,
                                 schedule)
        if written is None:
            self.fallbacks += 1
            written = self._slow(asset, energy, factors, ratio_bps, credit, oracle, created,
                                 schedule)
        return written

    @staticmethod
    def _slow(asset: Mapping[str, Any], energy: Mapping[str, Any], factors: Factors,
              ratio_bps: int, credit: CreditIntent, oracle: OracleInfo, created: datetime,
              schedule: Mapping[str, Any] | None) -> WrittenReceipt:
        receipt = build_receipt(asset=asset, energy=energy, factors=factors,
                                ratio_bps=ratio_bps, credit=credit, oracle=oracle,
                                created=created, schedule=schedule)
        e = receipt.emissions
        return WrittenReceipt(receipt_bytes(receipt), e.energy_mj, e.intensity_mg_per_kwh,
                              e.pue_milli, e.embodied_mg, e.gross_mg, receipt.removal.required_mg)

    def _asset(self, asset: Mapping[str, Any]) -> str | None:
        """The ``asset`` part's canonical text, or None to leave it to the models."""
        if type(asset) is not dict or not asset.keys() <= _ASSET_KEYS:
            return None
        cid, sha, size = asset.get("cid"), asset.get("sha256"), asset.get("bytes")
        if type(size) is not int or not 0 <= size <= CHUNK_SIZE or type(sha) is not str \
                or not _SHA_HEX.fullmatch(sha) or type(cid) is not str:
            return None
        # One chunk: the CID is the raw block of sha256 itself (Asset._cid_matches_bytes).
        if cid != cid_text(RAW_V1_PREFIX + bytes.fromhex(sha)):
            return None
        key = tuple(asset.get(name) for name in _ASSET_META)
        if not all(v is None or type(v) is str for v in key):
            return None
        meta = self._meta.get(key)
        if meta is None:
            meta = self._asset_meta(asset)
            if meta is None:
                return None
            self._remember(self._meta, key, meta)
        # Keys in order: bytes, campaign, cid, creator, media_type, model, sha256.
        return f'{{"bytes":{size},{meta[0]}"cid":"{cid}",{meta[1]}"sha256":"{sha}"}}'

    @staticmethod
    def _asset_meta(asset: Mapping[str, Any]) -> tuple[str, str] | None:
        """The metadata members before and after ``cid`` (validated by the Asset model)."""
        try:  # the metadata's limits (pattern, length, checksum) do not depend on the CID
            model = Asset.model_validate(asset)
        except ValidationError:
            return None
        meta = {k: v for k, v in model.model_dump(mode="json", exclude_none=True).items()
                if k in _ASSET_META}
        if not all(_encodes(v) for v in meta.values()):
            return None  # a lone surrogate: receipt_bytes names the field
        encoded = {k: f'"{k}":{canonical_json(v).decode()},' for k, v in meta.items()}
        return encoded.get("campaign", ""), "".join(encoded.get(k, "") for k in
                                                    ("creator", "media_type", "model"))

    def _schedule(self, schedule: Mapping[str, Any]) -> str | None:
        if type(schedule) is not dict or not schedule.keys() <= {"hour", "zone",
                                                                 "intensity_mg_per_kwh"}:
            return None
        key = (schedule.get("hour"), schedule.get("zone"), schedule.get("intensity_mg_per_kwh"))
        if not (type(key[0]) is str and (key[1] is None or type(key[1]) is str)
                and type(key[2]) is int):
            return None
        text = self._schedules.get(key)
        if text is None:
            try:
                model = Schedule.model_validate(schedule)
            except ValidationError:
                return None
            text = canonical_json(model.model_dump(mode="json", exclude_none=True)).decode()
            self._remember(self._schedules, key, text)
        return text

    def _sources(self, method: object, sources: object) -> str | None:
        """``"method":...,"sources":[...]`` for a plain energy method and source list."""
        if type(method) is not str or method not in _ENERGY_METHODS \
                or not isinstance(sources, list | tuple) or type(sources) not in (list, tuple) \
                or not sources or not all(type(s) is str and 1 <= len(s) <= 256
                                          and s.isascii() for s in sources):
            return None
        key = (method, *sources)
        text = self._source_text.get(key)
        if text is None:
            text = (f'"method":{canonical_json(method).decode()},'
                    f'"sources":{canonical_json(list(sources)).decode()}')
            self._remember(self._source_text, key, text)
        return text

    def _fast(self, asset: Mapping[str, Any], energy: Mapping[str, Any], factors: Factors,
              ratio_bps: int, credit: CreditIntent, oracle: OracleInfo, created: datetime,
              schedule: Mapping[str, Any] | None) -> WrittenReceipt | None:
        if type(ratio_bps) is not int or ratio_bps < units.MIN_RATIO_BPS:
            return None
        if not isinstance(created, datetime) or created.tzinfo is None:
            return None
        created_text = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if not _CREATED.match(created_text):
            return None
        asset_text = self._asset(asset)
        if asset_text is None:
            return None
        schedule_member = ""
        if schedule is not None:
            schedule_text = self._schedule(schedule)
            if schedule_text is None:
                return None
            schedule_member = f'"schedule":{schedule_text},'
        # Energy: the Energy model's limits, on plain values.
        if type(energy) is not dict or energy.keys() != _ENERGY_KEYS:
            return None
        gpu, cpu, window = energy["gpu_j"], energy["cpu_j"], energy["window_s"]
        bounds = energy["uncertainty"]
        if not (_plain_float(gpu) and _plain_float(cpu) and _plain_float(window)):
            return None
        sources = self._sources(energy["method"], energy["sources"])
        if sources is None or type(bounds) is not dict or bounds.keys() != {"low", "high"}:
            return None
        e_low, e_high = bounds["low"], bounds["high"]
        if not (_plain_float(e_low) and _plain_float(e_high) and e_low <= e_high
                and _contains(e_low, e_high, gpu + cpu)):
            return None
        # Emissions: build_receipt's arithmetic, step for step.
        energy_mj = j_to_mj(gpu, cpu)
        intensity, pue, embodied = self._factor_milli(factors)
        gross_mg = units.gross_emissions_mg(energy_mj, intensity, pue, embodied)
        gross_g = gross_mg / 1000
        f = factors
        low = e_low / _J_PER_KWH * f.intensity.interval.low * f.pue.interval.low \
            + f.embodied.interval.low
        high = e_high / _J_PER_KWH * f.intensity.interval.high * f.pue.interval.high \
            + f.embodied.interval.high
        if not (math.isfinite(low * 1e6) and math.isfinite(high * 1e6)):
            return None
        g_low = min(math.floor(low * 1e6) / 1e6, gross_g)
        g_high = max(math.ceil(high * 1e6) / 1e6, gross_g)
        required_mg = units.required_removal_mg(gross_mg, ratio_bps)
        # Members in canonical (sorted) order at every level; numbers as canonical_json
        # writes them (tests compare every byte with receipt_bytes).
        text = (
            f'{{"asset":{asset_text},"created":"{created_text}",'
            f'"emissions":{{"embodied_mg":{embodied},"energy_mj":{energy_mj},'
            f'"gross_g":{_num(gross_g)},"gross_mg":{gross_mg},'
            f'"intensity_mg_per_kwh":{intensity},'
            f'"interval_g":{{"high":{_num(g_high)},"low":{_num(g_low)}}},"pue_milli":{pue}}},'
            f'"energy":{{"cpu_j":{_num(cpu)},"gpu_j":{_num(gpu)},{sources},'
            f'"uncertainty":{{"high":{_num(e_high)},"low":{_num(e_low)}}},'
            f'"window_s":{_num(window)}}},'
            f'"factors":{self._fragment(factors)},"oracle":{self._fragment(oracle)},'
            f'"removal":{{"credit":{self._fragment(credit)},"ratio_bps":{ratio_bps},'
            f'"required_mg":{required_mg}}},{schedule_member}"schema":"xcr.receipt/1"}}')
        return WrittenReceipt(text.encode(), energy_mj, intensity, pue, embodied, gross_mg,
                              required_mg)
