"""Canonical JSON: one document, one byte string, one CID.

The encoding is RFC 8785 (JSON Canonicalization Scheme, JCS) with one documented widening:

* object keys sorted by their UTF-16 code units (JCS §3.2.3), keys must be strings;
* UTF-8 output, no insignificant whitespace, ``","`` and ``":"`` separators;
* strings escaped as JCS requires: ``\\"``, ``\\\\``, the short forms ``\\b \\t \\n \\f \\r``,
  other control characters below U+0020 as lowercase ``\\u00xx``, everything else raw UTF-8;
* ``True``/``False``/``None`` as ``true``/``false``/``null``;
* integers (Python ``int``) as exact decimal integers, whatever their size. This is the widening:
  strict JCS would first turn them into IEEE doubles; XCR keeps on-chain values (milli-units,
  wei, grams) as exact integers, so ``10**30`` stays ``1000000000000000000000000000000``;
* floats serialised like ECMAScript ``Number.prototype.toString`` (JCS §3.2.2.3): the shortest
  round-tripping digits, ``-0.0`` as ``0``, exponent form outside ``1e-7 < |x| < 1e21``.
  Floats are accepted for off-chain values (an uncertainty, a ratio shown to people); never use
  them for a value that is checked on chain. NaN and infinities are always rejected.

Anything else (bytes, sets, datetimes, non-string keys, lone surrogates) raises
:class:`~xcr_py.errors.InputError` naming the JSON path of the offending value, e.g.
``doc.energy.gpu_j`` or ``doc.items[3]``; nothing is returned in that case.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from json.encoder import encode_basestring  # the C escaper where available
from typing import TYPE_CHECKING

from xcr_py.errors import InputError

if TYPE_CHECKING:
    from multiformats import CID

__all__ = ["canonical_json", "canonical_members", "format_float", "json_cid"]

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_ESCAPE_TABLE = {ord(c): e for c, e in _ESCAPES.items()}
_ESCAPE_TABLE.update({i: f"\\u{i:04x}" for i in range(0x20) if chr(i) not in _ESCAPES})


def canonical_json(doc: object, *, root: str = "doc") -> bytes:
    """Encode ``doc`` as canonical JSON (RFC 8785 with exact integers), UTF-8 bytes.

    Args:
        doc: a tree of dict (string keys), list/tuple, str, int, float, bool and None.
        root: the name used for the top of the document in error messages.

    Raises:
        InputError: a value that cannot be encoded canonically; ``field`` is its JSON path.
    """
    parts: list[str] = []
    try:
        _fast(doc, parts)
        return "".join(parts).encode("utf-8")
    except (_Unusual, UnicodeEncodeError):
        # Something the fast path does not take (a non-dict mapping, an int subclass, a bad
        # value, a lone surrogate...): the general encoder gives the same bytes for what it
        # accepts and the error naming the JSON path for what it refuses.
        parts = []
        _encode(doc, root, parts)
        return "".join(parts).encode("utf-8")


def canonical_members(members: Mapping[str, bytes]) -> bytes:
    """The canonical JSON of an object whose member values are given already encoded.

    JCS encodes an object as its members in key order, each value encoded on its own, so
    ``canonical_members({k: canonical_json(v) for k, v in doc.items()})`` is
    ``canonical_json(doc)``. Lets a caller encode a part shared by many documents once.

    Raises:
        InputError: a key is not a string, or not valid Unicode.
    """
    for key in members:
        if not isinstance(key, str):
            raise InputError(f"doc.{key!r}", f"object keys must be strings, got "
                             f"{type(key).__name__}")
    keys = sorted(members, key=_utf16_key)
    return b"{" + b",".join(_encode_str(k, f"doc.{k}").encode("utf-8") + b":" + members[k]
                            for k in keys) + b"}"


def json_cid(doc: object) -> CID:
    """The CIDv1 (base32) that ``ipfs add --cid-version=1 --raw-leaves`` gives the canonical bytes.

    A document under 256 KiB (every receipt) is one raw block, so this is the ``raw`` codec
    CID of ``sha2-256(canonical_json(doc))``; larger documents get the UnixFS file CID.
    """
    from xcr_py.content.cid import bytes_cid

    return bytes_cid(canonical_json(doc))


def format_float(value: float, *, field: str = "doc") -> str:
    """Serialise a finite float as ECMAScript ``Number.prototype.toString`` does (JCS §3.2.2.3).

    Raises:
        InputError: ``value`` is NaN or infinite.
    """
    if not math.isfinite(value):
        raise InputError(field, f"must be a finite number, got {value!r}")
    if value == 0:
        return "0"  # covers -0.0, which JCS writes as 0
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digits that round-trip, which is what ECMAScript requires.
    parsed = Decimal(repr(abs(value))).as_tuple()
    all_digits = "".join(map(str, parsed.digits))
    digits = all_digits.rstrip("0")
    exponent = int(parsed.exponent) + len(all_digits) - len(digits)
    k = len(digits)
    n = exponent + k  # value = 0.<digits> * 10**n
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        out = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + out


def _encode_str(value: str, field: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            field, f"is not valid Unicode (lone surrogate at index {exc.start})"
        ) from exc
    return '"' + value.translate(_ESCAPE_TABLE) + '"'


def _utf16_key(key: str) -> bytes:
    # JCS sorts by UTF-16 code units; big-endian UTF-16 bytes compare the same way.
    return key.encode("utf-16-be", "surrogatepass")


class _Unusual(Exception):
    """The fast path met a value it leaves to :func:`_encode`."""


# json's C string encoder escapes exactly as JCS does (``\\"``, ``\\\\``, the short forms
# ``\\b \\t \\n \\f \\r``, other controls as lowercase ``\\u00xx``, the rest raw); checked
# against _ESCAPE_TABLE at import so a different Python cannot silently change the bytes.
_quote = encode_basestring
if any(_quote(chr(i)) != '"' + chr(i).translate(_ESCAPE_TABLE) + '"'
       for i in (*range(0x80), 0x2028, 0xFFFF)):  # pragma: no cover - a different json module
    _quote = lambda s: '"' + s.translate(_ESCAPE_TABLE) + '"'  # noqa: E731


def _fast(value: object, out: list[str]) -> None:
    """:func:`_encode` for plain dict/list/tuple/str/int/float/bool/None trees, without
    building a field path per value (~4x faster on a receipt). Raises :class:`_Unusual` for
    anything else; the caller then re-encodes with :func:`_encode`."""
    kind = type(value)
    if kind is str:
        out.append(_quote(value))  # type: ignore[arg-type]
    elif kind is dict:
        if not all(type(k) is str and k.isascii() for k in value):  # type: ignore[attr-defined]
            # Code-point order equals UTF-16 order for ASCII; leave the rest to _encode.
            raise _Unusual
        keys = sorted(value)  # type: ignore[call-overload]
        out.append("{")
        first = True
        for key in keys:
            if first:
                first = False
            else:
                out.append(",")
            out.append(_quote(key))
            out.append(":")
            _fast(value[key], out)  # type: ignore[index]
        out.append("}")
    elif kind is int:
        out.append(str(value))
    elif kind is float:
        text = repr(value)
        # repr is the shortest round-trip form; in fixed notation (1e-4 <= |x| < 1e16) it is
        # ECMAScript's except for a trailing ".0". NaN/infinity: _encode names the field.
        if "n" in text:
            raise _Unusual
        if "e" in text or value == 0:
            out.append(format_float(value))  # type: ignore[arg-type]
        else:
            out.append(text[:-2] if text.endswith(".0") else text)
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is list or kind is tuple:
        out.append("[")
        items: list[object] | tuple[object, ...] = value  # type: ignore[assignment]
        for i, item in enumerate(items):
            if i:
                out.append(",")
            _fast(item, out)
        out.append("]")
    else:
        raise _Unusual


def _encode(value: object, field: str, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(format_float(value, field=field))
    elif isinstance(value, str):
        out.append(_encode_str(value, field))
    elif isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise InputError(
                    f"{field}.{key!r}", f"object keys must be strings, got {type(key).__name__}"
                )
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_encode_str(key, field))
            out.append(":")
            _encode(value[key], f"{field}.{key}", out)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray | memoryview):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, f"{field}[{i}]", out)
        out.append("]")
    else:
        raise InputError(
            field,
            f"type {type(value).__name__} is not JSON"
            " (allowed: dict, list, str, int, float, bool, None)",
        )
