"""Key hygiene: the oracle private key and the keystore password appear in no log line, no
exception text and no file a full run writes.

A fresh oracle key (never used elsewhere) is encrypted into a keystore whose password comes
from an environment mapping; the tracker loads its quorum from configuration the way a
deployment does. With every logger at DEBUG (web3, urllib3, xcr_py ...), it settles assets in
single and batch mode on anvil, then walks error paths: a wrong password, a malformed key
variable, a missing password variable, a contract revert of a report the key signed, an
attempt to pickle the signer. Every log record (formatted, with exception text) and every
exception (str, repr, formatted traceback with its whole cause/context chain) is searched for
the key (hex with and without ``0x``, either case) and the password; so are the outbox, the
block store and the config files, as bytes.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import secrets
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account import Account

from tests.chain.helpers import make_env, single_report
from tests.client.helpers import asset_bytes, estimate_meter, make_config
from xcr_py.chain import connect
from xcr_py.chain.nodes import LocalNode, start_anvil
from xcr_py.client import Tracker
from xcr_py.content.local import LocalStore
from xcr_py.errors import ContractRevert
from xcr_py.oracle.eip712 import sign_all
from xcr_py.oracle.keys import KeyLoadError, OracleSigner, load_quorum
from xcr_py.oracle.outbox import Outbox


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # includes exc_info / stack text


def _exception_texts(exc: BaseException) -> list[str]:
    """str, repr and traceback of ``exc`` and of every cause and (even suppressed) context."""
    texts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), *traceback.format_exception(current),
                  *(repr(a) for a in current.args)]
        todo += [current.__cause__, current.__context__]
    return texts


@pytest.fixture
def all_logs() -> Iterator[_Collector]:
    root = logging.getLogger()
    collector = _Collector()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        yield collector
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)


@pytest.fixture(scope="module")
def node() -> Iterator[LocalNode]:
    anvil = start_anvil()
    try:
        yield anvil
    finally:
        anvil.stop()


def test_no_key_or_password_in_logs_errors_or_files(node: LocalNode, tmp_path: Path,
                                                     all_logs: _Collector) -> None:
    secret = "0x" + secrets.token_hex(32)
    password = "pw-" + secrets.token_urlsafe(18)
    oracle = Account.from_key(secret)
    keystore = tmp_path / "oracle.json"
    keystore.write_text(json.dumps(
        Account.encrypt(bytes.fromhex(secret[2:]), password, kdf="pbkdf2", iterations=1000)))
    env_vars = {"XCR_ORACLE_PASSWORD": password}

    keys = list(node.private_keys)
    w3 = connect(node.url)
    world = make_env("anvil", w3, keys[0:6])
    world.admin.grant_oracle(oracle.address)
    errors: list[BaseException] = []

    def expect(error: type[BaseException], call: Callable[[], object]) -> None:
        with pytest.raises(error) as info:
            call()
        errors.append(info.value)

    # The full pipeline, with the quorum loaded from configuration (keystore + password env).
    store = LocalStore(tmp_path / "store")
    for mode in ("single", "batch"):
        config = make_config(tmp_path / mode, **{
            "mode.kind": mode, "mode.batch_size": 3, "mode.max_delay_s": 0.2,
            "oracle.keystore": str(keystore), "oracle.password_env": "XCR_ORACLE_PASSWORD"})
        outbox = Outbox(tmp_path / f"{mode}.sqlite")
        gateway = type(world.admin)(w3, world.deployment, keys[6])
        with Tracker(config, meter=estimate_meter(), store=store, gateway=gateway,
                     outbox=outbox, env=env_vars) as tracker:
            for i in range(3):
                with tracker.track(asset_bytes(7000 + i + (10 if mode == "batch" else 0)),
                                   model="hygiene", campaign="keys"):
                    pass
            results = tracker.flush(120)
        outbox.close()
        assert [r.state for r in results] == ["confirmed"] * 3
        logging.getLogger("xcr_py").debug("pipeline %s done: %s", mode, results)

    # Error paths.
    config = make_config(tmp_path / "bad", **{
        "oracle.keystore": str(keystore), "oracle.password_env": "XCR_ORACLE_PASSWORD"})
    wrong = {"XCR_ORACLE_PASSWORD": password[::-1]}
    expect(KeyLoadError, lambda: load_quorum(config.oracle, wrong, prompt=None))
    expect(KeyLoadError, lambda: load_quorum(config.oracle, {}, prompt=None))
    env_config = make_config(tmp_path / "env", **{"oracle.private_key_env": "XCR_ORACLE_KEY"})
    expect(KeyLoadError, lambda: load_quorum(env_config.oracle,
                                             {"XCR_ORACLE_KEY": secret[:-1]}, prompt=None))
    expect(KeyLoadError, lambda: load_quorum(env_config.oracle,
                                             {"XCR_ORACLE_KEY": secret + "00"}, prompt=None))
    expired = single_report(world, deadline=world.deadline() - 7200)
    expect(ContractRevert, lambda: world.holder.submit_single(
        expired, sign_all(expired, world.domain, [secret])))
    signer = OracleSigner.from_private_key(secret)
    expect(Exception, lambda: pickle.dumps(signer))
    logging.getLogger("xcr_py").debug("signer %r quorum %r", signer,
                                      load_quorum(env_config.oracle, {"XCR_ORACLE_KEY": secret},
                                                  prompt=None))

    # Search everything.
    bare = secret[2:]
    needles = {bare.lower(), bare.upper(), password, bare.lower()[:40]}
    texts = list(all_logs.lines)
    for exc in errors:
        texts += _exception_texts(exc)
    assert len(all_logs.lines) > 50, "the DEBUG capture saw too little to mean anything"
    assert any("pipeline batch done" in line for line in all_logs.lines)
    assert any("wrong password" in t for t in texts)  # the error paths were really taken
    # Report where, never what: the failure message must not become a leak of its own.
    leaks = [t.replace(n, "<SECRET>")[:200] for t in texts for n in needles if n in t]
    assert not leaks, leaks
    raw_key = bytes.fromhex(bare)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != keystore:
            data = path.read_bytes()
            assert raw_key not in data, path
            assert not any(n.encode() in data or n.encode() in data.lower()
                           for n in needles), path
    assert os.environ.get("XCR_ORACLE_PASSWORD") is None  # nothing leaked into the process env
