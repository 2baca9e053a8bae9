"""Oracle signing keys: encrypted keystores, environment variables, and k-of-n quorums.

Key material is held only inside :class:`OracleSigner` and never leaves it: not in ``repr``
or ``str``, not in log records, not in exception messages (errors say *which* source failed
and why, never the value), and signers refuse to be pickled or copied.

Sources:

* an encrypted keystore file (Web3 Secret Storage, what ``eth_account.Account.encrypt``
  writes); the password comes from a named environment variable or an interactive prompt;
* an environment variable holding a 32-byte hex private key (tests, throw-away demos).
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from eth_account import Account
from eth_account.messages import encode_typed_data

from xcr_py.errors import OracleError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from xcr_py.config import KeySource, OracleConfig

__all__ = [
    "KeyLoadError",
    "OracleQuorum",
    "OracleSigner",
    "QuorumSignature",
    "load_quorum",
    "load_signer",
]

Prompt = Callable[[str], str]


class KeyLoadError(OracleError):
    """An oracle key could not be loaded. The message names the source, never its secret."""


class OracleSigner:
    """One oracle key. Exposes its address and signs EIP-712 messages; nothing else.

    Build it with :meth:`from_private_key`, :meth:`from_keystore` or :func:`load_signer`.
    """

    __slots__ = ("__account", "_address")

    def __init__(self, account: LocalAccount) -> None:
        self.__account = account
        self._address: str = account.address

    @classmethod
    def from_private_key(cls, key: str | bytes, *, source: str = "private key") -> OracleSigner:
        """A signer from a 32-byte private key (bytes or hex, ``0x`` optional).

        Raises:
            KeyLoadError: the key is malformed; the message names ``source`` only.
        """
        account = _account_or_none(key)
        if account is None:
            # Raised outside any ``except``: no chained exception can quote the key.
            _fail(f"{source}: is not a 32-byte hex private key")
        return cls(account)

    @classmethod
    def from_keystore(cls, path: str | Path, password: str) -> OracleSigner:
        """A signer from an encrypted keystore file (eth-account / Web3 Secret Storage).

        Raises:
            KeyLoadError: unreadable file, not a keystore, or a wrong password.
        """
        keystore = Path(path)
        try:
            data = json.loads(keystore.read_text(encoding="utf-8"))
        except OSError as exc:
            _fail(f"keystore {keystore}: cannot be read ({exc.strerror})")
        except (ValueError, UnicodeDecodeError):
            _fail(f"keystore {keystore}: is not a JSON keystore file")
        if not isinstance(data, dict) or not isinstance(data.get("crypto", data.get("Crypto")),
                                                        dict):
            _fail(f"keystore {keystore}: is not a keystore (no 'crypto' section)")
        key, problem = _decrypt(data, password)
        if key is None:
            _fail(f"keystore {keystore}: {problem}")
        return cls.from_private_key(bytes(key), source=f"keystore {keystore}")

    @property
    def address(self) -> str:
        """EIP-55 checksummed address of this key."""
        return self._address

    def sign_typed_data(self, full_message: Mapping[str, Any]) -> bytes:
        """EIP-712 signature (65 bytes, r || s || v with v in {27, 28}) of ``full_message``.

        ``full_message`` is the complete typed-data dict (``types``, ``primaryType``,
        ``domain``, ``message``) as ``eth_account.messages.encode_typed_data`` takes it.

        Raises:
            OracleError: the message is not valid EIP-712 typed data.
        """
        try:
            signable = encode_typed_data(full_message=dict(full_message))
        except Exception as exc:
            raise OracleError(f"typed data is not valid EIP-712 ({type(exc).__name__}: "
                              f"{exc})") from None
        signed = self.__account.sign_message(signable)
        return bytes(signed.signature)

    def __repr__(self) -> str:
        return f"OracleSigner(address={self._address})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("OracleSigner holds a private key and cannot be pickled or copied")

    def __copy__(self) -> NoReturn:
        self.__reduce__()

    def __deepcopy__(self, memo: object) -> NoReturn:
        self.__reduce__()


def _fail(message: str) -> NoReturn:
    raise KeyLoadError(message) from None


def _account_or_none(key: str | bytes) -> LocalAccount | None:
    try:
        if isinstance(key, str):
            text = key.strip()
            raw = bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)
        else:
            raw = bytes(key)
        return Account.from_key(raw) if len(raw) == 32 else None
    except Exception:
        return None


def _decrypt(data: dict[str, Any], password: str) -> tuple[bytes | None, str]:
    try:
        return bytes(Account.decrypt(data, password)), ""
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            return None, "wrong password"
    except Exception:
        pass
    return None, "cannot be decrypted (unsupported or corrupt)"


def load_signer(source: KeySource, env: Mapping[str, str], *,
                prompt: Prompt | None = getpass.getpass) -> OracleSigner:
    """Load one signer from a configured :class:`~xcr_py.config.KeySource`.

    Args:
        source: keystore path (+ optional password variable name) or a key variable name.
        env: the environment mapping (passed in; this module never reads ``os.environ``).
        prompt: asks for a keystore password when ``source.password_env`` is not set;
            ``None`` forbids prompting (non-interactive runs).

    Raises:
        KeyLoadError: a named variable is missing or empty, no way to get a password, or
            the key/keystore is bad. Messages name variables and files, never values.
    """
    if source.private_key_env is not None:
        name = source.private_key_env
        value = env.get(name)
        if not value:
            _fail(f"oracle key variable {name}: is not set")
        return OracleSigner.from_private_key(value, source=f"oracle key variable {name}")
    if source.keystore is None:
        _fail("key source: names neither a keystore nor a private-key variable")
    if source.password_env is not None:
        password = env.get(source.password_env)
        if password is None:
            _fail(f"keystore password variable {source.password_env}: is not set")
    elif prompt is not None:
        password = prompt(f"Password for oracle keystore {source.keystore}: ")
    else:
        _fail(f"keystore {source.keystore}: needs password_env (prompting is disabled)")
    return OracleSigner.from_keystore(source.keystore, password)


@dataclass(frozen=True)
class QuorumSignature:
    """One signer's signature in a quorum: signer address and 65-byte signature."""

    signer: str
    signature: bytes

    def __repr__(self) -> str:
        return f"QuorumSignature(signer={self.signer}, signature=0x{self.signature.hex()})"


class OracleQuorum:
    """k-of-n oracle signing: distinct signers, signatures ordered by signer address.

    The contract checks signer addresses strictly increasing (numerically), which makes
    duplicates impossible, so signatures always come sorted that way.
    """

    def __init__(self, signers: Iterable[OracleSigner], threshold: int = 1) -> None:
        ordered = sorted(signers, key=lambda s: int(s.address, 16))
        addresses = [s.address for s in ordered]
        if len(set(addresses)) != len(addresses):
            raise OracleError("oracle.extra_keys: the same key is configured twice "
                              "(signers must be distinct)")
        if not ordered:
            raise OracleError("oracle: a quorum needs at least one key")
        if not 1 <= threshold <= len(ordered):
            raise OracleError(f"oracle.threshold: must be between 1 and {len(ordered)} "
                              f"(keys held), got {threshold}")
        self._signers = tuple(ordered)
        self.threshold = threshold

    @property
    def addresses(self) -> tuple[str, ...]:
        """All signer addresses, sorted by numeric value."""
        return tuple(s.address for s in self._signers)

    def sign_typed_data(self, full_message: Mapping[str, Any],
                        count: int | None = None) -> tuple[QuorumSignature, ...]:
        """Signatures of ``full_message`` by ``count`` signers (default: the threshold).

        The signers used are the first ``count`` by address, and the result is sorted by
        signer address.
        """
        n = self.threshold if count is None else count
        if not self.threshold <= n <= len(self._signers):
            raise OracleError(f"count: must be between {self.threshold} and "
                              f"{len(self._signers)}, got {n}")
        return tuple(QuorumSignature(s.address, s.sign_typed_data(full_message))
                     for s in self._signers[:n])

    def __repr__(self) -> str:
        return f"OracleQuorum(threshold={self.threshold}, addresses={list(self.addresses)})"


def load_quorum(config: OracleConfig, env: Mapping[str, str], *,
                prompt: Prompt | None = getpass.getpass) -> OracleQuorum:
    """The quorum configured in ``config`` (primary key first, then ``extra_keys``).

    Raises:
        KeyLoadError: a key source is not configured or cannot be loaded.
        OracleError: duplicate keys or a threshold above the number of keys.
    """
    sources = config.key_sources
    if not sources:
        _fail("oracle: no key configured (set oracle.keystore or oracle.private_key_env)")
    return OracleQuorum([load_signer(s, env, prompt=prompt) for s in sources],
                        threshold=config.threshold)
