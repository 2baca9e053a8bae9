"""The impact label as a signed C2PA custom assertion, in a sidecar manifest (optional).

Where a signing certificate is configured (``[c2pa]`` in ``xcr.toml``), a labelled PNG/JPEG
also gets a C2PA manifest store beside it: ``<stem>.c2pa`` (the C2PA sidecar convention, the
asset's name with its extension replaced). The manifest holds

* ``org.xcr.impact``: the label's fields (:func:`assertion_data`), and
* ``c2pa.actions``: one ``c2pa.created`` action with the label's IPTC digital source type
  (``trainedAlgorithmicMedia``),

hard-bound (SHA-256 over the whole file) to the *labelled* bytes, XMP segment included.

Why a sidecar and not an embedded manifest: ``xcr verify`` recovers the bytes as rendered by
removing exactly the XMP label segment. An embedded C2PA manifest would be a second inserted
segment, and the asset bytes would change a second time. The sidecar leaves the asset untouched.

Uses PyPI ``c2pa-python`` (imported lazily: the ``c2pa`` extra). No timestamp authority by
default (the tests run offline); a signature without a timestamp is only valid while the
certificate is.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from xcr_py.embed import sniff_media_type
from xcr_py.errors import InputError
from xcr_py.receipt.label import ImpactLabel

if TYPE_CHECKING:
    from xcr_py.config import C2paConfig

__all__ = [
    "ASSERTION_LABEL",
    "MAX_MANIFEST_BYTES",
    "C2paLabel",
    "SigningConfig",
    "assertion_data",
    "label_from_assertion",
    "manifest_path",
    "read_c2pa",
    "sign_label",
]

ASSERTION_LABEL: Final = "org.xcr.impact"
"""Label of the custom assertion (reverse-domain, as C2PA asks of non-standard assertions)."""

MAX_MANIFEST_BYTES: Final = 1024 * 1024
"""Largest sidecar the reader accepts; an XCR manifest without thumbnail is ~12 KiB + chain."""

Algorithm = Literal["es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"]
ALGORITHMS: Final = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")

_MEDIA_TYPES: Final = ("image/png", "image/jpeg")
# uint256 fields travel as decimal strings: c2pa-rs parses JSON numbers as u64/f64, and a
# token id above 2**64 would silently become a rounded float.
_BIG_INT_FIELDS: Final = ("token_id", "gross_mg", "removed_mg")
_TWINS: Final = ("gross_g", "removed_g", "ratio")


@dataclass(frozen=True)
class SigningConfig:
    """What signing needs: PEM files and the algorithm that matches the key.

    Attributes:
        cert_chain: PEM file, end-entity certificate first, then intermediates (not the root).
        private_key: PEM file with the end-entity's private key (PKCS#8 or SEC1).
        algorithm: ``es256`` (P-256), ``es384``, ``es512``, ``ps256``.., or ``ed25519``.
        tsa_url: RFC 3161 timestamp authority, None for none (offline).
    """

    cert_chain: Path
    private_key: Path
    algorithm: Algorithm = "es256"
    tsa_url: str | None = None

    @classmethod
    def from_config(cls, config: C2paConfig) -> SigningConfig | None:
        """The signing configuration of the ``[c2pa]`` section, None when it is off."""
        if config.cert_chain is None or config.private_key is None:
            return None
        return cls(config.cert_chain, config.private_key, config.algorithm, config.tsa_url)


@dataclass(frozen=True)
class C2paLabel:
    """What the reader found in a C2PA manifest for an asset.

    Attributes:
        label: the impact label rebuilt from the ``org.xcr.impact`` assertion.
        assertion: the assertion's data as stored.
        validation_state: c2pa's verdict: ``Trusted`` (signer chains to a given anchor),
            ``Valid`` (signature and hashes good, signer not on a trust list) or ``Invalid``.
        failures: failure codes of the active manifest (e.g. ``assertion.dataHash.mismatch``).
        digital_source_type: from the ``c2pa.actions`` ``c2pa.created`` action, if present.
        signer: common name of the signing certificate, if c2pa reported one.
        manifest: path of the sidecar read.
    """

    label: ImpactLabel
    assertion: dict[str, Any]
    validation_state: str
    failures: tuple[str, ...]
    digital_source_type: str | None
    signer: str | None
    manifest: Path

    @property
    def hash_mismatch(self) -> bool:
        """True when the asset bytes no longer match the manifest's hard binding."""
        return any(code.startswith("assertion.dataHash.mismatch") for code in self.failures)


def manifest_path(asset: str | os.PathLike[str]) -> Path:
    """The sidecar for ``asset``: same folder and stem, extension ``.c2pa``."""
    return Path(asset).with_suffix(".c2pa")


def assertion_data(label: ImpactLabel) -> dict[str, Any]:
    """The ``org.xcr.impact`` assertion: the label's fields plus exact decimal twins.

    Integers that may exceed 2**64 (token id, masses) are decimal strings; ``gross_g``,
    ``removed_g`` and ``ratio`` repeat the masses and ratio for people, as exact decimals.
    """
    data = label.to_dict()
    for name in _BIG_INT_FIELDS:
        data[name] = str(data[name])
    data["gross_g"] = _decimal_text(label.gross_g)
    data["removed_g"] = _decimal_text(label.removed_g)
    data["ratio"] = _decimal_text(label.ratio)
    return data


def _decimal_text(value: Decimal) -> str:
    """Plain decimal without trailing zeros, as the XMP twins write it (1.100 -> "1.1")."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def label_from_assertion(data: object) -> ImpactLabel:
    """Inverse of :func:`assertion_data`; checks the twins agree with the exact fields.

    Raises:
        InputError: ``c2pa.assertion`` / ``label.<field>`` for a malformed assertion.
    """
    if not isinstance(data, dict):
        raise InputError("c2pa.assertion", f"must be an object, got {type(data).__name__}")
    fields = dict(data)
    twins = {name: fields.pop(name, None) for name in _TWINS}
    for name in _BIG_INT_FIELDS:
        text = fields.get(name)
        if not isinstance(text, str) or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
            raise InputError(f"label.{name}", f"must be a canonical decimal string, got {text!r}")
        fields[name] = int(text)
    label = ImpactLabel.from_dict(fields)
    exact = {"gross_g": label.gross_g, "removed_g": label.removed_g, "ratio": label.ratio}
    for name, value in exact.items():
        twin = twins[name]
        if not isinstance(twin, str) or twin != _decimal_text(value):
            raise InputError(f"label.{name}", f"{twin!r} disagrees with the exact value {value}")
    return label


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError as exc:  # the optional extra is not installed
        raise InputError(
            "c2pa", "signing needs PyPI c2pa-python: pip install 'xcr[c2pa]'"
        ) from exc
    return c2pa


def _read_pem(field: str, path: Path) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(field, f"cannot read {path} ({exc.strerror})") from None
    if b"-----BEGIN " not in data:
        raise InputError(field, f"{path} is not a PEM file")
    return data


def _asset_bytes(asset: Path) -> tuple[bytes, str]:
    if not asset.is_file():
        raise InputError("path", f"{asset} is not an existing file")
    data = asset.read_bytes()
    media_type = sniff_media_type(data)
    if media_type not in _MEDIA_TYPES:
        raise InputError("media_type", f"{media_type or 'unrecognised'}; C2PA signing here "
                                       f"supports {', '.join(_MEDIA_TYPES)} only")
    return data, media_type


def _generator() -> dict[str, str]:
    try:
        return {"name": "xcr", "version": version("xcr")}
    except PackageNotFoundError:
        return {"name": "xcr"}


def _manifest_definition(label: ImpactLabel, title: str) -> dict[str, Any]:
    return {
        "claim_generator_info": [_generator()],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {"action": "c2pa.created", "digitalSourceType": label.digital_source_type}
                    ]
                },
            },
            {"label": ASSERTION_LABEL, "data": assertion_data(label)},
        ],
    }


def sign_label(
    asset: str | os.PathLike[str],
    label: ImpactLabel,
    signing: SigningConfig,
    *,
    replace: bool = False,
) -> Path:
    """Sign ``label`` for the file at ``asset`` into its sidecar manifest and return that path.

    The asset is read, never written. The sidecar is written atomically.

    Raises:
        InputError: missing or unsupported asset (``path`` / ``media_type``), unreadable PEM
            (``c2pa.cert_chain`` / ``c2pa.private_key``), an existing sidecar and not
            ``replace`` (``c2pa.manifest``), or a certificate/key c2pa refuses (``c2pa``, with
            c2pa's message). Nothing is written in any of these cases.
    """
    c2pa = _c2pa()
    source = Path(asset)
    data, media_type = _asset_bytes(source)
    target = manifest_path(source)
    if target.exists() and not replace:
        raise InputError("c2pa.manifest", f"{target} exists; pass replace=True to re-sign")
    if signing.algorithm not in ALGORITHMS:
        raise InputError("c2pa.algorithm", f"must be one of {', '.join(ALGORITHMS)}")
    chain = _read_pem("c2pa.cert_chain", signing.cert_chain)
    key = _read_pem("c2pa.private_key", signing.private_key)
    # No thumbnail: the sidecar would otherwise carry a JPEG copy of the image (~30 KiB).
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    try:
        info = c2pa.C2paSignerInfo(signing.algorithm.encode(), chain, key,
                                   signing.tsa_url.encode() if signing.tsa_url else None)
        with (
            c2pa.Signer.from_info(info) as signer,
            c2pa.Builder(_manifest_definition(label, source.name), context) as builder,
        ):
            builder.set_no_embed()
            manifest = bytes(builder.sign(signer, media_type, io.BytesIO(data), io.BytesIO()))
    except c2pa.C2paError as exc:
        raise InputError("c2pa", f"signing failed: {exc}") from None
    _atomic_write(target, manifest)
    return target


def read_c2pa(
    asset: str | os.PathLike[str],
    *,
    trust_anchors: str | os.PathLike[str] | None = None,
) -> C2paLabel:
    """Read and validate the sidecar manifest of ``asset``: its label and c2pa's verdict.

    Args:
        asset: the labelled PNG/JPEG; its sidecar is :func:`manifest_path` of it.
        trust_anchors: PEM file of CA certificates to trust; with it a good signature from a
            certificate chaining to one of them reads ``Trusted``, without it ``Valid``.

    Raises:
        InputError: missing/unsupported asset, no or oversized sidecar (``c2pa.manifest``),
            no ``org.xcr.impact`` assertion or a malformed one, c2pa cannot parse the manifest.
    """
    c2pa = _c2pa()
    source = Path(asset)
    data, media_type = _asset_bytes(source)
    sidecar = manifest_path(source)
    if not sidecar.is_file():
        raise InputError("c2pa.manifest", f"{sidecar} does not exist")
    if sidecar.stat().st_size > MAX_MANIFEST_BYTES:
        raise InputError("c2pa.manifest", f"{sidecar} is over {MAX_MANIFEST_BYTES} bytes")
    settings: dict[str, Any] = {}
    if trust_anchors is not None:
        anchors = _read_pem("c2pa.trust_anchors", Path(trust_anchors))
        settings = {"trust": {"trust_anchors": anchors.decode("ascii", "replace")},
                    "verify": {"verify_trust": True}}
    try:
        context = c2pa.Context.from_dict(settings)
        with c2pa.Reader(media_type, io.BytesIO(data), sidecar.read_bytes(), context) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError as exc:
        raise InputError("c2pa.manifest", f"c2pa cannot read {sidecar.name}: {exc}") from None
    active = store.get("manifests", {}).get(store.get("active_manifest") or "", {})
    assertions = {a.get("label"): a.get("data") for a in active.get("assertions", [])}
    if ASSERTION_LABEL not in assertions:
        raise InputError("c2pa.assertion", f"{sidecar.name} has no {ASSERTION_LABEL} assertion")
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = tuple(str(item.get("code")) for item in results.get("failure") or ())
    source_type = None
    for key in ("c2pa.actions", "c2pa.actions.v2"):
        for action in (assertions.get(key) or {}).get("actions") or ():
            if action.get("action") == "c2pa.created":
                source_type = action.get("digitalSourceType")
    return C2paLabel(
        label=label_from_assertion(assertions[ASSERTION_LABEL]),
        assertion=assertions[ASSERTION_LABEL],
        validation_state=str(store.get("validation_state")),
        failures=failures,
        digital_source_type=source_type,
        signer=(active.get("signature_info") or {}).get("common_name"),
        manifest=sidecar,
    )


def _atomic_write(target: Path, payload: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
