"""Chain stage: connections, shipped contract artifacts, deployment and typed contract calls."""

from xcr_py.chain.connect import EMBEDDED, connect, dev_private_keys, is_embedded
from xcr_py.chain.contracts import RevertDecoder, Sender, TxResult, load_artifact
from xcr_py.chain.deployment import Deployment, deploy, role_id
from xcr_py.chain.embedded import EmbeddedChain
from xcr_py.chain.gateway import (
    BATCH_BIT,
    CreditBatch,
    Receipt,
    RemovalMethod,
    Retirement,
    RetirementStatus,
    Settlement,
    XcrGateway,
    asset_token_id,
)

__all__ = [
    "BATCH_BIT",
    "EMBEDDED",
    "CreditBatch",
    "Deployment",
    "EmbeddedChain",
    "Receipt",
    "RemovalMethod",
    "Retirement",
    "RetirementStatus",
    "RevertDecoder",
    "Sender",
    "Settlement",
    "TxResult",
    "XcrGateway",
    "asset_token_id",
    "connect",
    "deploy",
    "dev_private_keys",
    "is_embedded",
    "load_artifact",
    "role_id",
]
