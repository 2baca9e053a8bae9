"""Building the tracker's parts from the configuration (only what the caller did not inject).

Everything here runs once, at the edge (the :class:`~xcr_py.client.tracker.Tracker`
constructor): the environment mapping is passed in, never read from ``os.environ`` here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from xcr_py.chain.deployment import Deployment
from xcr_py.chain.gateway import XcrGateway
from xcr_py.config import XcrConfig
from xcr_py.errors import ConfigError
from xcr_py.meter import EstimateSpec, Meter, open_meter
from xcr_py.oracle.outbox import Outbox

__all__ = ["DEFAULT_ESTIMATE", "OUTBOX_FILE", "default_meter", "open_gateway", "open_outbox"]

OUTBOX_FILE = "outbox.sqlite"
"""The outbox lives in ``<chain.data_dir>/outbox.sqlite`` unless one is injected."""

DEFAULT_ESTIMATE: tuple[EstimateSpec, ...] = (EstimateSpec("gpu:0", tdp_w=300.0),)
"""Declared device used only when neither NVML nor RAPL can be read (300 W, full load)."""


def open_outbox(config: XcrConfig) -> Outbox:
    """The worker's outbox file under the chain data directory (created if missing)."""
    folder = Path(config.chain.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return Outbox(folder / OUTBOX_FILE)


def default_meter(estimate: Sequence[EstimateSpec] = DEFAULT_ESTIMATE) -> Meter:
    """NVML / RAPL where readable, else the declared estimate (windows then say ``estimated``)."""
    return open_meter(estimate=estimate)


def open_gateway(config: XcrConfig, env: Mapping[str, str], submitter_key: str | None = None,
                 ) -> tuple[XcrGateway, Callable[[], None]]:
    """The deployment named by the configuration, sending from ``submitter_key``.

    RPC backend: ``chain.rpc_url`` and ``chain.deployment_file`` are required; the submitting
    key defaults to the oracle's ``private_key_env`` variable. Embedded backend: the persistent
    chain journalled in ``chain.data_dir`` (:class:`~xcr_py.chain.embedded.EmbeddedChain`, held
    exclusively until the returned ``close`` is called); the submitting key defaults to the
    oracle key variable, else the chain's first public development key.

    Returns:
        The gateway and a function that releases the connection.

    Raises:
        ConfigError: a required setting or key is missing, or the chain id differs.
    """
    chain = config.chain
    if chain.deployment_file is None:
        raise ConfigError("chain.deployment_file (from defaults): is required to settle; "
                          "deploy first (xcr demo writes one) or pass a gateway")
    deployment = Deployment.load(Path(chain.deployment_file))
    key = submitter_key
    if key is None and config.oracle.private_key_env is not None:
        key = env.get(config.oracle.private_key_env) or None
    close: Callable[[], None] = lambda: None  # noqa: E731 - nothing to release for RPC
    if chain.backend == "rpc":
        from xcr_py.chain.connect import connect

        assert chain.rpc_url is not None  # the config validator requires it
        w3 = connect(chain.rpc_url)
    else:
        from xcr_py.chain.embedded import EmbeddedChain

        embedded = EmbeddedChain(Path(chain.data_dir))
        w3, close = embedded.w3, embedded.close
        key = key or embedded.dev_private_keys()[0]
    try:
        if chain.chain_id is not None and int(w3.eth.chain_id) != chain.chain_id:
            raise ConfigError(f"chain.chain_id: node reports {w3.eth.chain_id}, config expects "
                              f"{chain.chain_id}")
        if not key:
            raise ConfigError("oracle.private_key_env: no submitting key (set the variable or "
                              "pass submitter_key)")
        return XcrGateway(w3, deployment, key), close
    except BaseException:
        close()
        raise
