"""The batch's proof and batch documents are canonical JSON, byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcr_py.content.canonical import canonical_json
from xcr_py.errors import InputError
from xcr_py.oracle.eip712 import Leaf
from xcr_py.oracle.proofs import (
    batch_document,
    batch_entry,
    batch_fields,
    proof_document,
    proof_fields,
)

digests = st.binary(min_size=32, max_size=32)
texts = st.text(max_size=12)  # any Unicode, escapes and non-ASCII included
cids = st.one_of(st.none(), texts)
leaves = st.builds(Leaf, asset_digest=digests, receipt_digest=digests,
                   creator=st.builds(lambda b, up: "0x" + (b.hex().upper() if up else b.hex()),
                                     st.binary(min_size=20, max_size=20), st.booleans()),
                   energy_mj=st.integers(0, 2**64 - 1), gross_mg=st.integers(0, 2**64 - 1))


@settings(max_examples=200, deadline=None)
@given(root=texts, index=st.integers(0, 10**6), asset_cid=cids, receipt_cid=cids, leaf=leaves,
       proof=st.lists(digests, max_size=5))
def test_proof_document_is_the_canonical_json_of_its_fields(
        root: str, index: int, asset_cid: str | None, receipt_cid: str | None, leaf: Leaf,
        proof: list[bytes]) -> None:
    assert proof_document(root, index, asset_cid, receipt_cid, leaf, proof) == canonical_json(
        proof_fields(root, index, asset_cid, receipt_cid, leaf, proof))


@settings(max_examples=100, deadline=None)
@given(items=st.lists(st.tuples(leaves, cids, cids, texts), max_size=6), root=texts,
       controller=texts, numbers=st.tuples(*[st.integers(0, 2**64)] * 5))
def test_batch_document_is_the_canonical_json_of_its_fields(
        items: list[tuple[Leaf, str | None, str | None, str]], root: str, controller: str,
        numbers: tuple[int, int, int, int, int]) -> None:
    entries = [batch_entry(*item) for item in items]
    chain_id, energy, gross, ratio, credit = numbers
    args = {"chain_id": chain_id, "controller": controller, "root": root, "energy_mj": energy,
            "gross_mg": gross, "ratio_bps": ratio, "credit_batch": credit, "entries": entries}
    assert batch_document(**args) == canonical_json(batch_fields(**args))
    assert [e.proof_cid for e in entries] == [item[3] for item in items]


def test_a_lone_surrogate_is_refused_naming_the_field() -> None:
    leaf = Leaf(asset_digest=b"\1" * 32, receipt_digest=b"\2" * 32, creator="0x" + "a" * 40,
                energy_mj=1, gross_mg=2)
    with pytest.raises(InputError) as info:
        proof_document("0x00", 0, "bad\ud800", None, leaf, [])
    assert info.value.field == "proof.asset_cid"
    entry = batch_entry(leaf, "a", "r", "p\udfff")
    with pytest.raises(InputError) as info:
        batch_document(chain_id=1, controller="0x", root="0x", energy_mj=1, gross_mg=2,
                       ratio_bps=10_000, credit_batch=1, entries=[entry])
    assert info.value.field == "batch.leaves[0].proof_cid"
