"""Chain reads the settlement worker needs to resume safely: token ids and the settling tx.

After a crash, an outbox row in ``signed`` or ``submitted`` may already be settled on chain
by a transaction whose result was never recorded. These reads answer "is it there, and which
transaction put it there" without sending anything.
"""

from __future__ import annotations

from eth_utils import keccak

from xcr_py.chain.gateway import BATCH_BIT, XcrGateway, asset_token_id
from xcr_py.errors import ChainError

__all__ = ["asset_token_id", "batch_token_id", "settling_tx"]

_ISSUED_TOPIC = keccak(
    text="ReceiptIssued(uint256,bytes32,uint256,bytes32,uint256,uint256,uint256)"
)


def batch_token_id(root: bytes) -> int:
    """The batch receipt token id the controller derives: the Merkle root with the top bit set.

    Known before submission, so a restarted worker can look the batch up on chain.
    """
    return int.from_bytes(root, "big") | BATCH_BIT


def settling_tx(gateway: XcrGateway, token_id: int) -> str:
    """Hash of the transaction that minted receipt ``token_id`` (from its ``ReceiptIssued`` log).

    Raises:
        ChainError: no such log since the deployment block (the token does not exist).
    """
    logs = gateway.w3.eth.get_logs({
        "fromBlock": gateway.deployment.block_number,
        "toBlock": "latest",
        "address": gateway.receipts.address,
        "topics": ["0x" + _ISSUED_TOPIC.hex(), "0x" + token_id.to_bytes(32, "big").hex()],
    })
    if not logs:
        raise ChainError(f"no ReceiptIssued log for token {token_id}")
    tx = logs[0]["transactionHash"]
    return "0x" + bytes(tx).hex().removeprefix("0x")
