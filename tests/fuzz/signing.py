"""Fast EIP-712 digests and signatures for the fuzzer (same bytes as :mod:`xcr_py.oracle.eip712`).

``xcr_py.oracle.sign`` builds the full typed-data document through eth-account for every
signature; the fuzzer signs thousands of reports, so it hashes the struct directly and signs the
digest. ``tests/fuzz/test_state_machine.py::test_fast_signatures_match_the_oracle`` proves both
give the same signature.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from xcr_py.oracle import BatchReport, MeteringReport

__all__ = ["domain_separator", "report_digest", "sign_digest", "struct_hash"]

_DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


@cache
def domain_separator(chain_id: int, verifying_contract: str) -> bytes:
    """EIP-712 domain separator of the XCR controller (name "XCR", version "1")."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                _DOMAIN_TYPEHASH,
                keccak(text="XCR"),
                keccak(text="1"),
                chain_id,
                to_checksum_address(verifying_contract),
            ],
        )
    )


@cache
def _typehash(report_type: type[MeteringReport] | type[BatchReport]) -> bytes:
    fields = ",".join(f"{t} {n}" for n, t in report_type.FIELDS)
    return keccak(text=f"{report_type.TYPE_NAME}({fields})")


def struct_hash(report: MeteringReport | BatchReport) -> bytes:
    """``keccak256(abi.encode(TYPEHASH, report))`` as the controller computes it."""
    types = ["bytes32", *(t for _, t in report.FIELDS)]
    return keccak(abi_encode(types, [_typehash(type(report)), *report.as_tuple()]))


def report_digest(report: MeteringReport | BatchReport, separator: bytes) -> bytes:
    """The EIP-712 digest oracles sign."""
    return keccak(b"\x19\x01" + separator + struct_hash(report))


@cache
def _account(private_key: str) -> Any:
    return Account.from_key(private_key)  # deriving the public key costs ~5 ms: once per key


def sign_digest(private_key: str, digest: bytes) -> bytes:
    """65-byte r || s || v signature of ``digest``."""
    return bytes(_account(private_key).unsafe_sign_hash(digest).signature)
