"""Oracle keys: loading, EIP-712 signing, k-of-n quorums, and that secrets never leak."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import traceback
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from xcr_py.config import KeySource, OracleConfig
from xcr_py.errors import OracleError
from xcr_py.oracle.keys import (
    KeyLoadError,
    OracleQuorum,
    OracleSigner,
    load_quorum,
    load_signer,
)

KEYS = [bytes([i]) * 32 for i in (1, 2, 3)]
HEX = ["0x" + k.hex() for k in KEYS]
PASSWORD = "correct horse battery staple 42"

MESSAGE = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                         {"name": "chainId", "type": "uint256"},
                         {"name": "verifyingContract", "type": "address"}],
        "Report": [{"name": "receiptDigest", "type": "bytes32"},
                   {"name": "grossMg", "type": "uint256"}],
    },
    "primaryType": "Report",
    "domain": {"name": "XCR", "version": "1", "chainId": 1337,
               "verifyingContract": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
    "message": {"receiptDigest": "0x" + "ab" * 32, "grossMg": 130},
}


def _keystore(tmp_path: Path, key: bytes = KEYS[0], name: str = "k.json") -> Path:
    # A light scrypt cost keeps the test fast; the file format is the standard one.
    path = tmp_path / name
    path.write_text(json.dumps(Account.encrypt(key, PASSWORD, kdf="scrypt", iterations=2**10)))
    return path


def _secrets() -> list[str]:
    return [*HEX, *(h[2:] for h in HEX), PASSWORD]


def _assert_clean(text: str) -> None:
    for secret in _secrets():
        assert secret not in text


def test_sign_typed_data_recovers_to_address() -> None:
    signer = OracleSigner.from_private_key(HEX[0])
    assert signer.address == Account.from_key(KEYS[0]).address
    signature = signer.sign_typed_data(MESSAGE)
    assert len(signature) == 65 and signature[64] in (27, 28)
    recovered = Account.recover_message(encode_typed_data(full_message=MESSAGE),
                                        signature=signature)
    assert recovered == signer.address
    other = {**MESSAGE, "message": {**MESSAGE["message"], "grossMg": 131}}
    assert signer.sign_typed_data(other) != signature


def test_env_and_keystore_sources(tmp_path: Path) -> None:
    path = _keystore(tmp_path)
    env = {"ORACLE_KEY": HEX[1], "KS_PW": PASSWORD}
    from_env = load_signer(KeySource(private_key_env="ORACLE_KEY"), env)
    from_file = load_signer(KeySource(keystore=path, password_env="KS_PW"), env)
    prompted: list[str] = []

    def prompt(question: str) -> str:
        prompted.append(question)
        return PASSWORD

    from_prompt = load_signer(KeySource(keystore=path), {}, prompt=prompt)
    assert from_env.address == Account.from_key(KEYS[1]).address
    assert from_file.address == from_prompt.address == Account.from_key(KEYS[0]).address
    assert prompted and str(path) in prompted[0]


@pytest.mark.parametrize(("make", "needle"), [
    (lambda p: load_signer(KeySource(keystore=p, password_env="PW"), {"PW": "wrong " + PASSWORD}),
     "wrong password"),
    (lambda p: load_signer(KeySource(private_key_env="K"), {"K": HEX[0][:-2]}),
     "oracle key variable K: is not a 32-byte hex private key"),
    (lambda p: load_signer(KeySource(private_key_env="K"), {"K": HEX[0][:-1] + "z"}),
     "is not a 32-byte hex private key"),
    (lambda p: load_signer(KeySource(private_key_env="K"), {}), "K: is not set"),
    (lambda p: load_signer(KeySource(keystore=p, password_env="PW"), {}),
     "PW: is not set"),
    (lambda p: load_signer(KeySource(keystore=p), {}, prompt=None), "prompting is disabled"),
    (lambda p: load_signer(KeySource(keystore=p.with_name("absent.json"), password_env="PW"),
                           {"PW": PASSWORD}), "cannot be read"),
])
def test_errors_name_source_never_secret(tmp_path: Path, make, needle: str) -> None:  # type: ignore[no-untyped-def]
    path = _keystore(tmp_path)
    with pytest.raises(KeyLoadError) as info:
        make(path)
    assert needle in str(info.value)
    # Neither the message, the chained exceptions nor the formatted traceback hold a secret.
    _assert_clean("".join(traceback.format_exception(info.value)))
    assert info.value.__cause__ is None
    context = info.value.__context__
    while context is not None:
        _assert_clean(repr(context) + str(context))
        context = context.__context__


def test_corrupt_keystore(tmp_path: Path) -> None:
    path = _keystore(tmp_path)
    data = json.loads(path.read_text())
    data["crypto"]["ciphertext"] = "00" * 32
    path.write_text(json.dumps(data))
    with pytest.raises(KeyLoadError, match="wrong password"):  # MAC covers the ciphertext
        OracleSigner.from_keystore(path, PASSWORD)
    path.write_text("[1, 2]")
    with pytest.raises(KeyLoadError, match="is not a keystore"):
        OracleSigner.from_keystore(path, PASSWORD)


def test_no_secret_in_repr_str_logs_or_output(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    path = _keystore(tmp_path)
    signer = load_signer(KeySource(keystore=path, password_env="PW"), {"PW": PASSWORD})
    quorum = OracleQuorum([signer, OracleSigner.from_private_key(HEX[1])], threshold=2)
    signatures = quorum.sign_typed_data(MESSAGE)
    with pytest.raises(KeyLoadError):
        load_signer(KeySource(keystore=path, password_env="PW"), {"PW": "nope"})
    texts = [repr(signer), str(signer), f"{signer}", repr(quorum), repr(signatures),
             caplog.text, *(r.getMessage() for r in caplog.records), *capsys.readouterr()]
    for text in texts:
        _assert_clean(text)
    assert signer.address in repr(signer)
    assert not hasattr(signer, "__dict__")  # slots only: vars() cannot dump the key


def test_signer_cannot_be_pickled_or_copied() -> None:
    signer = OracleSigner.from_private_key(KEYS[0])
    for attempt in (lambda: pickle.dumps(signer), lambda: copy.copy(signer),
                    lambda: copy.deepcopy(signer)):
        with pytest.raises(TypeError, match="cannot be pickled or copied"):
            attempt()


def test_invalid_typed_data_is_an_oracle_error() -> None:
    signer = OracleSigner.from_private_key(KEYS[0])
    with pytest.raises(OracleError, match="not valid EIP-712"):
        signer.sign_typed_data({"types": {}, "primaryType": "Nope", "domain": {}, "message": {}})


def test_quorum_sorted_distinct_threshold() -> None:
    signers = [OracleSigner.from_private_key(k) for k in KEYS]
    quorum = OracleQuorum(reversed(signers), threshold=2)
    numeric = [int(a, 16) for a in quorum.addresses]
    assert numeric == sorted(numeric) and len(numeric) == 3
    two = quorum.sign_typed_data(MESSAGE)
    assert [s.signer for s in two] == list(quorum.addresses[:2])
    all_three = quorum.sign_typed_data(MESSAGE, count=3)
    signable = encode_typed_data(full_message=MESSAGE)
    for item in all_three:
        assert Account.recover_message(signable, signature=item.signature) == item.signer
    with pytest.raises(OracleError, match="count: must be between 2 and 3"):
        quorum.sign_typed_data(MESSAGE, count=1)
    with pytest.raises(OracleError, match="configured twice"):
        OracleQuorum([signers[0], OracleSigner.from_private_key(HEX[0])])
    with pytest.raises(OracleError, match="threshold: must be between 1 and 3"):
        OracleQuorum(signers, threshold=4)


def test_load_quorum_from_config(tmp_path: Path) -> None:
    path = _keystore(tmp_path, KEYS[2])
    config = OracleConfig(private_key_env="K0", threshold=2,
                          extra_keys=(KeySource(private_key_env="K1"),
                                      KeySource(keystore=path, password_env="PW")))
    quorum = load_quorum(config, {"K0": HEX[0], "K1": HEX[1], "PW": PASSWORD})
    assert set(quorum.addresses) == {Account.from_key(k).address for k in KEYS}
    assert quorum.threshold == 2
    with pytest.raises(KeyLoadError, match="no key configured"):
        load_quorum(OracleConfig(), {})
