"""EIP-712 reports and the Merkle tree in Python agree byte for byte with the contract."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chain.helpers import Env, batch_report, leaves, single_report
from xcr_py.errors import InputError
from xcr_py.oracle import (
    Leaf,
    MerkleTree,
    MeteringReport,
    leaf_hash,
    recover,
    sign,
    sign_all,
    typed_data,
    verify_proof,
)
from xcr_py.oracle.eip712 import LEAF_FIELDS, leaf_abi_encoding


def test_single_digest_matches_contract(embedded_env: Env) -> None:
    from eth_account.messages import encode_typed_data

    report = single_report(embedded_env)
    signable = encode_typed_data(full_message=typed_data(report, embedded_env.domain))
    expected = keccak(b"\x19\x01" + signable.header + signable.body)
    on_chain = embedded_env.admin.controller.functions.singleDigest(report.as_tuple()).call()
    assert bytes(on_chain) == expected


def test_batch_digest_matches_contract(embedded_env: Env) -> None:
    from eth_account.messages import encode_typed_data

    batch_leaves = leaves(embedded_env, 3)
    report = batch_report(embedded_env, batch_leaves, MerkleTree(batch_leaves).root)
    signable = encode_typed_data(full_message=typed_data(report, embedded_env.domain))
    on_chain = embedded_env.admin.controller.functions.batchDigest(report.as_tuple()).call()
    assert bytes(on_chain) == keccak(b"\x19\x01" + signable.header + signable.body)


def test_domain_matches_erc5267(embedded_env: Env) -> None:
    _, name, version, chain_id, contract, _, _ = (
        embedded_env.admin.controller.functions.eip712Domain().call()
    )
    domain = embedded_env.domain
    assert (name, version, chain_id) == (domain.name, domain.version, domain.chain_id)
    assert contract == domain.verifying_contract


def test_sign_recover_and_sort(embedded_env: Env) -> None:
    report = single_report(embedded_env)
    keys = embedded_env.oracle_keys
    assert recover(report, embedded_env.domain, sign(report, embedded_env.domain, keys[0])) == (
        Account.from_key(keys[0]).address
    )
    signers = [
        recover(report, embedded_env.domain, s)
        for s in sign_all(report, embedded_env.domain, list(reversed(keys)))
    ]
    assert [int(a, 16) for a in signers] == sorted(int(a, 16) for a in signers)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("energy_mj", -1),
        ("energy_mj", 2**64),
        ("pue_milli", 2**32),
        ("asset_digest", b"\x00" * 31),
        ("creator", "0x1234"),
        ("ratio_bps", True),
    ],
)
def test_out_of_range_fields_name_the_field(embedded_env: Env, field: str, value: object) -> None:
    good = single_report(embedded_env)
    fields = {name: getattr(good, name) for name in good.__dataclass_fields__}
    fields[field] = value
    with pytest.raises(InputError) as info:
        MeteringReport(**fields)
    assert info.value.field == f"MeteringReport.{field}"


def _leaf(i: int) -> Leaf:
    return Leaf(keccak(b"a%d" % i), keccak(b"r%d" % i), "0x" + "11" * 20, i, 2 * i)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 13])
def test_every_leaf_proves_and_forgeries_fail(n: int) -> None:
    tree_leaves = [_leaf(i) for i in range(n)]
    tree = MerkleTree(tree_leaves)
    for leaf in tree_leaves:
        assert verify_proof(tree.proof(leaf), tree.root, leaf)
    assert not verify_proof(tree.proof(tree_leaves[0]), tree.root, _leaf(n + 1))
    assert tree.proofs() == [tree.proof(leaf) for leaf in tree_leaves]


def test_leaf_hash_is_double_keccak_of_abi_encoding() -> None:
    leaf = _leaf(7)
    encoded = abi_encode([t for _, t in LEAF_FIELDS], list(leaf.as_tuple()))
    assert leaf_hash(leaf) == keccak(keccak(encoded)) != keccak(encoded)


def test_tree_rejects_empty_and_duplicates() -> None:
    with pytest.raises(InputError):
        MerkleTree([])
    with pytest.raises(InputError):
        MerkleTree([_leaf(1), _leaf(1)])
    with pytest.raises(InputError):
        MerkleTree([_leaf(1)]).proof(_leaf(2))


@given(asset=st.binary(min_size=32, max_size=32), receipt=st.binary(min_size=32, max_size=32),
       creator=st.binary(min_size=20, max_size=20),
       energy=st.integers(0, 2**64 - 1), gross=st.integers(0, 2**64 - 1))
def test_leaf_encoding_is_eth_abi_encoding(asset: bytes, receipt: bytes, creator: bytes,
                                           energy: int, gross: int) -> None:
    """The hand-written leaf encoding equals eth-abi's for every value the Leaf accepts."""
    leaf = Leaf(asset_digest=asset, receipt_digest=receipt, creator="0x" + creator.hex(),
                energy_mj=energy, gross_mg=gross)
    expected = abi_encode([t for _, t in LEAF_FIELDS], [asset, receipt,
                          to_checksum_address(creator), energy, gross])
    assert leaf_abi_encoding(leaf) == expected
    assert leaf_hash(leaf) == keccak(keccak(expected))


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=300))
def test_keccak_is_eth_utils_keccak(data: bytes) -> None:
    from xcr_py.oracle.eip712 import keccak as fast_keccak

    assert fast_keccak(data) == keccak(data)
