"""Locally computed CIDs equal what a running IPFS daemon (js-ipfs, Kubo RPC API) returns."""

from __future__ import annotations

import warnings
from pathlib import Path

import ipfshttpclient
import pytest

from xcr_py.content import file_cid, parse_cid

V1_CASES = [
    "empty",
    "one_byte",
    "one_chunk",
    "chunk_plus_one",
    "one_mib",
    "ten_mib",
    "full_level",
    "full_level_plus_one",
    "two_level",
]
V0_CASES = ["empty", "one_byte", "chunk_plus_one", "one_mib", "full_level_plus_one"]


def _daemon_cid(api: str, path: Path, version: int) -> str:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*'strict' parameter", category=FutureWarning)
        client = ipfshttpclient.Client(api, timeout=120)
        opts = {"cid-base": "base32"} if version == 1 else {}
        kwargs = {"raw_leaves": True} if version == 1 else {}
        resp = client.add(
            str(path), cid_version=version, only_hash=True, pin=False, opts=opts, **kwargs
        )
        client.close()
    return str(resp["Hash"])


@pytest.mark.parametrize("name", V1_CASES)
def test_cid_v1_raw_leaves_equals_daemon(
    name: str, sample_files: dict[str, Path], ipfs_api: str
) -> None:
    expected = _daemon_cid(ipfs_api, sample_files[name], 1)
    assert str(file_cid(sample_files[name])) == expected
    assert expected.startswith("bafk" if name in {"empty", "one_byte", "one_chunk"} else "bafy")


@pytest.mark.parametrize("name", V0_CASES)
def test_cid_v0_equals_daemon(name: str, sample_files: dict[str, Path], ipfs_api: str) -> None:
    expected = _daemon_cid(ipfs_api, sample_files[name], 0)
    assert str(file_cid(sample_files[name], cid_version=0)) == expected
    assert expected.startswith("Qm")


def test_parse_cid_normalises_base() -> None:
    cid = parse_cid("zb2rhZfjRh2FHHB2RkHVEvL2vJnCTcu7kwRqgVsf9gpkLgteo")  # base58 form of a v1
    assert str(cid) == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
