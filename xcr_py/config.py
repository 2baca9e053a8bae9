"""One typed configuration object for XCR, read once at the edge and passed in.

Precedence, lowest to highest::

    defaults  <  TOML file (xcr.toml)  <  XCR_* environment  <  explicit overrides (flags)

The file is TOML with one table per section (``[chain]``, ``[store]``, ``[oracle]``,
``[footprint]``, ``[mode]``, optional ``[c2pa]``) and two top-level keys (``output_dir``,
``explorer_url``).
Environment variables are ``XCR_<SECTION>_<FIELD>`` (``XCR_CHAIN_RPC_URL``,
``XCR_MODE_BATCH_SIZE``) or ``XCR_<FIELD>`` for top-level keys (``XCR_OUTPUT_DIR``);
``XCR_CONFIG`` names the file. The environment is passed in as a mapping: only
:func:`from_environment` reads ``os.environ``.

Relative paths in a file are relative to that file's folder, so a folder holding an
``xcr.toml`` (the demo's output folder) can be moved or read from elsewhere.

Secrets never enter this object: the oracle section names the *environment variables*
that hold a password or a key, and :mod:`xcr_py.oracle.keys` reads them.

Unknown keys and bad values raise :class:`~xcr_py.errors.ConfigError` naming the dotted
field, where it came from and the limit it broke.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import tomli_w
from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from xcr_py.errors import ConfigError
from xcr_py.units import MIN_RATIO_BPS, PUE_SCALE

__all__ = [
    "CONFIG_FILE_NAME",
    "ENV_PREFIX",
    "C2paConfig",
    "ChainConfig",
    "FootprintConfig",
    "KeySource",
    "ModeConfig",
    "OracleConfig",
    "StoreConfig",
    "XcrConfig",
    "from_environment",
    "load_config",
    "write_config",
]

CONFIG_FILE_NAME = "xcr.toml"
ENV_PREFIX = "XCR_"
ENV_CONFIG_FILE = "XCR_CONFIG"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DEVICE_CLASS = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_EXPLORER_FIELDS = frozenset({"tx_hash", "token_id", "chain_id", "contract", "address"})
_MAX_TIMEOUT_S = 3_600.0
_MAX_RATIO_BPS = 1_000_000
_MAX_PUE_MILLI = 5 * PUE_SCALE
_MAX_BATCH_SIZE = 100_000
_MAX_DELAY_S = 86_400.0


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _default_data_dir() -> Path:
    return Path(user_data_dir("xcr", appauthor=False))


def _check_env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError("must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
    return value


class ChainConfig(_Section):
    """Where receipts settle: the embedded chain (state in ``data_dir``) or an RPC URL."""

    backend: Literal["embedded", "rpc"] = "embedded"
    data_dir: Path = Field(default_factory=_default_data_dir)
    """Embedded chain state (and the default local block store) live here."""
    rpc_url: str | None = None
    """``http(s)://`` or ``ws(s)://`` endpoint; required when ``backend = "rpc"``."""
    chain_id: int | None = Field(default=None, ge=1)
    """Expected chain id; the connection is refused when the node reports another."""
    deployment_file: Path | None = None
    """JSON file with deployed contract addresses; deploy fresh when absent."""

    @field_validator("rpc_url")
    @classmethod
    def _rpc_scheme(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(https?|wss?)://[^\s/]+", value):
            raise ValueError("must be an http(s):// or ws(s):// URL")
        return value

    @model_validator(mode="after")
    def _rpc_needs_url(self) -> ChainConfig:
        if self.backend == "rpc" and self.rpc_url is None:
            raise ValueError("rpc_url: is required when backend = 'rpc'")
        return self


class StoreConfig(_Section):
    """Where assets and receipts are pinned: a local block store or a Kubo RPC endpoint."""

    backend: Literal["local", "kubo"] = "local"
    path: Path | None = None
    """Local store folder; ``None`` means ``<chain.data_dir>/blocks``."""
    kubo_url: str | None = None
    """Kubo RPC API as a multiaddr (``/ip4/127.0.0.1/tcp/5001``) or ``http(s)://`` URL."""
    timeout_s: float = Field(default=30.0, gt=0, le=_MAX_TIMEOUT_S)

    @field_validator("kubo_url")
    @classmethod
    def _kubo_address(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(/(ip4|ip6|dns|dns4|dns6)/\S+|https?://\S+)$",
                                              value):
            raise ValueError("must be a multiaddr (/ip4/.../tcp/...) or an http(s):// URL")
        return value

    @model_validator(mode="after")
    def _kubo_needs_url(self) -> StoreConfig:
        if self.backend == "kubo" and self.kubo_url is None:
            raise ValueError("kubo_url: is required when backend = 'kubo'")
        return self


class KeySource(_Section):
    """One oracle key: an encrypted keystore file, or an environment variable with a hex key.

    A keystore's password comes from the variable named by ``password_env`` or, when that
    is not set, from an interactive prompt.
    """

    keystore: Path | None = None
    password_env: str | None = None
    private_key_env: str | None = None

    _names = field_validator("password_env", "private_key_env")(_check_env_name)

    @model_validator(mode="after")
    def _one_source(self) -> KeySource:
        if (self.keystore is None) == (self.private_key_env is None):
            raise ValueError("keystore: set exactly one of keystore or private_key_env")
        if self.password_env is not None and self.keystore is None:
            raise ValueError("password_env: only applies to a keystore")
        return self


class OracleConfig(_Section):
    """Oracle signing keys and the k-of-n threshold.

    With no key source at all, the caller supplies a signer (the demo makes a throw-away one).
    """

    keystore: Path | None = None
    password_env: str | None = None
    private_key_env: str | None = None
    threshold: int = Field(default=1, ge=1, le=32)
    """Signatures required per report (k of n, n = 1 + len(extra_keys))."""
    extra_keys: tuple[KeySource, ...] = ()

    _names = field_validator("password_env", "private_key_env")(_check_env_name)

    @model_validator(mode="after")
    def _consistent(self) -> OracleConfig:
        if self.keystore is not None and self.private_key_env is not None:
            raise ValueError("keystore: set at most one of keystore or private_key_env")
        if self.password_env is not None and self.keystore is None:
            raise ValueError("password_env: only applies to a keystore")
        if self.primary is None and self.extra_keys:
            raise ValueError("extra_keys: need a primary key (keystore or private_key_env)")
        n = len(self.key_sources)
        if n and self.threshold > n:
            raise ValueError(f"threshold: must be <= number of keys ({n}), got {self.threshold}")
        return self

    @property
    def primary(self) -> KeySource | None:
        """The first key source, or ``None`` when no key is configured."""
        if self.keystore is None and self.private_key_env is None:
            return None
        return KeySource(keystore=self.keystore, password_env=self.password_env,
                         private_key_env=self.private_key_env)

    @property
    def key_sources(self) -> tuple[KeySource, ...]:
        """All configured key sources, primary first."""
        primary = self.primary
        return (primary, *self.extra_keys) if primary is not None else ()


class FootprintConfig(_Section):
    """Factors for the footprint: grid zone (hourly data) or constant intensity, PUE, ratio."""

    zone: str | None = None
    """Embedded hourly-data zone (``DE``, ``US-CAL-CISO``...); exclusive with a constant."""
    intensity_mg_per_kwh: int | None = Field(default=None, ge=0, le=5_000_000)
    """Constant grid intensity in mg CO2e/kWh (declared); exclusive with ``zone``."""
    pue_milli: int = Field(default=1_560, ge=PUE_SCALE, le=_MAX_PUE_MILLI)
    """Power usage effectiveness in thousandths (1.56 -> 1560). The default is the Uptime
    Institute Global Data Center Survey 2024 average, the same as ``footprint.default_pue()``;
    set the site's own measured PUE where known."""
    device_class: str | None = None
    """Embodied-emissions device class; ``None`` lets the footprint stage choose."""
    ratio_bps: int = Field(default=MIN_RATIO_BPS, ge=MIN_RATIO_BPS, le=_MAX_RATIO_BPS)
    """Carbon-to-removal ratio in basis points (10000 = 1.0)."""

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from xcr_py.footprint.hourly import embedded_zones

        zones = embedded_zones()
        if value not in zones:
            raise ValueError(f"must be one of the embedded zones {', '.join(zones)}")
        return value

    @field_validator("device_class")
    @classmethod
    def _device_class(cls, value: str | None) -> str | None:
        if value is not None and not _DEVICE_CLASS.match(value):
            raise ValueError("must match [a-z0-9][a-z0-9._-]{0,63}")
        return value

    @model_validator(mode="after")
    def _one_intensity(self) -> FootprintConfig:
        if self.zone is not None and self.intensity_mg_per_kwh is not None:
            raise ValueError("zone: set at most one of zone or intensity_mg_per_kwh")
        return self


class ModeConfig(_Section):
    """Settlement mode: one transaction per asset, or a Merkle batch per N assets / window."""

    kind: Literal["single", "batch"] = "batch"
    batch_size: int = Field(default=64, ge=1, le=_MAX_BATCH_SIZE)
    max_delay_s: float = Field(default=30.0, gt=0, le=_MAX_DELAY_S)
    """A partial batch is settled once its oldest asset has waited this long."""


class C2paConfig(_Section):
    """Optional C2PA signing of impact labels (off unless a certificate chain is set).

    When on, each labelled PNG/JPEG also gets a signed sidecar manifest ``<stem>.c2pa``
    carrying the label as the ``org.xcr.impact`` assertion (:mod:`xcr_py.embed.c2pa`).
    """

    cert_chain: Path | None = None
    """PEM: end-entity certificate first, then intermediates."""
    private_key: Path | None = None
    """PEM file with the end-entity's private key (a file path; never the key itself)."""
    algorithm: Literal["es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"] = "es256"
    tsa_url: str | None = None
    """RFC 3161 timestamp authority; none by default (offline)."""

    @field_validator("tsa_url")
    @classmethod
    def _tsa_scheme(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value):
            raise ValueError("must be an http(s):// URL")
        return value

    @model_validator(mode="after")
    def _both_or_neither(self) -> C2paConfig:
        if (self.cert_chain is None) != (self.private_key is None):
            raise ValueError("private_key: set both cert_chain and private_key, or neither")
        return self

    @property
    def enabled(self) -> bool:
        """True when a certificate chain and key are configured."""
        return self.cert_chain is not None


class XcrConfig(_Section):
    """The whole configuration. Build it with :func:`load_config`."""

    chain: ChainConfig = Field(default_factory=ChainConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    oracle: OracleConfig = Field(default_factory=OracleConfig)
    footprint: FootprintConfig = Field(default_factory=FootprintConfig)
    mode: ModeConfig = Field(default_factory=ModeConfig)
    c2pa: C2paConfig = Field(default_factory=C2paConfig)
    output_dir: Path = Path("xcr-out")
    explorer_url: str | None = None
    """Link template, e.g. ``https://sepolia.etherscan.io/tx/{tx_hash}``; fields:
    tx_hash, token_id, chain_id, contract, address."""

    @field_validator("explorer_url")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not re.match(r"^https?://", value):
            raise ValueError("must start with http:// or https://")
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"is not a valid template ({exc})") from None
        unknown = names - _EXPLORER_FIELDS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; allowed: "
                             f"{sorted(_EXPLORER_FIELDS)}")
        return value

    @property
    def store_path(self) -> Path:
        """The local block store folder (``store.path`` or ``<chain.data_dir>/blocks``)."""
        return self.store.path if self.store.path is not None else self.chain.data_dir / "blocks"


_SECTIONS: dict[str, type[_Section]] = {
    "chain": ChainConfig, "store": StoreConfig, "oracle": OracleConfig,
    "footprint": FootprintConfig, "mode": ModeConfig, "c2pa": C2paConfig,
}
_PATH_KEYS = {("chain", "data_dir"), ("chain", "deployment_file"), ("store", "path"),
              ("oracle", "keystore"), ("output_dir",), ("c2pa", "cert_chain"),
              ("c2pa", "private_key")}
_SCALAR_TOP = ("output_dir", "explorer_url")


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    cwd: Path | None = None,
) -> XcrConfig:
    """Build the configuration from defaults, a TOML file, ``XCR_*`` variables and overrides.

    Args:
        path: TOML file. ``None``: the file named by ``XCR_CONFIG`` in ``env``, else
            ``xcr.toml`` in ``cwd`` if it exists, else no file.
        env: environment mapping (not read from the process; see :func:`from_environment`).
        overrides: highest-precedence values, nested (``{"chain": {"rpc_url": ...}}``) or
            dotted (``{"chain.rpc_url": ...}``); ``None`` values are ignored (flags not given).
        cwd: folder for the ``xcr.toml`` lookup and for relative env/override paths.

    Raises:
        ConfigError: unreadable file, unknown key or bad value; the message names the dotted
            field, its origin and the limit.
    """
    env = dict(env or {})
    base = Path.cwd() if cwd is None else cwd
    merged: dict[str, Any] = {}
    origin: dict[tuple[str, ...], str] = {}

    file_path = _choose_file(path, env, base)
    if file_path is not None:
        data = _read_toml(file_path)
        _merge(merged, origin, _resolve_paths(data, file_path.parent), str(file_path))

    secret_names = _secret_env_names(merged, overrides)
    env_data, env_labels = _from_env(env, secret_names)
    _merge(merged, origin, _resolve_paths(env_data, base), "environment")
    origin.update(env_labels)
    if overrides:
        _merge(merged, origin, _resolve_paths(_nest(overrides), base), "overrides")

    try:
        return XcrConfig.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, origin) from None


def from_environment(
    path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None
) -> XcrConfig:
    """Edge helper: :func:`load_config` with this process's environment and working folder."""
    return load_config(path, env=os.environ, overrides=overrides)


def write_config(path: str | os.PathLike[str], config: XcrConfig) -> Path:
    """Write ``config`` as TOML at ``path`` (atomically) and return the path.

    Paths inside the file's folder are written relative to it, so the folder stays movable.
    Fields left at ``None`` are omitted (TOML has no null).
    """
    target = Path(path)
    folder = target.parent.resolve()
    data = config.model_dump(mode="python", exclude_none=True)

    def relative(value: Path) -> str:
        absolute = value if value.is_absolute() else (Path.cwd() / value)
        try:
            return absolute.resolve().relative_to(folder).as_posix() or "."
        except ValueError:
            return str(absolute.resolve())

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: clean(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [clean(v) for v in node]
        if isinstance(node, Path):
            return relative(node)
        return node

    text = tomli_w.dumps(clean(data))
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target


# -- helpers -------------------------------------------------------------------------------


def _choose_file(path: str | os.PathLike[str] | None, env: Mapping[str, str],
                 base: Path) -> Path | None:
    if path is not None:
        return Path(path)
    if env.get(ENV_CONFIG_FILE):
        named = Path(env[ENV_CONFIG_FILE])
        return named if named.is_absolute() else base / named
    default = base / CONFIG_FILE_NAME
    return default if default.is_file() else None


def _read_toml(file_path: Path) -> dict[str, Any]:
    try:
        with file_path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {file_path}: does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {file_path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {file_path}: is not valid TOML ({exc})") from None


def _merge(into: dict[str, Any], origin: dict[tuple[str, ...], str], new: Mapping[str, Any],
           label: str, prefix: tuple[str, ...] = ()) -> None:
    for key, value in new.items():
        loc = (*prefix, key)
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], origin, value, label, loc)
            continue
        into[key] = dict(value) if isinstance(value, Mapping) else value
        origin[loc] = label
        if isinstance(value, Mapping):
            for sub in value:
                origin[(*loc, sub)] = label


def _nest(overrides: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            inner = _nest(value)
            if inner:
                nested.setdefault(key, {}).update(inner)
            continue
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _secret_env_names(merged: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> set[str]:
    """Variables that hold secrets: they are not configuration and never become fields."""
    names: set[str] = set()
    sources = [merged.get("oracle") or {}]
    if overrides:
        sources.append(_nest(overrides).get("oracle") or {})
    for oracle in sources:
        if not isinstance(oracle, Mapping):
            continue
        entries = [oracle, *(e for e in oracle.get("extra_keys") or () if isinstance(e, Mapping))]
        for entry in entries:
            for key in ("password_env", "private_key_env"):
                if isinstance(entry.get(key), str):
                    names.add(entry[key])
    return names


def _from_env(env: Mapping[str, str], secret_names: set[str]
              ) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    data: dict[str, Any] = {}
    labels: dict[tuple[str, ...], str] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG_FILE or name in secret_names:
            continue
        key = name[len(ENV_PREFIX):].lower()
        section = next((s for s in _SECTIONS if key.startswith(f"{s}_")), None)
        if section is not None:
            field = key[len(section) + 1:]
            fields = _SECTIONS[section].model_fields
            if field not in fields or field == "extra_keys":
                raise ConfigError(f"{section}.{field} (from {name}): unknown setting; known: "
                                  f"{', '.join(f for f in fields if f != 'extra_keys')}")
            data.setdefault(section, {})[field] = value
            labels[(section, field)] = name
        elif key in _SCALAR_TOP:
            data[key] = value
            labels[(key,)] = name
        else:
            raise ConfigError(f"{name}: unknown XCR_* variable; use XCR_<SECTION>_<FIELD> with "
                              f"section in {', '.join(_SECTIONS)} or XCR_OUTPUT_DIR / "
                              f"XCR_EXPLORER_URL")
    return data, labels


def _resolve_paths(data: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Make the path-valued settings in ``data`` absolute against ``base``."""
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}

    def fix(value: Any) -> Any:
        if isinstance(value, str | Path) and not Path(value).is_absolute():
            return base / Path(value).expanduser()
        return Path(value).expanduser() if isinstance(value, str) else value

    for loc in _PATH_KEYS:
        if len(loc) == 1 and loc[0] in out:
            out[loc[0]] = fix(out[loc[0]])
        elif len(loc) == 2 and isinstance(out.get(loc[0]), dict) and loc[1] in out[loc[0]]:
            out[loc[0]][loc[1]] = fix(out[loc[0]][loc[1]])
    oracle = out.get("oracle")
    if isinstance(oracle, dict) and isinstance(oracle.get("extra_keys"), list):
        oracle["extra_keys"] = [
            {**e, "keystore": fix(e["keystore"])} if isinstance(e, Mapping) and "keystore" in e
            else e for e in oracle["extra_keys"]
        ]
    return out


def _config_error(exc: ValidationError, origin: Mapping[tuple[str, ...], str]) -> ConfigError:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(str(p) for p in error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            known = ", ".join(parent.model_fields) if parent else ""
            message = f"unknown setting; known: {known}"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
            # Cross-field checks say "<field>: problem"; point the location at that field.
            head, sep, rest = message.partition(": ")
            model = _model_at(loc)
            if sep and model is not None and head in model.model_fields:
                loc, message = (*loc, head), rest
        source = next((origin[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in origin),
                      "defaults")
        problems.append(f"{'.'.join(loc) or 'config'} (from {source}): {message}")
    return ConfigError("; ".join(problems))


def _model_at(loc: tuple[str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = XcrConfig
    for part in loc:
        if part.isdigit():
            continue
        annotation = model.model_fields.get(part)
        if annotation is None:
            return None
        target = _SECTIONS.get(part) or (KeySource if part == "extra_keys" else None)
        if target is None:
            return None
        model = target
    return model
