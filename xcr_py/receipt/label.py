"""The impact label: what an asset says about its own carbon, and its XMP serialisation.

An :class:`ImpactLabel` names the receipt that backs an asset (receipt CID, chain, receipt
contract, token id) and repeats the figures a person wants to read without a verifier: gross
emissions, removal retired, the ratio between them, whether the energy was measured or estimated,
the removal method and its permanence, and whether the retirement is final. The receipt and the
chain are authoritative; the label is a pointer with a summary, which ``xcr verify`` checks.

The label travels inside the asset as an XMP packet (RDF/XML). Its properties live in the XCR
namespace :data:`XCR_NS` (prefix ``xcr``), next to the IPTC ``Iptc4xmpExt:DigitalSourceType``
that marks the asset as AI-generated. Serialisation is deterministic: one label, one byte string.
Masses are carried as exact integers in milligrams (``xcr:grossMg``) and, for people reading the
packet, as exact decimal grams (``xcr:grossG``); the parser checks the two agree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Final, Literal, get_args
from xml.sax.saxutils import escape

from eth_utils import is_checksum_address, to_checksum_address
from multiformats import CID

from xcr_py.errors import InputError
from xcr_py.units import MIN_RATIO_BPS

__all__ = [
    "DIGITAL_SOURCE_TYPES",
    "IPTC_EXT_NS",
    "LABEL_VERSION",
    "MAX_PACKET_BYTES",
    "TRAINED_ALGORITHMIC_MEDIA",
    "XCR_NS",
    "ImpactLabel",
    "Method",
    "RetirementStatus",
    "is_xcr_packet",
    "parse_xmp",
    "rdf_description",
    "to_xmp",
]

XCR_NS: Final = "https://xcr.example/ns/1.0/"
"""XMP namespace URI of the XCR label (prefix ``xcr``). Stable: a new label version changes
``xcr:version``, never this URI. ``.example`` is a reserved TLD, so no one else can own it."""

IPTC_EXT_NS: Final = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
RDF_NS: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS: Final = "adobe:ns:meta/"

_DST_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA: Final = _DST_PREFIX + "trainedAlgorithmicMedia"
"""IPTC Digital Source Type for media created by a trained model (the default)."""
DIGITAL_SOURCE_TYPES: Final = (
    TRAINED_ALGORITHMIC_MEDIA,
    _DST_PREFIX + "compositeWithTrainedAlgorithmicMedia",
    _DST_PREFIX + "algorithmicMedia",
)

LABEL_VERSION: Final = 1
MAX_PACKET_BYTES: Final = 16 * 1024
"""Largest XMP packet the parser reads; a version-1 label is well under 2 KiB."""

Method = Literal["measured", "estimated", "estimated (published benchmark)"]
RetirementStatus = Literal["pending", "final"]

_UINT256_MAX = 2**256 - 1
_CHAIN_ID_MAX = 2**64 - 1
_RATIO_BPS_MAX = 2**32 - 1
_PERMANENCE_MAX_YEARS = 100_000
_REMOVAL_METHOD_MAX = 64
_REMOVAL_METHOD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ()+/,.&'-]*")
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
_UINT_RE = re.compile(r"0|[1-9][0-9]{0,77}")
_DECIMAL_RE = re.compile(r"(0|[1-9][0-9]{0,77})(\.[0-9]{1,4})?")


@dataclass(frozen=True)
class ImpactLabel:
    """What an asset carries about its carbon, pointing at the receipt that proves it.

    Construction validates every field and raises :class:`~xcr_py.errors.InputError` naming
    the field (``label.<name>``) and its limit. The receipt CID is normalised to base32 and
    the contract address to its EIP-55 checksum form, so equal labels serialise identically.

    Attributes:
        receipt_cid: CIDv1 of the receipt document (any multibase; stored as base32).
        chain_id: EIP-155 chain id of the receipt contract, 1 .. 2**64-1.
        receipt_contract: address of the CarbonReceipt contract (0x + 40 hex).
        token_id: the receipt token id, 0 .. 2**256-1.
        gross_mg: gross emissions of the asset, mg CO2e (SCI numerator, on-chain arithmetic).
        removed_mg: removal retired for the asset, mg CO2e.
        ratio_bps: carbon-to-removal ratio in basis points, >= 10,000 (1.0).
        method: how the energy was obtained: measured, estimated, or estimated from a
            published benchmark.
        removal_method: removal pathway of the retired credits, e.g. ``"biochar"``.
        permanence_years: minimum permanence of that removal, years.
        retirement_status: ``"pending"`` until the retirement is final on its registry.
        digital_source_type: IPTC Digital Source Type URI (trained algorithmic media).
    """

    receipt_cid: str
    chain_id: int
    receipt_contract: str
    token_id: int
    gross_mg: int
    removed_mg: int
    ratio_bps: int
    method: Method
    removal_method: str
    permanence_years: int
    retirement_status: RetirementStatus
    digital_source_type: str = TRAINED_ALGORITHMIC_MEDIA

    def __post_init__(self) -> None:
        object.__setattr__(self, "receipt_cid", _normalise_cid(self.receipt_cid))
        object.__setattr__(self, "receipt_contract", _normalise_address(self.receipt_contract))
        _check_uint("chain_id", self.chain_id, 1, _CHAIN_ID_MAX)
        _check_uint("token_id", self.token_id, 0, _UINT256_MAX)
        _check_uint("gross_mg", self.gross_mg, 0, _UINT256_MAX)
        _check_uint("removed_mg", self.removed_mg, 0, _UINT256_MAX)
        _check_uint("ratio_bps", self.ratio_bps, MIN_RATIO_BPS, _RATIO_BPS_MAX)
        _check_uint("permanence_years", self.permanence_years, 1, _PERMANENCE_MAX_YEARS)
        _check_choice("method", self.method, get_args(Method))
        _check_choice("retirement_status", self.retirement_status, get_args(RetirementStatus))
        _check_choice("digital_source_type", self.digital_source_type, DIGITAL_SOURCE_TYPES)
        rm = self.removal_method
        if not isinstance(rm, str) or not (1 <= len(rm) <= _REMOVAL_METHOD_MAX):
            raise InputError(
                "label.removal_method", f"must be a string of 1..{_REMOVAL_METHOD_MAX} characters"
            )
        if "neutral" in rm.lower():  # a pathway name, never a claim the badge would repeat
            raise InputError("label.removal_method", "must name a removal pathway, not a claim")
        if not _REMOVAL_METHOD_RE.fullmatch(rm):
            raise InputError(
                "label.removal_method",
                f"must be letters, digits, spaces and ()+/,.&'- only, got {rm!r}",
            )

    @property
    def gross_g(self) -> Decimal:
        """Gross emissions in grams CO2e, exact."""
        return Decimal(self.gross_mg).scaleb(-3)

    @property
    def removed_g(self) -> Decimal:
        """Removal retired in grams CO2e, exact."""
        return Decimal(self.removed_mg).scaleb(-3)

    @property
    def ratio(self) -> Decimal:
        """Carbon-to-removal ratio as a decimal (10,000 bps -> 1)."""
        return Decimal(self.ratio_bps).scaleb(-4)

    @property
    def is_estimate(self) -> bool:
        """True when the energy (hence the gross figure) is an estimate, not a measurement."""
        return self.method != "measured"

    @property
    def carbon_neutral(self) -> bool:
        """Removal covers gross emissions and the retirement is final: only then may anything
        describe the asset as carbon neutral."""
        return self.removed_mg >= self.gross_mg and self.retirement_status == "final"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict (integers stay integers) with ``version`` added."""
        return {"version": LABEL_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, doc: object) -> ImpactLabel:
        """Inverse of :meth:`to_dict`; rejects missing, unknown and mistyped fields."""
        if not isinstance(doc, dict):
            raise InputError("label", f"must be a JSON object, got {type(doc).__name__}")
        fields = dict(doc)
        version = fields.pop("version", None)
        if version != LABEL_VERSION or isinstance(version, bool):
            raise InputError("label.version", f"must be {LABEL_VERSION}, got {version!r}")
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(fields) - names)
        if unknown:
            raise InputError(f"label.{unknown[0]}", "is not a label field")
        missing = sorted(n for n in names - set(fields) if n != "digital_source_type")
        if missing:
            raise InputError(f"label.{missing[0]}", "is missing")
        return cls(**fields)


# --- XMP -----------------------------------------------------------------------------------

# (XMP property, dataclass field, kind) in the fixed serialisation order.
_PROPS: tuple[tuple[str, str, str], ...] = (
    ("receiptCid", "receipt_cid", "str"),
    ("chainId", "chain_id", "uint"),
    ("receiptContract", "receipt_contract", "str"),
    ("tokenId", "token_id", "uint"),
    ("grossMg", "gross_mg", "uint"),
    ("removedMg", "removed_mg", "uint"),
    ("ratioBps", "ratio_bps", "uint"),
    ("method", "method", "str"),
    ("removalMethod", "removal_method", "str"),
    ("permanenceYears", "permanence_years", "uint"),
    ("retirementStatus", "retirement_status", "str"),
)
# Derived, human-readable properties: written for people, checked against the exact ones.
_DERIVED = ("grossG", "removedG", "ratio")
_XPACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
# end="r": the packet has no padding and must not be edited in place (that breaks the binding).
_XPACKET_END = '<?xpacket end="r"?>'


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def rdf_description(label: ImpactLabel) -> str:
    """The ``rdf:RDF`` element of the label, deterministic (also used in SVG ``<metadata>``)."""
    values: list[tuple[str, str]] = [("version", str(LABEL_VERSION))]
    for prop, field, _kind in _PROPS:
        values.append((prop, str(getattr(label, field))))
    values += [
        ("grossG", _decimal_text(label.gross_g)),
        ("removedG", _decimal_text(label.removed_g)),
        ("ratio", _decimal_text(label.ratio)),
    ]
    lines = [
        f'<rdf:RDF xmlns:rdf="{RDF_NS}">',
        ' <rdf:Description rdf:about=""',
        f'   xmlns:Iptc4xmpExt="{IPTC_EXT_NS}"',
        f'   xmlns:xcr="{XCR_NS}">',
        "  <Iptc4xmpExt:DigitalSourceType>"
        f"{escape(label.digital_source_type)}</Iptc4xmpExt:DigitalSourceType>",
    ]
    lines += [f"  <xcr:{name}>{escape(text)}</xcr:{name}>" for name, text in values]
    lines += [" </rdf:Description>", "</rdf:RDF>"]
    return "\n".join(lines)


def to_xmp(label: ImpactLabel) -> bytes:
    """Serialise ``label`` as a complete XMP packet (UTF-8), byte-for-byte deterministic."""
    body = rdf_description(label).replace("\n", "\n ")
    text = f'{_XPACKET_BEGIN}\n<x:xmpmeta xmlns:x="{X_NS}">\n {body}\n</x:xmpmeta>\n{_XPACKET_END}'
    return text.encode("utf-8")


def is_xcr_packet(packet: bytes) -> bool:
    """Cheap test: does this XMP packet declare the XCR namespace (i.e. claim to be a label)?"""
    return XCR_NS.encode("ascii") in packet


def parse_xmp(packet: bytes) -> ImpactLabel:
    """Parse an XMP packet back to an :class:`ImpactLabel`.

    Accepts the properties as child elements (as :func:`to_xmp` writes them) or as attributes
    of ``rdf:Description``, so a packet re-serialised by another XMP tool still reads.

    Raises:
        InputError: oversized (``label.xmp``, limit :data:`MAX_PACKET_BYTES`), not UTF-8, not
            well-formed XML, a DTD/entity declaration, a missing, duplicated, unknown or
            malformed property (``label.<field>``), or derived grams/ratio that disagree with
            the exact values.
    """
    if not isinstance(packet, bytes | bytearray):
        raise InputError("label.xmp", f"must be bytes, got {type(packet).__name__}")
    if len(packet) > MAX_PACKET_BYTES:
        raise InputError("label.xmp", f"is {len(packet)} bytes; limit is {MAX_PACKET_BYTES}")
    try:
        text = bytes(packet).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("label.xmp", f"is not valid UTF-8 (byte {exc.start})") from exc
    if "<!" in text.replace("<![CDATA[", ""):
        # No DTDs or entity declarations: they are how XML bombs and external fetches start.
        raise InputError("label.xmp", "must not contain a DOCTYPE, declarations or comments")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError("label.xmp", f"is not well-formed XML: {exc}") from exc

    found: dict[str, str] = {}
    for desc in root.iter(f"{{{RDF_NS}}}Description"):
        items = [(k, v) for k, v in desc.attrib.items()]
        items += [(child.tag, child.text or "") for child in desc if len(child) == 0]
        for child in desc:
            if len(child) and child.tag.startswith(f"{{{XCR_NS}}}"):
                raise InputError(f"label.{child.tag.split('}')[1]}", "must be a simple value")
        for tag, value in items:
            if tag.startswith(f"{{{XCR_NS}}}"):
                name = tag[len(XCR_NS) + 2 :]
            elif tag == f"{{{IPTC_EXT_NS}}}DigitalSourceType":
                name = "DigitalSourceType"
            else:
                continue
            if name in found:
                raise InputError(f"label.{name}", "appears more than once")
            found[name] = value.strip()

    if "version" not in found:
        raise InputError("label.version", "is missing: not an XCR label packet")
    if found["version"] != str(LABEL_VERSION):
        raise InputError("label.version", f"must be {LABEL_VERSION}, got {found['version']!r}")
    known = {p for p, _f, _k in _PROPS} | set(_DERIVED) | {"version", "DigitalSourceType"}
    unknown = sorted(set(found) - known)
    if unknown:
        raise InputError(f"label.{unknown[0]}", f"is not a version-{LABEL_VERSION} property")

    kwargs: dict[str, object] = {}
    for prop, field, kind in _PROPS:
        if prop not in found:
            raise InputError(f"label.{field}", f"is missing (xcr:{prop})")
        raw = found[prop]
        if kind == "uint":
            if not _UINT_RE.fullmatch(raw):
                raise InputError(f"label.{field}", f"must be a decimal integer, got {raw[:40]!r}")
            kwargs[field] = int(raw)
        else:
            kwargs[field] = raw
    if "DigitalSourceType" not in found:
        raise InputError("label.digital_source_type", "is missing (Iptc4xmpExt:DigitalSourceType)")
    kwargs["digital_source_type"] = found["DigitalSourceType"]
    label = ImpactLabel(**kwargs)  # type: ignore[arg-type]

    for prop, exact in (
        ("grossG", label.gross_g),
        ("removedG", label.removed_g),
        ("ratio", label.ratio),
    ):
        shown = found.get(prop)
        if shown is None:
            continue
        if not _DECIMAL_RE.fullmatch(shown) or Decimal(shown) != exact:
            raise InputError(f"label.{prop}", f"is {shown[:40]!r} but the exact value is {exact}")
    return label


# --- field checks ----------------------------------------------------------------------------


def _check_uint(field: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"label.{field}", f"must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise InputError(f"label.{field}", f"must be in {low}..{high}, got {value}")


def _check_choice(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(
            f"label.{field}", f"must be one of {', '.join(map(repr, allowed))}; got {value!r}"
        )


def _normalise_cid(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise InputError("label.receipt_cid", "must be a CIDv1 string of at most 200 characters")
    try:
        cid = CID.decode(value)
    except (ValueError, KeyError) as exc:
        raise InputError("label.receipt_cid", f"is not a valid CID: {exc}") from exc
    if cid.version != 1:
        raise InputError("label.receipt_cid", f"must be a CIDv1, got version {cid.version}")
    return str(cid.encode("base32"))


def _normalise_address(value: object) -> str:
    if not isinstance(value, str) or not _ADDRESS_RE.fullmatch(value):
        raise InputError("label.receipt_contract", "must be 0x followed by 40 hex digits")
    has_upper, has_lower = value[2:] != value[2:].lower(), value[2:] != value[2:].upper()
    if has_upper and has_lower and not is_checksum_address(value):
        raise InputError("label.receipt_contract", "has mixed case but a wrong EIP-55 checksum")
    return str(to_checksum_address(value))
