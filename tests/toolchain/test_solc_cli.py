"""scripts/solc answers like native solc for py-solc-x (and so for brownie, ape, slither)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import solcx
from packaging.version import Version
from solcx.exceptions import SolcError, UnknownOption
from solcx.wrapper import VERSION_REGEX

REPO = Path(__file__).resolve().parents[2]
SOLC = REPO / "scripts" / "solc"
SOLC_VERSION = json.loads((REPO / "node_modules" / "solc" / "package.json").read_text())["version"]
OZ_REMAP = "@openzeppelin/=node_modules/@openzeppelin/"

TOKEN_SOL = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
contract Tok is ERC721 {
    constructor() ERC721("T", "T") {}
    function mint(address to, uint256 id) external { _mint(to, id); }
}
"""


@pytest.fixture(scope="module")
def token_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway contract importing OpenZeppelin, outside the repository."""
    d = tmp_path_factory.mktemp("sol")
    (d / "Tok.sol").write_text(TOKEN_SOL)
    return d


def test_version_matches_py_solc_x_regex() -> None:
    out = subprocess.run([SOLC, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("solc, the solidity compiler commandline interface\n")
    match = re.search(VERSION_REGEX, out)
    assert match is not None and match.group(1) == SOLC_VERSION
    assert solcx.wrapper.get_solc_version(SOLC) == Version(SOLC_VERSION)
    full = solcx.wrapper.get_solc_version(SOLC, with_commit_hash=True)
    assert str(full).startswith(SOLC_VERSION + "+commit")


def test_compile_standard_resolves_remapped_imports(token_dir: Path) -> None:
    source = f"{token_dir}/Tok.sol"
    out = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"Tok.sol": {"urls": [source]}},
            "settings": {
                "evmVersion": "shanghai",
                "optimizer": {"enabled": True, "runs": 200},
                "remappings": [OZ_REMAP],
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
            },
        },
        base_path=REPO,
        allow_paths=[REPO, token_dir],
        solc_binary=SOLC,
    )
    tok = out["contracts"]["Tok.sol"]["Tok"]
    assert len(tok["evm"]["bytecode"]["object"]) > 1000
    assert {e["name"] for e in tok["abi"] if e["type"] == "function"} >= {"mint", "ownerOf"}
    assert "node_modules/@openzeppelin/contracts/token/ERC721/ERC721.sol" in out["sources"]


def test_compile_standard_reports_errors_as_solc_error(tmp_path: Path) -> None:
    (tmp_path / "Bad.sol").write_text("pragma solidity ^0.8.0; contract Bad { function f() {} }")
    with pytest.raises(SolcError, match=r"Bad\.sol"):
        solcx.compile_standard(
            {"language": "Solidity", "sources": {"Bad.sol": {"urls": [str(tmp_path / "Bad.sol")]}}},
            allow_paths=[tmp_path],
            solc_binary=SOLC,
        )


def test_remapping_targets_are_readable_and_missing_imports_fail(
    tmp_path: Path, token_dir: Path
) -> None:
    # The OpenZeppelin target lies under the repo, which is neither base path nor allowed here.
    common = [SOLC, "--combined-json", "abi", "--base-path", str(token_dir), "Tok.sol"]
    oz = f"@openzeppelin/={REPO}/node_modules/@openzeppelin/"
    proc = subprocess.run([*common, oz], capture_output=True, text=True, cwd=token_dir)
    assert proc.returncode == 0, proc.stderr  # remapping targets are allowed, as in native solc
    proc = subprocess.run(common, capture_output=True, text=True, cwd=token_dir)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "File not found" in proc.stderr


def test_absolute_import_outside_allowed_paths_is_refused(tmp_path: Path) -> None:
    outside, inside = tmp_path / "outside", tmp_path / "inside"
    outside.mkdir()
    inside.mkdir()
    (outside / "Ext.sol").write_text("pragma solidity ^0.8.0; contract Ext {}")
    imp = f'pragma solidity ^0.8.0; import "{outside}/Ext.sol"; contract Imp is Ext {{}}'
    (inside / "Imp.sol").write_text(imp)
    args = [SOLC, "--combined-json", "bin", "Imp.sol"]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=inside)
    assert proc.returncode == 1 and "outside of allowed directories" in proc.stderr
    proc = subprocess.run(
        [*args, "--allow-paths", str(outside)], capture_output=True, text=True, cwd=inside
    )
    assert proc.returncode == 0, proc.stderr
    assert "Imp.sol:Imp" in json.loads(proc.stdout)["contracts"]


def test_combined_json_through_py_solc_x(token_dir: Path) -> None:
    out = solcx.compile_files(
        [token_dir / "Tok.sol"],
        output_values=["abi", "bin", "bin-runtime", "hashes", "metadata"],
        import_remappings=[f"@openzeppelin/={REPO}/node_modules/@openzeppelin/"],
        allow_paths=[token_dir, REPO],
        evm_version="shanghai",
        optimize=True,
        solc_binary=SOLC,
    )
    key = f"{token_dir}/Tok.sol:Tok"
    assert key in out
    assert out[key]["hashes"]["mint(address,uint256)"] == "40c10f19"
    meta = json.loads(out[key]["metadata"])
    assert meta["settings"]["evmVersion"] == "shanghai" and meta["settings"]["optimizer"]["enabled"]


def test_large_output_reaches_the_pipe_whole(token_dir: Path) -> None:
    # Every output of ERC721 and its imports, pretty-printed: several MB through a pipe.
    everything = (
        "abi,asm,ast,bin,bin-runtime,devdoc,hashes,metadata,opcodes,"
        "srcmap,srcmap-runtime,storage-layout,userdoc"
    )
    proc = subprocess.run(
        [
            SOLC,
            "Tok.sol",
            OZ_REMAP.replace("node_modules", f"{REPO}/node_modules"),
            "--combined-json",
            everything,
            "--pretty-json",
        ],
        capture_output=True,
        cwd=token_dir,
        check=True,
    )
    assert len(proc.stdout) > 4_000_000
    assert not proc.stdout.startswith(b">>>")
    data = json.loads(proc.stdout)
    assert "Tok.sol:Tok" in data["contracts"] and "AST" in data["sources"]["Tok.sol"]


def test_unknown_option_maps_to_py_solc_x_unknown_option() -> None:
    with pytest.raises(UnknownOption, match="--frobnicate"):
        solcx.wrapper.solc_wrapper(solc_binary=SOLC, frobnicate=True)


def test_help_lists_combined_json_outputs() -> None:
    # py-solc-x reads the --combined-json line of --help when no outputs are requested.
    from solcx.main import _get_combined_json_outputs

    outputs = _get_combined_json_outputs(SOLC).split(",")
    assert {"abi", "bin", "bin-runtime", "ast", "storage-layout"} <= set(outputs)


def test_a_symlink_to_the_launcher_works(tmp_path: Path) -> None:
    # py-solc-x users (brownie, ape) reach it as ~/.solcx/solc-v<version> -> scripts/solc.
    link = tmp_path / f"solc-v{SOLC_VERSION}"
    link.symlink_to(SOLC)
    assert solcx.wrapper.get_solc_version(link) == Version(SOLC_VERSION)
