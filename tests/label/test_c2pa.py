"""The impact label as a signed C2PA custom assertion in a sidecar manifest (c2pa-python).

A throwaway CA and an ES256 end-entity certificate are made here with ``cryptography``; c2pa-rs
wants the end entity to carry digitalSignature and an EKU it accepts (emailProtection here),
an authority key identifier, and to chain to a CA (self-signed signers are refused).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.label.helpers import jpeg_bytes, make_label, png_bytes
from xcr_py import embed
from xcr_py.config import C2paConfig, load_config
from xcr_py.embed.c2pa import (
    SigningConfig,
    assertion_data,
    label_from_assertion,
    manifest_path,
    read_c2pa,
    sign_label,
)
from xcr_py.errors import ConfigError, InputError
from xcr_py.receipt.label import TRAINED_ALGORITHMIC_MEDIA


@dataclass(frozen=True)
class Pki:
    ca: Path
    chain: Path
    key: Path
    folder: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "XCR test")])


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                         crl_sign=ca, encipher_only=False, decipher_only=False)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_pki(folder: Path, *, eku: bool = True, self_signed: bool = False) -> Pki:
    """A CA and an ES256 end entity under it (or a self-signed one), as PEM files."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("XCR test CA")).issuer_name(_name("XCR test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = _name("XCR signer" if self_signed else "XCR test CA")
    signing_key = key if self_signed else ca_key
    builder = (
        x509.CertificateBuilder().subject_name(_name("XCR signer")).issuer_name(issuer)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True, ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    if not self_signed:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    chain = cert.public_bytes(serialization.Encoding.PEM) + (b"" if self_signed else ca_pem)
    (folder / "ca.pem").write_bytes(ca_pem)
    (folder / "chain.pem").write_bytes(chain)
    (folder / "key.pem").write_bytes(_pem_key(key))
    return Pki(folder / "ca.pem", folder / "chain.pem", folder / "key.pem", folder)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def signing(pki: Pki) -> SigningConfig:
    return SigningConfig(pki.chain, pki.key, "es256")


FORMATS = {"png": lambda: png_bytes((64, 48), seed=3), "jpeg": lambda: jpeg_bytes((64, 48), seed=3)}


def _labelled(tmp_path: Path, kind: str, **label_fields: object) -> tuple[Path, bytes]:
    label = make_label(**label_fields)
    data = embed.embed(FORMATS[kind](), label)
    path = tmp_path / f"asset.{'png' if kind == 'png' else 'jpg'}"
    path.write_bytes(data)
    return path, data


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_signed_sidecar_carries_the_label_and_leaves_the_asset_alone(
    tmp_path: Path, kind: str, pki: Pki, signing: SigningConfig
) -> None:
    asset, data = _labelled(tmp_path, kind, retirement_status="pending")
    label, original = embed.extract(data)
    before = _sha(asset)

    written = sign_label(asset, label, signing)

    assert written == manifest_path(asset) == tmp_path / "asset.c2pa"
    assert _sha(asset) == before  # sidecar: the labelled bytes are not touched
    assert embed.extract(asset.read_bytes()) == (label, original)  # xcr verify's view is intact
    found = read_c2pa(asset, trust_anchors=pki.ca)
    assert found.validation_state == "Trusted", found.failures
    assert found.failures == ()
    assert found.label == label
    assert found.assertion == assertion_data(label)
    assert found.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert found.signer == "XCR signer"
    assert not found.hash_mismatch


def test_without_trust_anchors_the_signature_is_valid_but_untrusted(
    tmp_path: Path, signing: SigningConfig
) -> None:
    asset, data = _labelled(tmp_path, "png")
    sign_label(asset, embed.extract(data)[0], signing)
    found = read_c2pa(asset)
    assert found.validation_state == "Valid"
    assert found.failures == ("signingCredential.untrusted",)


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_one_changed_asset_byte_is_a_hash_mismatch(
    tmp_path: Path, kind: str, pki: Pki, signing: SigningConfig
) -> None:
    asset, data = _labelled(tmp_path, kind)
    label = embed.extract(data)[0]
    sign_label(asset, label, signing)
    tampered = bytearray(data)
    tampered[-20] ^= 0x01  # image data near the end (PNG IDAT/IEND CRC area, JPEG scan)
    asset.write_bytes(bytes(tampered))

    found = read_c2pa(asset, trust_anchors=pki.ca)

    assert found.validation_state == "Invalid"
    assert found.hash_mismatch
    assert "assertion.dataHash.mismatch" in found.failures
    assert found.label == label  # the claim is still readable; it just no longer binds


def test_a_changed_manifest_byte_is_detected(
    tmp_path: Path, pki: Pki, signing: SigningConfig
) -> None:
    asset, data = _labelled(tmp_path, "png")
    sidecar = sign_label(asset, embed.extract(data)[0], signing)
    raw = bytearray(sidecar.read_bytes())
    at = raw.find(b"biochar")
    assert at > 0
    raw[at] = ord("B")  # removal_method "Biochar" inside the signed assertion
    sidecar.write_bytes(bytes(raw))

    found = read_c2pa(asset, trust_anchors=pki.ca)

    assert found.validation_state == "Invalid"
    assert "assertion.hashedURI.mismatch" in found.failures
    assert found.label.removal_method == "Biochar"


def test_uint256_values_survive_exactly(tmp_path: Path, pki: Pki, signing: SigningConfig) -> None:
    big = 2**256 - 1
    asset, data = _labelled(tmp_path, "png", token_id=big, gross_mg=2**70 + 1, removed_mg=2**71)
    sign_label(asset, embed.extract(data)[0], signing)
    found = read_c2pa(asset, trust_anchors=pki.ca)
    assert found.label.token_id == big
    assert found.label.gross_mg == 2**70 + 1
    assert found.assertion["token_id"] == str(big)


def test_assertion_fields_and_twins() -> None:
    label = make_label()
    data = assertion_data(label)
    assert data["gross_g"] == "1.1" and data["removed_g"] == "1.3" and data["ratio"] == "1.2"
    assert {"receipt_cid", "chain_id", "receipt_contract", "token_id", "gross_mg", "removed_mg",
            "ratio_bps", "method"} <= set(data)
    assert label_from_assertion(data) == label
    with pytest.raises(InputError) as err:
        label_from_assertion({**data, "gross_g": "1.2"})
    assert err.value.field == "label.gross_g"
    with pytest.raises(InputError) as err:
        label_from_assertion({**data, "token_id": "042"})
    assert err.value.field == "label.token_id"
    with pytest.raises(InputError) as err:
        label_from_assertion({**data, "extra": 1})
    assert err.value.field == "label.extra"


def test_existing_sidecar_is_kept_unless_replace(tmp_path: Path, signing: SigningConfig) -> None:
    asset, data = _labelled(tmp_path, "png")
    label = embed.extract(data)[0]
    sidecar = sign_label(asset, label, signing)
    first = sidecar.read_bytes()
    with pytest.raises(InputError) as err:
        sign_label(asset, make_label(token_id=7), signing)
    assert err.value.field == "c2pa.manifest"
    assert sidecar.read_bytes() == first
    sign_label(asset, make_label(token_id=7), signing, replace=True)
    assert read_c2pa(asset).label.token_id == 7


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ({"self_signed": True}, "certificate is invalid"),
        ({"eku": False}, "certificate is invalid"),
    ],
)
def test_certificates_c2pa_refuses_write_nothing(
    tmp_path: Path, variant: dict[str, bool], message: str
) -> None:
    bad = make_pki(tmp_path / "bad", **variant)
    asset, data = _labelled(tmp_path, "png")
    with pytest.raises(InputError) as err:
        sign_label(asset, embed.extract(data)[0], SigningConfig(bad.chain, bad.key))
    assert err.value.field == "c2pa" and message in str(err.value)
    assert not manifest_path(asset).exists()


def test_a_key_that_does_not_match_the_certificate_is_refused(
    tmp_path: Path, pki: Pki
) -> None:
    other = make_pki(tmp_path / "other")
    asset, data = _labelled(tmp_path, "jpeg")
    with pytest.raises(InputError) as err:
        sign_label(asset, embed.extract(data)[0], SigningConfig(pki.chain, other.key))
    assert err.value.field == "c2pa"
    assert not manifest_path(asset).exists()


def test_bad_inputs_name_the_field(tmp_path: Path, pki: Pki, signing: SigningConfig) -> None:
    asset, data = _labelled(tmp_path, "png")
    label = embed.extract(data)[0]
    cases = [
        (lambda: sign_label(asset, label, SigningConfig(tmp_path / "nope.pem", pki.key)),
         "c2pa.cert_chain"),
        (lambda: sign_label(asset, label, SigningConfig(pki.chain, asset)), "c2pa.private_key"),
        (lambda: sign_label(tmp_path / "missing.png", label, signing), "path"),
        (lambda: read_c2pa(asset), "c2pa.manifest"),
    ]
    gif = tmp_path / "a.gif"
    gif.write_bytes(b"GIF89a" + bytes(32))
    cases.append((lambda: sign_label(gif, label, signing), "media_type"))
    for call, field in cases:
        with pytest.raises(InputError) as err:
            call()
        assert err.value.field == field
    assert not manifest_path(asset).exists()
    manifest_path(asset).write_bytes(b"not a manifest")
    with pytest.raises(InputError) as err:
        read_c2pa(asset)
    assert err.value.field == "c2pa.manifest" and "JUMBF" in str(err.value)


def test_config_section_is_off_by_default_and_validated(tmp_path: Path, pki: Pki) -> None:
    assert not load_config(env={}, cwd=tmp_path).c2pa.enabled
    assert SigningConfig.from_config(C2paConfig()) is None
    (tmp_path / "keys").mkdir()
    (tmp_path / "xcr.toml").write_text(
        '[c2pa]\ncert_chain = "keys/chain.pem"\nprivate_key = "keys/key.pem"\nalgorithm = "es256"\n'
    )
    config = load_config(tmp_path / "xcr.toml", env={})
    assert config.c2pa.enabled
    signing = SigningConfig.from_config(config.c2pa)
    assert signing is not None and signing.cert_chain == tmp_path / "keys" / "chain.pem"
    (tmp_path / "xcr.toml").write_text('[c2pa]\ncert_chain = "keys/chain.pem"\n')
    with pytest.raises(ConfigError, match=r"c2pa\.private_key"):
        load_config(tmp_path / "xcr.toml", env={})
    with pytest.raises(ConfigError, match=r"c2pa\.algorithm"):
        load_config(env={}, overrides={"c2pa.algorithm": "md5"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"c2pa\.tsa_url"):
        load_config(env={}, overrides={"c2pa.tsa_url": "ftp://x"}, cwd=tmp_path)


@pytest.mark.slow
def test_demo_signs_each_asset_only_when_configured(tmp_path: Path, pki: Pki) -> None:
    from xcr_py.demo.campaign import run_demo
    from xcr_py.verify import verify_file

    on = run_demo(tmp_path / "on", assets=2, size=32, steps=1, batch_size=2,
                  c2pa=C2paConfig(cert_chain=pki.chain, private_key=pki.key))
    config = load_config(on.out_dir / "xcr.toml", env={})
    assert config.c2pa.enabled  # the demo's xcr.toml records the signing setup
    for asset in on.assets:
        found = read_c2pa(asset.path, trust_anchors=pki.ca)
        assert found.validation_state == "Trusted" and found.label == asset.label
        verdict = verify_file(asset.path, config)  # the sidecar leaves `xcr verify` untouched
        assert verdict.ok, verdict

    off = run_demo(tmp_path / "off", assets=1, size=32, steps=1, batch_size=1)
    assert not load_config(off.out_dir / "xcr.toml", env={}).c2pa.enabled
    assert sorted(p.suffix for p in (off.out_dir / "assets").iterdir()) == [".png"]
    suffixes = sorted(p.suffix for p in (on.out_dir / "assets").iterdir())
    assert suffixes == [".c2pa", ".c2pa", ".png", ".png"]
