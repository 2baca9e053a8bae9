"""From a closed energy window and the asset bytes to a pinned receipt (the worker's first job).

Steps, all off the render's critical path: content-address and pin the asset, compute the SCI
footprint with the configured factors, choose the credit batch, build the receipt (exact
on-chain integers inside), pin its canonical bytes. The result carries what the outbox row and
the signed report need, so settlement never re-reads the asset.

The asset digest is the sha2-256 digest inside the asset's CIDv1 (what the contract and the
receipt token id use). For assets up to one 256 KiB chunk it equals sha256 of the bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from xcr_py import units
from xcr_py.client.credit import CreditSelector
from xcr_py.config import FootprintConfig
from xcr_py.content.blocks import cid_text, parse_binary_cid
from xcr_py.content.cid import cid_from_binary
from xcr_py.content.store import BlockStore
from xcr_py.content.unixfs import CHUNK_SIZE, RAW_V1_PREFIX
from xcr_py.errors import ConfigError, ContentError, InputError
from xcr_py.footprint import (
    ConstantIntensity,
    EmbeddedIntensity,
    Factor,
    Footprint,
    IntensityProvider,
    compute_footprint,
    default_pue,
    device_share,
    energy_factor_from_window,
    site_pue,
)
from xcr_py.footprint.sci import INTENSITY_UNITS_MG, MASS_UNITS_MG
from xcr_py.meter.window import EnergyWindow
from xcr_py.receipt import CreditIntent, Factors, OracleInfo, receipt_cid, validate_part
from xcr_py.receipt.writer import ReceiptWriter

__all__ = ["AssetJob", "FootprintSettings", "Prepared", "Preparer", "pue_factor"]


@dataclass(frozen=True)
class AssetJob:
    """One generated asset and its energy window, as the tracker hands it to the worker.

    ``asset`` is the bytes themselves or a path to a regular file.
    """

    key: str
    window: EnergyWindow
    asset: bytes | Path
    model: str
    media_type: str
    creator: str
    campaign: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """A pinned asset and receipt, ready for the outbox (``pinned`` state)."""

    key: str
    asset_digest: bytes
    asset_cid: str
    receipt_cid: str
    receipt_digest: bytes
    receipt_bytes: bytes
    payload: dict[str, Any]

    def outbox_entry(self) -> dict[str, Any]:
        """This asset as :meth:`~xcr_py.oracle.outbox.Outbox.enqueue_pinned_many` takes it."""
        return {"asset_digest": self.asset_digest, "payload": self.payload,
                "asset_cid": self.asset_cid, "receipt_cid": self.receipt_cid,
                "receipt_digest": self.receipt_digest, "receipt_bytes": self.receipt_bytes}


@dataclass(frozen=True)
class FootprintSettings:
    """The factors every asset of one tracker uses (from the ``[footprint]`` config section).

    Args:
        intensity: grid-intensity provider.
        zone: zone passed to the provider (``None`` for a constant).
        pue: facility PUE factor (ratio).
        device_class: embodied-table device class, or ``None`` to leave embodied out
            (the receipt then shows a declared 0).
        ratio_bps: carbon-to-removal ratio, basis points.
    """

    intensity: IntensityProvider
    zone: str | None
    pue: Factor
    device_class: str | None
    ratio_bps: int

    @classmethod
    def from_config(cls, config: FootprintConfig, *, policy_ratio_bps: int = 0,
                    intensity: IntensityProvider | None = None) -> FootprintSettings:
        """Settings from ``[footprint]``; the ratio is raised to the on-chain policy minimum.

        Raises:
            ConfigError: neither a zone, a constant intensity nor a provider is given.
        """
        if intensity is None:
            if config.zone is not None:
                intensity = EmbeddedIntensity()
            elif config.intensity_mg_per_kwh is not None:
                intensity = ConstantIntensity(
                    Decimal(config.intensity_mg_per_kwh) / 1000,
                    source="xcr.toml footprint.intensity_mg_per_kwh (declared)")
            else:
                raise ConfigError("footprint.zone (from defaults): set footprint.zone or "
                                  "footprint.intensity_mg_per_kwh; there is no default grid")
        return cls(intensity, config.zone, pue_factor(config), config.device_class,
                   max(config.ratio_bps, policy_ratio_bps))

    def footprint(self, window: EnergyWindow) -> Footprint:
        """The SCI footprint of one window with these factors."""
        when = window.started_at if window.started_at.tzinfo else None
        embodied = None if self.device_class is None else device_share(
            self.device_class, window.duration_s)
        return compute_footprint(energy_factor_from_window(window),
                                 self.intensity.intensity(self.zone, when), self.pue, embodied)


def _cid_parts(binary: bytes) -> tuple[str, bytes]:
    """(text, multihash digest) of a store's binary CID without multiformats objects.

    ``str(cid)`` and ``cid.raw_digest`` cost ~0.3 and ~0.1 ms a call (runtime type checks);
    for a sha2-256 CIDv1 the base32 text and the digest follow directly from its bytes.
    """
    try:
        digest = parse_binary_cid(binary).digest
    except ContentError:  # not a form parse_binary_cid reads: let multiformats decide
        digest = bytes(cid_from_binary(binary).raw_digest)
    return cid_text(binary), digest


def pue_factor(config: FootprintConfig) -> Factor:
    """The PUE factor with its true source.

    A ``footprint.pue_milli`` the configuration actually sets (file, ``XCR_*`` or override)
    is the site's declared PUE. Left at its default, it is the Uptime Institute 2024 survey
    average (:func:`~xcr_py.footprint.default_pue`, with its wide interval), and is labelled
    so rather than as a site's declaration.
    """
    value = Decimal(config.pue_milli) / units.PUE_SCALE
    if "pue_milli" in config.model_fields_set:
        return site_pue(value, source="config footprint.pue_milli (declared by the site)")
    default = default_pue()
    if default.value == value:
        return default
    # The config default and the data file disagree: say it is a default, not a declaration.
    return Factor(value, "ratio", "XcrConfig default footprint.pue_milli (not declared by the "
                  "site)", "estimated", (default.low, default.high))


def _receipt_factor(f: Factor, unit: str, scale: int) -> dict[str, Any]:
    """A footprint factor in the receipt's unit (``scale`` = mg per unit of ``f``, / 1000)."""
    def conv(v: Decimal) -> float:
        return float(v * scale / 1000)

    return {"value": conv(f.value), "unit": unit, "source": f.source[:256],
            "method": f.method, "interval": {"low": conv(f.low), "high": conv(f.high)}}


def _receipt_factors(fp: Footprint) -> dict[str, Any]:
    """The receipt's ``factors`` part from a footprint's factors."""
    return {
        "intensity": _receipt_factor(fp.intensity, "gCO2e/kWh",
                                     INTENSITY_UNITS_MG[fp.intensity.unit]),
        "pue": _receipt_factor(fp.pue, "1", 1000),
        "embodied": _receipt_factor(fp.embodied, "gCO2e", MASS_UNITS_MG[fp.embodied.unit]),
    }


class Preparer:
    """Turns :class:`AssetJob` into :class:`Prepared` (pins asset and receipt).

    Args:
        store: where asset and receipt are pinned.
        settings: footprint factors and ratio.
        credits: chooses the credit batch the receipt names.
        oracle_addresses: the quorum's addresses (ascending) and ``threshold``.
    """

    def __init__(self, store: BlockStore, settings: FootprintSettings, credits: CreditSelector,
                 oracle_addresses: tuple[str, ...], threshold: int) -> None:
        self.store = store
        self.settings = settings
        self.credits = credits
        self._oracle = {"addresses": list(oracle_addresses), "threshold": threshold}
        # Receipts of one tracker share their factors, oracle and credit parts: each distinct
        # one is validated once (keyed by what it is built from) and encoded once (writer).
        self._parts: dict[object, Any] = {}
        self._writer = ReceiptWriter()

    def _shared_part(self, key: object, build: Callable[[], Any]) -> Any:
        part = self._parts.get(key)
        if part is None:
            if len(self._parts) >= 256:
                self._parts.clear()
            part = self._parts[key] = build()
        return part

    def _pin_asset(self, asset: bytes | Path) -> tuple[str, bytes, str, int]:
        """Pin the asset: (CID text, CID digest, sha256 hex of the bytes, size)."""
        if isinstance(asset, bytes | bytearray | memoryview):
            data = bytes(asset)
            text, digest = _cid_parts(self.store.put_bytes_binary(data))
            # One raw block: the CID digest is sha256 of the bytes; skip hashing twice.
            sha = digest.hex() if len(data) <= CHUNK_SIZE else hashlib.sha256(data).hexdigest()
            return text, digest, sha, len(data)
        path = Path(asset)
        if not path.is_file():
            raise InputError("asset", f"must be bytes or a readable file, got {str(path)!r}")
        text, digest = _cid_parts(bytes(self.store.put_file(path)))
        size = path.stat().st_size
        if size <= CHUNK_SIZE:
            return text, digest, digest.hex(), size
        h = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                h.update(chunk)
        return text, digest, h.hexdigest(), size

    def prepare(self, job: AssetJob) -> Prepared:
        """Pin the asset, build and pin the receipt; nothing is written to the outbox here.

        Raises:
            InputError / ReceiptInvalid: a bad asset or metadata (names the field).
            ContentError / StoreUnavailable: the store failed.
            NoEligibleCredits: no credit batch can cover the asset.
        """
        cid, asset_digest, sha, size = self._pin_asset(job.asset)
        window = job.window
        fp = self.settings.footprint(window)
        ratio = self.settings.ratio_bps
        # Reserve with a 1 g margin: the receipt's own integer rounding may differ by a mg.
        needed_g = units.grams_to_retire(units.required_removal_mg(fp.gross_mg, ratio)) + 1
        credit = self.credits.reserve(needed_g)
        gpu_mj = window.by_kind("gpu")
        energy = {
            "gpu_j": gpu_mj / 1000, "cpu_j": (window.energy_mj - gpu_mj) / 1000,
            "window_s": window.duration_s, "method": window.method,
            "sources": [f"{d.device}:{d.source}" for d in window.devices],
            "uncertainty": {"low": window.low_mj / 1000, "high": window.high_mj / 1000},
        }
        factors = self._shared_part(("factors", fp.intensity, fp.pue, fp.embodied),
                                    lambda: validate_part(Factors, _receipt_factors(fp),
                                                          "factors"))
        credit_part = self._shared_part(("credit", credit), lambda: validate_part(
            CreditIntent, credit.receipt_part(), "removal.credit"))
        oracle = self._shared_part("oracle", lambda: validate_part(OracleInfo, self._oracle,
                                                                   "oracle"))
        asset = {"cid": cid, "sha256": sha, "media_type": job.media_type, "bytes": size,
                 "model": job.model, "creator": job.creator}
        if job.campaign is not None:
            asset["campaign"] = job.campaign
        schedule = None
        if self.settings.zone is not None and window.started_at.tzinfo is not None:
            hour = window.started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:00:00Z")
            schedule = {"hour": hour, "zone": self.settings.zone,
                        "intensity_mg_per_kwh": fp.onchain().intensity_mg_per_kwh}
        e = self._writer.write(asset=asset, energy=energy, factors=factors, ratio_bps=ratio,
                               credit=credit_part, oracle=oracle, created=datetime.now(UTC),
                               schedule=schedule)
        data = e.data
        rdigest = hashlib.sha256(data).digest()
        stored = self.store.put_bytes_binary(data)
        # The token carries sha256 of the receipt bytes, so the receipt must be one raw block
        # (a store that chunks differently would break that link).
        expected = RAW_V1_PREFIX + rdigest if len(data) <= CHUNK_SIZE else \
            bytes(receipt_cid(data))
        if stored != expected:
            raise InputError("store", f"returned {_cid_parts(stored)[0]} for the receipt, "
                             f"expected {receipt_cid(data)}")
        rcid, _ = _cid_parts(stored)
        payload = {
            "key": job.key, "creator": job.creator, "media_type": job.media_type,
            "model": job.model, "campaign": job.campaign, "params": dict(job.params),
            "asset_cid": cid, "receipt_cid": rcid, "bytes": size,
            "energy_mj": e.energy_mj, "intensity_mg_per_kwh": e.intensity_mg_per_kwh,
            "pue_milli": e.pue_milli, "embodied_mg": e.embodied_mg, "gross_mg": e.gross_mg,
            "ratio_bps": ratio, "required_mg": e.required_mg,
            "credit_batch": credit.batch.batch_id, "energy_method": window.method,
            "footprint_method": fp.method,
        }
        return Prepared(job.key, asset_digest, cid, rcid, rdigest, data, payload)
