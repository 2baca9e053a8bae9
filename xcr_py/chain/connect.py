"""Connections to an EVM chain: embedded eth-tester (py-evm), a local node, or any RPC URL."""

from __future__ import annotations

from typing import Any

import requests
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.types import RPCEndpoint

from xcr_py.chain.estimate import use_two_run_estimator
from xcr_py.errors import ChainError, InputError

__all__ = ["EMBEDDED", "connect", "dev_private_keys", "is_embedded"]

EMBEDDED = "embedded"
"""The target name of the in-process eth-tester chain."""


def connect(target: str = EMBEDDED, *, timeout_s: float = 30.0) -> Web3:
    """A web3 connection to ``target``: ``"embedded"`` (eth-tester in process) or an http(s) URL.

    The embedded chain here is ephemeral; :mod:`xcr_py.chain.embedded` gives one that persists.

    Raises:
        InputError: ``target`` is neither ``"embedded"`` nor an http(s) URL.
        ChainError: the node does not answer.
    """
    if target == EMBEDDED:
        provider = EthereumTesterProvider()
        use_two_run_estimator(provider.ethereum_tester)
        return Web3(provider)
    if not target.startswith(("http://", "https://")):
        raise InputError("rpc", f"must be 'embedded' or an http(s) URL, got {target!r}")
    # eth_chainId is cached: web3's validation middleware asks for it twice around every
    # eth_call and eth_estimateGas, and a node's chain id never changes under a connection.
    w3 = Web3(HTTPProvider(target, session=_session(target), request_kwargs={"timeout": timeout_s},
                           cache_allowed_requests=True,
                           cacheable_requests={RPCEndpoint("eth_chainId")}))
    try:
        w3.eth.chain_id  # noqa: B018 - a cheap liveness probe
    except Exception as exc:  # any transport failure: the node is not there
        raise ChainError(f"no EVM node answers at {target}: {type(exc).__name__}") from exc
    return w3


def _session(url: str) -> requests.Session:
    """A session with the environment's proxy and CA settings for ``url`` read once, here.

    requests otherwise re-reads every environment variable on each request (~1 ms a call
    here, several calls per transaction); a connection's target does not move.
    """
    session = requests.Session()
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.trust_env = False
    session.proxies.update(settings["proxies"])
    session.verify = settings["verify"]
    return session


def is_embedded(w3: Web3) -> bool:
    """Whether ``w3`` talks to an in-process eth-tester chain."""
    return isinstance(w3.provider, EthereumTesterProvider)


def dev_private_keys(w3: Web3) -> list[str]:
    """Pre-funded development keys of an embedded chain (hex). Public test keys: hold no value."""
    if not is_embedded(w3):
        raise ChainError("development keys are only known for the embedded chain")
    provider: Any = w3.provider
    return [key.to_hex() for key in provider.ethereum_tester.backend.account_keys]
