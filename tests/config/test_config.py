"""Configuration precedence, path resolution, round-trips and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from xcr_py.config import XcrConfig, load_config, write_config
from xcr_py.errors import ConfigError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_valid(tmp_path: Path) -> None:
    config = load_config(env={}, cwd=tmp_path)
    assert config.chain.backend == "embedded"
    assert config.store.backend == "local"
    assert config.footprint.ratio_bps == 10_000
    assert config.mode.kind == "batch"
    assert config.oracle.key_sources == ()
    assert config.store_path == config.chain.data_dir / "blocks"


def test_precedence_defaults_file_env_overrides(tmp_path: Path) -> None:
    toml = _write(tmp_path / "xcr.toml", """
[mode]
batch_size = 8
max_delay_s = 5.0
[footprint]
pue_milli = 1500
ratio_bps = 12000
""")
    env = {"XCR_MODE_BATCH_SIZE": "16", "XCR_FOOTPRINT_PUE_MILLI": "1300"}
    config = load_config(toml, env=env, overrides={"mode.batch_size": 32, "mode.kind": None})
    assert config.mode.batch_size == 32          # override beats env beats file
    assert config.footprint.pue_milli == 1300    # env beats file
    assert config.footprint.ratio_bps == 12_000  # file beats default
    assert config.mode.max_delay_s == 5.0
    assert config.mode.kind == "batch"           # None override = flag not given


def test_xcr_toml_found_in_cwd_and_via_env(tmp_path: Path) -> None:
    _write(tmp_path / "xcr.toml", "[mode]\nkind = 'single'\n")
    assert load_config(env={}, cwd=tmp_path).mode.kind == "single"
    other = tmp_path / "sub"
    other.mkdir()
    _write(other / "x.toml", "[mode]\nbatch_size = 3\n")
    config = load_config(env={"XCR_CONFIG": "sub/x.toml"}, cwd=tmp_path)
    assert config.mode.batch_size == 3
    assert config.mode.kind == "batch"  # the named file replaces the cwd lookup


def test_relative_paths_resolve_against_file_folder(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    toml = _write(folder / "xcr.toml", "output_dir = '.'\n[chain]\ndata_dir = 'chain'\n")
    config = load_config(toml, env={}, cwd=tmp_path / "elsewhere")
    assert config.chain.data_dir == folder / "chain"
    assert config.output_dir == folder


def test_write_then_load_round_trip_and_folder_is_movable(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    config = load_config(env={}, overrides={
        "chain": {"data_dir": str(folder / "chain"), "chain_id": 1337},
        "store": {"path": str(folder / "blocks")},
        "output_dir": str(folder),
        "oracle": {"private_key_env": "DEMO_KEY", "threshold": 2,
                   "extra_keys": [{"keystore": str(folder / "k2.json"), "password_env": "PW"}]},
        "explorer_url": "https://explorer.example/tx/{tx_hash}",
    }, cwd=tmp_path)
    path = write_config(folder / "xcr.toml", config)
    text = path.read_text()
    assert "data_dir = \"chain\"" in text and str(tmp_path) not in text
    moved = tmp_path / "moved"
    folder.rename(moved)
    again = load_config(moved / "xcr.toml", env={})
    assert again.chain.data_dir == moved / "chain"
    assert again.oracle.extra_keys[0].keystore == moved / "k2.json"
    assert again.model_dump(exclude={"chain", "store", "output_dir", "oracle"}) == \
        config.model_dump(exclude={"chain", "store", "output_dir", "oracle"})
    assert again.oracle.threshold == 2 and again.chain.chain_id == 1337


@pytest.mark.parametrize(("env", "needle"), [
    ({"XCR_MODE_BATCH_SIZE": "0"}, "mode.batch_size (from XCR_MODE_BATCH_SIZE)"),
    ({"XCR_FOOTPRINT_RATIO_BPS": "9999"}, "greater than or equal to 10000"),
    ({"XCR_FOOTPRINT_PUE_MILLI": "999"}, "footprint.pue_milli"),
    ({"XCR_FOOTPRINT_ZONE": "ATLANTIS"}, "must be one of the embedded zones"),
    ({"XCR_CHAIN_BOGUS": "1"}, "chain.bogus (from XCR_CHAIN_BOGUS): unknown setting"),
    ({"XCR_NOPE": "1"}, "XCR_NOPE: unknown XCR_* variable"),
    ({"XCR_CHAIN_BACKEND": "rpc"}, "chain.rpc_url (from environment): is required"),
    ({"XCR_CHAIN_RPC_URL": "ftp://x"}, "chain.rpc_url"),
    ({"XCR_STORE_KUBO_URL": "localhost:5001"}, "must be a multiaddr"),
    ({"XCR_STORE_TIMEOUT_S": "0"}, "store.timeout_s"),
    ({"XCR_MODE_KIND": "stream"}, "mode.kind"),
    ({"XCR_EXPLORER_URL": "https://x/{txid}"}, "unknown placeholder"),
    ({"XCR_ORACLE_PRIVATE_KEY_ENV": "1BAD"}, "oracle.private_key_env"),
    ({"XCR_ORACLE_THRESHOLD": "2", "XCR_ORACLE_PRIVATE_KEY_ENV": "K"},
     "oracle.threshold (from XCR_ORACLE_THRESHOLD): must be <= number of keys (1)"),
])
def test_bad_values_name_field_and_limit(tmp_path: Path, env: dict[str, str],
                                         needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env=env, cwd=tmp_path)
    assert needle in str(info.value)


def test_unknown_file_keys_name_dotted_path_and_file(tmp_path: Path) -> None:
    toml = _write(tmp_path / "bad.toml", "[oracle]\nthreshold = 1\n[[oracle.extra_keys]]\n"
                  "keystore = 'k.json'\ncolour = 'red'\n[chain]\nrpc = 'x'\n")
    with pytest.raises(ConfigError) as info:
        load_config(toml, env={})
    message = str(info.value)
    assert f"oracle.extra_keys.0.colour (from {toml})" in message
    assert "chain.rpc (from" in message and "known: backend" in message


def test_secret_variables_are_not_settings(tmp_path: Path) -> None:
    # A key held in XCR_ORACLE_KEY is named by the config, so it is not an unknown setting,
    # and its value never enters the configuration object.
    secret = "0x" + "ab" * 32
    config = load_config(env={"XCR_ORACLE_KEY": secret},
                         overrides={"oracle.private_key_env": "XCR_ORACLE_KEY"}, cwd=tmp_path)
    assert config.oracle.private_key_env == "XCR_ORACLE_KEY"
    assert secret not in repr(config) and secret not in config.model_dump_json()


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml", env={})
    bad = _write(tmp_path / "bad.toml", "[chain\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, env={})


@pytest.mark.parametrize(("oracle", "needle"), [
    ({"keystore": "k", "private_key_env": "K"},
     "oracle.keystore (from overrides): set at most one of keystore or private_key_env"),
    ({"password_env": "PW", "private_key_env": "K"},
     "oracle.password_env (from overrides): only applies to a keystore"),
    ({"private_key_env": "K", "extra_keys": [{"password_env": "P"}]},
     "oracle.extra_keys.0.keystore (from overrides): set exactly one"),
    ({"extra_keys": [{"private_key_env": "P"}]}, "oracle.extra_keys (from overrides): need a"),
])
def test_key_source_rules(tmp_path: Path, oracle: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env={}, overrides={"oracle": oracle}, cwd=tmp_path)
    assert needle in str(info.value)


def test_config_is_frozen() -> None:
    config = XcrConfig()
    with pytest.raises(Exception, match="frozen"):
        config.output_dir = Path("x")  # type: ignore[misc]
