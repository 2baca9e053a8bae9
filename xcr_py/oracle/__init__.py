"""Oracle stage: EIP-712 typed metering reports, signatures and batch Merkle trees."""

from xcr_py.oracle.eip712 import (
    BatchReport,
    Domain,
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

__all__ = [
    "BatchReport",
    "Domain",
    "Leaf",
    "MerkleTree",
    "MeteringReport",
    "leaf_hash",
    "recover",
    "sign",
    "sign_all",
    "typed_data",
    "verify_proof",
]
