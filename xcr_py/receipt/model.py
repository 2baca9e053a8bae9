"""The receipt document (``xcr.receipt/1``) as pydantic models.

A receipt states everything that is known *before* settlement: the asset, the measured
energy, the factors with their sources, the exact on-chain integers, the ratio, the removal
owed and the credit batch it is meant to come from, and the oracle that will sign it. It is
built and pinned first; the signed report then carries its digest, and the chain records
what only settlement knows (retirement id, retired grams, token id, tx hash). See
``docs/receipt.md``.

Human-facing quantities (joules, grams, factor values) are JSON numbers (floats allowed);
every value the contract checks is an exact integer in milli-units (``energy_mj``,
``intensity_mg_per_kwh``, ``pue_milli``, ``embodied_mg``, ``gross_mg``, ``required_mg``).
The document validates its own arithmetic: the integers must be what :mod:`xcr_py.units`
derives from the stated values, so a receipt cannot claim one number and settle another.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from xcr_py import units
from xcr_py.content.unixfs import CHUNK_SIZE

__all__ = [
    "SCHEMA_ID",
    "Address",
    "Asset",
    "BatchInfo",
    "CreditIntent",
    "Emissions",
    "Energy",
    "Factor",
    "Factors",
    "Interval",
    "OracleInfo",
    "Receipt",
    "Removal",
    "Schedule",
    "j_to_mj",
    "value_to_milli",
]

SCHEMA_ID = "xcr.receipt/1"

Method = Literal["measured", "estimated", "dataset", "declared"]
"""How a number was obtained: read from a meter, modelled, looked up, or stated by someone."""

EnergyMethod = Literal["measured", "estimated", "estimated (published benchmark)", "declared"]
"""How the energy was obtained; ``"estimated (published benchmark)"`` for cloud-API generations
whose energy comes from the published per-inference table (:mod:`xcr_py.cloud`)."""

_MEDIA_TYPE = r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$"
_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_HOUR = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$")

NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
NonNegInt = Annotated[StrictInt, Field(ge=0)]
Text = Annotated[str, Field(min_length=1, max_length=256)]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


_RAW, _DAG_PB, _SHA2_256 = 0x55, 0x70, 0x12
"""Multicodec codes of the only CIDs an asset can have: raw or dag-pb leaves, sha2-256."""


@lru_cache(maxsize=4096)
def _cid_fields(value: str) -> tuple[str, int, int, bytes]:
    """``(problem, codec, hash code, digest)`` of a CID text; ``problem`` is '' for a canonical
    base32 CIDv1.

    A direct check (stdlib base32 + varints) rather than a full multiformats decode, which
    costs milliseconds per receipt; :func:`multiformats.CID.decode` agrees on valid CIDs.
    """
    if value.startswith(("Qm", "1")):
        return "must be a CIDv1 (this is a CIDv0)", 0, 0, b""
    if not value.startswith("b") or value != value.lower() or len(value) < 8:
        return "is not a CID in canonical base32 form (b + lowercase base32)", 0, 0, b""
    body = value[1:].upper()
    try:
        data = base64.b32decode(body + "=" * (-len(body) % 8))
        version, pos = _varint(data, 0)
        codec, pos = _varint(data, pos)
        hash_code, pos = _varint(data, pos)
        length, pos = _varint(data, pos)
    except (ValueError, binascii.Error):
        return "is not a CID (bad base32 or varint)", 0, 0, b""
    if version != 1:
        return "must be a CIDv1", 0, 0, b""
    if len(data) - pos != length:
        return "is not a CID (multihash length mismatch)", 0, 0, b""
    return "", codec, hash_code, data[pos:]


def _asset_cid_problem(value: str) -> str:
    """Why ``value`` cannot be the CID Kubo gives a file ('' when it can).

    ``ipfs add --cid-version=1 --raw-leaves`` only ever yields a raw block (a file of one
    chunk) or a dag-pb UnixFS root, hashed with sha2-256.
    """
    problem, codec, hash_code, digest = _cid_fields(value)
    if problem:
        return problem
    if codec not in (_RAW, _DAG_PB):
        return f"must be a raw (0x55) or dag-pb (0x70) CID, got codec 0x{codec:x}"
    if hash_code != _SHA2_256 or len(digest) != 32:
        return f"must be hashed with sha2-256 (0x12, 32 bytes), got 0x{hash_code:x}"
    return ""


@lru_cache(maxsize=4096)
def _checksum(value: str) -> str:
    if not is_hex_address(value):
        raise ValueError("must be a 20-byte hex address (0x + 40 hex digits)")
    if value != value.lower() and not is_checksum_address(value):
        raise ValueError("has a wrong EIP-55 checksum")
    return to_checksum_address(value)


Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$"), AfterValidator(_checksum)]
"""An Ethereum address; stored EIP-55 checksummed so the canonical bytes are unique."""


def value_to_milli(value: float) -> int:
    """A non-negative decimal value in milli-units, rounded up (1.2 -> 1200, 0.0001 -> 1).

    Uses the shortest decimal form of the float, so ``0.1`` is exactly 100, not 101.
    """
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a finite number >= 0, got {value!r}")
    return math.ceil(Decimal(repr(float(value))) * 1000)


def j_to_mj(*joules: float) -> int:
    """The sum of energies in joules, in millijoules, rounded up."""
    total = sum((Decimal(repr(float(j))) for j in joules), Decimal(0))
    return math.ceil(total * 1000)


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Interval(_Part):
    """A closed interval ``[low, high]`` in the unit of the value it qualifies."""

    low: NonNegFloat
    high: NonNegFloat

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.low > self.high:
            raise ValueError(f"low: must be <= high ({self.high}), got {self.low}")
        return self

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the interval (a small relative tolerance for rounding)."""
        slack = 1e-9 * max(1.0, abs(value))
        return self.low - slack <= value <= self.high + slack


class Asset(_Part):
    """The generated asset: content id, type, size, and who/what made it."""

    cid: str = Field(description="CIDv1 of the asset bytes (Kubo --cid-version=1 --raw-leaves)")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$",
                        description="sha256 of the asset bytes, lowercase hex")
    media_type: str = Field(pattern=_MEDIA_TYPE)
    bytes: NonNegInt
    model: Text
    campaign: Text | None = None
    creator: Address | None = Field(default=None, description="receipt holder (soulbound)")

    @field_validator("cid")
    @classmethod
    def _cid_v1(cls, value: str) -> str:
        problem = _asset_cid_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _cid_matches_bytes(self) -> Asset:
        # Kubo's layout ties the CID to the size and, for one chunk, to the sha256 itself:
        # a receipt cannot name the bytes of one file and the CID of another.
        _, codec, _, digest = _cid_fields(self.cid)
        single_block = self.bytes <= CHUNK_SIZE
        if single_block and codec != _RAW:
            raise ValueError(f"cid: a file of {self.bytes} bytes (<= {CHUNK_SIZE}, one chunk) "
                             "has a raw CID, got dag-pb")
        if not single_block and codec == _RAW:
            raise ValueError(f"cid: a file of {self.bytes} bytes (> {CHUNK_SIZE}) has a dag-pb "
                             "root CID, got raw")
        if codec == _RAW and digest.hex() != self.sha256:
            raise ValueError("cid: its sha2-256 digest differs from asset.sha256")
        return self


class Energy(_Part):
    """IT energy of the generation window, in joules, with how it was obtained."""

    gpu_j: NonNegFloat
    cpu_j: NonNegFloat
    window_s: NonNegFloat
    method: EnergyMethod
    sources: tuple[Text, ...] = Field(min_length=1,
                                      description="meters used, e.g. nvml:0, rapl:package-0")
    uncertainty: Interval = Field(description="interval for gpu_j + cpu_j, in J")

    @model_validator(mode="after")
    def _in_interval(self) -> Energy:
        total = self.gpu_j + self.cpu_j
        if not self.uncertainty.contains(total):
            raise ValueError(f"uncertainty: must contain gpu_j + cpu_j = {total} J")
        return self


class Factor(_Part):
    """One emission factor with its unit, source, method and uncertainty interval."""

    value: NonNegFloat
    unit: str
    source: Text
    method: Method
    interval: Interval

    @model_validator(mode="after")
    def _in_interval(self) -> Factor:
        if not self.interval.contains(self.value):
            raise ValueError(f"interval: must contain value {self.value}")
        return self


def _unit(expected: str) -> AfterValidator:
    def check(factor: Factor) -> Factor:
        if factor.unit != expected:
            raise ValueError(f"unit: must be {expected!r}, got {factor.unit!r}")
        return factor

    return AfterValidator(check)


class Factors(_Part):
    """Grid intensity (gCO2e/kWh), PUE (dimensionless) and the embodied share (gCO2e)."""

    intensity: Annotated[Factor, _unit("gCO2e/kWh")]
    pue: Annotated[Factor, _unit("1")]
    embodied: Annotated[Factor, _unit("gCO2e")]

    @field_validator("pue")
    @classmethod
    def _pue_at_least_one(cls, value: Factor) -> Factor:
        if value.value < 1:
            raise ValueError(f"value: PUE must be >= 1, got {value.value}")
        return value


class Emissions(_Part):
    """Gross emissions for the asset, for people (grams) and for the contract (mg integers)."""

    gross_g: NonNegFloat
    interval_g: Interval
    energy_mj: NonNegInt
    intensity_mg_per_kwh: NonNegInt
    pue_milli: NonNegInt = Field(ge=units.PUE_SCALE)
    embodied_mg: NonNegInt
    gross_mg: NonNegInt


class CreditIntent(_Part):
    """The removal-credit batch (ERC-1155 token id) this receipt is meant to retire from.

    Known before settlement; the retirement id and retired grams are recorded on chain.
    """

    chain_id: StrictInt = Field(ge=1)
    contract: Address = Field(description="RemovalCredits contract")
    batch_id: NonNegInt = Field(description="RemovalCredits token id of the credit batch")
    project: Text
    method: Text = Field(description="removal method, e.g. DAC, biochar")
    permanence_years: StrictInt = Field(ge=1)


class Removal(_Part):
    """What is owed: ``required_mg = ceil(gross_mg x ratio_bps / 10000)``."""

    ratio_bps: StrictInt = Field(ge=units.MIN_RATIO_BPS)
    required_mg: NonNegInt
    credit: CreditIntent


class Schedule(_Part):
    """The UTC hour the job ran in and that hour's grid intensity (carbon-aware placement)."""

    hour: str
    zone: Text | None = None
    intensity_mg_per_kwh: NonNegInt

    @field_validator("hour")
    @classmethod
    def _hour(cls, value: str) -> str:
        if not _HOUR.match(value):
            raise ValueError("must be a UTC hour, YYYY-MM-DDTHH:00:00Z")
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
        return value


class OracleInfo(_Part):
    """Oracle addresses expected to sign the report carrying this receipt's digest."""

    addresses: tuple[Address, ...] = Field(min_length=1)
    threshold: StrictInt = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _sorted_unique(self) -> OracleInfo:
        keys = [int(a, 16) for a in self.addresses]
        if keys != sorted(set(keys)):
            raise ValueError("addresses: must be distinct and sorted by numeric value")
        if self.threshold > len(self.addresses):
            raise ValueError(f"threshold: must be <= {len(self.addresses)} (addresses), "
                             f"got {self.threshold}")
        return self


class BatchInfo(_Part):
    """Position of this receipt's leaf in a Merkle batch (batch mode only)."""

    leaf_index: NonNegInt


class Receipt(_Part):
    """A carbon receipt for one generated asset (schema ``xcr.receipt/1``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              title="XCR carbon receipt")

    schema_id: Literal["xcr.receipt/1"] = Field(default="xcr.receipt/1", alias="schema")
    asset: Asset
    energy: Energy
    factors: Factors
    emissions: Emissions
    removal: Removal
    oracle: OracleInfo
    schedule: Schedule | None = None
    batch: BatchInfo | None = None
    created: str = Field(description="UTC time the receipt was built, ISO 8601 with Z")

    @field_validator("created")
    @classmethod
    def _created(cls, value: str) -> str:
        if not _CREATED.match(value):
            raise ValueError("must be UTC ISO 8601, YYYY-MM-DDTHH:MM:SS[.ffffff]Z")
        datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        return value

    @model_validator(mode="after")
    def _arithmetic(self) -> Receipt:
        """The integers are exactly what units.py derives from the stated values."""
        e, f = self.emissions, self.factors
        expected = {
            "emissions.energy_mj": (e.energy_mj, j_to_mj(self.energy.gpu_j, self.energy.cpu_j)),
            "emissions.intensity_mg_per_kwh": (e.intensity_mg_per_kwh,
                                               value_to_milli(f.intensity.value)),
            "emissions.pue_milli": (e.pue_milli, value_to_milli(f.pue.value)),
            "emissions.embodied_mg": (e.embodied_mg, value_to_milli(f.embodied.value)),
        }
        for name, (got, want) in expected.items():
            if got != want:
                raise ValueError(f"{name}: must be {want} (derived from the stated value), "
                                 f"got {got}")
        gross = units.gross_emissions_mg(e.energy_mj, e.intensity_mg_per_kwh, e.pue_milli,
                                         e.embodied_mg)
        if e.gross_mg != gross:
            raise ValueError(f"emissions.gross_mg: must be {gross} "
                             f"(units.gross_emissions_mg), got {e.gross_mg}")
        if e.gross_g != gross / 1000:
            raise ValueError(f"emissions.gross_g: must be gross_mg / 1000 = {gross / 1000}, "
                             f"got {e.gross_g}")
        if not e.interval_g.contains(e.gross_g):
            raise ValueError(f"emissions.interval_g: must contain gross_g {e.gross_g}")
        required = units.required_removal_mg(gross, self.removal.ratio_bps)
        if self.removal.required_mg != required:
            raise ValueError(f"removal.required_mg: must be {required} (ceil(gross_mg x "
                             f"ratio_bps / 10000)), got {self.removal.required_mg}")
        return self
