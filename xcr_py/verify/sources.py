"""Opening what a verifier reads: the block store and the chain named by the configuration.

Read-only: nothing is sent. The embedded chain is opened from its journal (one process holds
it at a time); an RPC chain is connected by URL. Tests and callers that already hold a
connection pass it in instead.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from xcr_py.chain.deployment import Deployment
from xcr_py.chain.gateway import XcrGateway
from xcr_py.config import XcrConfig
from xcr_py.content.factory import open_store
from xcr_py.content.store import BlockStore
from xcr_py.errors import ConfigError

__all__ = ["READ_ONLY_KEY", "ChainView", "open_chain", "open_verify_store", "read_gateway"]

READ_ONLY_KEY = "0x" + "11" * 32
"""A fixed throw-away key: the gateway needs a sender, the verifier only ever calls views."""


@dataclass(frozen=True)
class ChainView:
    """A connection and the deployment it holds."""

    w3: Web3
    deployment: Deployment


def read_gateway(view: ChainView) -> XcrGateway:
    """A gateway for reads only (its key never signs anything)."""
    return XcrGateway(view.w3, view.deployment, READ_ONLY_KEY)


def open_verify_store(config: XcrConfig) -> BlockStore:
    """The configured block store (local folder or Kubo RPC).

    Raises:
        ConfigError: a local store folder that does not exist (a verifier creates nothing).
    """
    if config.store.backend == "local" and not Path(config.store_path).is_dir():
        raise ConfigError(f"store.path: {config.store_path} is not an existing block store")
    return open_store(config)


def open_chain(config: XcrConfig, stack: ExitStack) -> ChainView:
    """Connect to the configured chain; ``stack`` closes the embedded chain afterwards.

    Raises:
        ConfigError: no ``chain.deployment_file``, or it cannot be read.
        ChainError: the node does not answer, or the embedded chain is held by another process.
    """
    file = config.chain.deployment_file
    if file is None:
        raise ConfigError("chain.deployment_file: is required to verify on chain (the demo's "
                          "xcr.toml names one)")
    try:
        deployment = Deployment.load(Path(file))
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"chain.deployment_file: cannot read {file} ({exc})") from None
    if config.chain.backend == "rpc":
        from xcr_py.chain.connect import connect

        assert config.chain.rpc_url is not None  # the config validator requires it
        return ChainView(connect(config.chain.rpc_url), deployment)
    from xcr_py.chain.embedded import EmbeddedChain

    chain = stack.enter_context(EmbeddedChain(Path(config.chain.data_dir)))
    return ChainView(chain.w3, deployment)
