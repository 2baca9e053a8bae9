// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC5192} from "./interfaces/IERC5192.sol";

/// @title CarbonReceipt
/// @notice Soulbound (ERC-721 + ERC-5192) receipt proving that an asset's (or a batch's) emissions were measured and
/// paid back by a carbon removal retirement. `tokenURI` is `ipfs://<CIDv1 of the receipt document>`.
/// @dev Token ids are split into two disjoint domains by the top bit, so an asset token can never collide with a batch
/// token: asset token id = asset digest with the top bit cleared; batch token id = the batch's Merkle root with the
/// top bit set. The cleared or set bit is kept in `flags` (FLAG_DIGEST_HIGH_BIT), so the full digest or root is
/// recoverable. Two assets (or two batches) share a token id only if their digests agree on 255 bits. Transfers, burns and approvals all revert: `_update` is the single
/// hook, and `approve` / `setApprovalForAll` are overridden.
contract CarbonReceipt is ERC721, AccessControl, IERC5192 {
    /// @notice Role allowed to mint receipts (the XCR controller).
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Top bit of a token id: set for batch tokens, clear for asset tokens.
    uint256 public constant BATCH_BIT = 1 << 255;
    /// @notice `flags` bit: the top bit of the asset digest (or of the batch root) was set.
    uint8 public constant FLAG_DIGEST_HIGH_BIT = 1;
    /// @notice `flags` bit: this is a batch receipt.
    uint8 public constant FLAG_BATCH = 2;
    /// @notice `flags` bit: this asset receipt was claimed from a batch (it retired nothing itself).
    uint8 public constant FLAG_CLAIMED = 4;

    /// @notice What verification needs on chain, in two storage words.
    struct Record {
        bytes32 receiptDigest; // sha2-256 of the canonical receipt JSON (the digest inside its raw CIDv1)
        uint64 energyMj; // IT energy, millijoules
        uint64 grossMg; // gross emissions, mg CO2e
        uint56 removedMg; // removal retired by this receipt's own settlement, mg CO2e (0 for a claim)
        uint32 retirementId; // RemovalCredits retirement backing this receipt (a claim shares its batch's)
        uint32 time; // block timestamp of issue, seconds
        uint8 flags; // FLAG_* bits
    }

    mapping(uint256 tokenId => Record) private _records;

    /// @notice Any transfer or burn of a receipt.
    error CarbonReceiptSoulbound(uint256 tokenId, address from, address to);
    /// @notice Any approval (`approve` or `setApprovalForAll`).
    error CarbonReceiptApprovalDisabled(address owner, address operator);
    /// @notice A receipt for this token id (asset or batch) already exists.
    error CarbonReceiptAlreadyIssued(uint256 tokenId);
    /// @notice A zero receipt digest.
    error CarbonReceiptEmptyDigest(uint256 tokenId);

    /// @notice A receipt was issued. For a batch token `assetDigest` is the batch's Merkle root.
    event ReceiptIssued(
        uint256 indexed tokenId,
        bytes32 indexed assetDigest,
        uint256 indexed retirementId,
        bytes32 receiptDigest,
        uint256 energyMj,
        uint256 grossMg,
        uint256 removedMg
    );

    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    constructor(address admin) ERC721("XCR Carbon Receipt", "XCRR") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Token id of the per-asset receipt for `assetDigest` (top bit cleared).
    /// @param assetDigest sha2-256 digest inside the asset's CIDv1.
    /// @return The token id.
    function assetTokenId(bytes32 assetDigest) public pure returns (uint256) {
        return uint256(assetDigest) & ~BATCH_BIT;
    }

    /// @notice Mints a locked receipt.
    /// @dev Requirements: caller has MINTER_ROLE; no receipt for `tokenId` exists; `record.receiptDigest` non-zero.
    /// `record.time` is overwritten with the block time. `_mint` (not `_safeMint`): no receiver callback.
    /// Emits {Transfer}, {Locked} and {ReceiptIssued}.
    /// @param to Receipt owner, forever.
    /// @param tokenId Asset or batch token id.
    /// @param subject Asset digest, or the Merkle root for a batch (event only).
    /// @param data The record to store.
    function mint(address to, uint256 tokenId, bytes32 subject, Record calldata data)
        external
        onlyRole(MINTER_ROLE)
    {
        if (_ownerOf(tokenId) != address(0)) revert CarbonReceiptAlreadyIssued(tokenId);
        if (data.receiptDigest == bytes32(0)) revert CarbonReceiptEmptyDigest(tokenId);
        Record memory stored = data;
        stored.time = uint32(block.timestamp);
        _records[tokenId] = stored;
        _mint(to, tokenId);
        emit Locked(tokenId);
        emit ReceiptIssued(
            tokenId, subject, data.retirementId, data.receiptDigest, data.energyMj, data.grossMg, data.removedMg
        );
    }

    /// @notice The stored record of `tokenId` (reverts if it does not exist).
    /// @param tokenId Receipt token id.
    /// @return The record.
    function record(uint256 tokenId) external view returns (Record memory) {
        _requireOwned(tokenId);
        return _records[tokenId];
    }

    /// @notice Full asset digest of an asset receipt (zero for a batch receipt).
    /// @param tokenId Receipt token id.
    /// @return The asset digest.
    function assetDigestOf(uint256 tokenId) external view returns (bytes32) {
        _requireOwned(tokenId);
        uint8 flags = _records[tokenId].flags;
        if (flags & FLAG_BATCH != 0) return bytes32(0);
        return bytes32(flags & FLAG_DIGEST_HIGH_BIT != 0 ? tokenId | BATCH_BIT : tokenId);
    }

    /// @notice Flags and retirement id of `tokenId`; (0, 0) if it does not exist.
    /// @param tokenId Receipt token id.
    /// @return flags FLAG_* bits.
    /// @return retirementId Retirement backing the receipt.
    function flagsOf(uint256 tokenId) external view returns (uint8 flags, uint32 retirementId) {
        Record storage stored = _records[tokenId];
        return (stored.flags, stored.retirementId);
    }

    /// @notice Whether a receipt exists for `tokenId`.
    /// @param tokenId Receipt token id.
    /// @return True if minted.
    function exists(uint256 tokenId) external view returns (bool) {
        return _ownerOf(tokenId) != address(0);
    }

    /// @inheritdoc IERC5192
    function locked(uint256 tokenId) external view returns (bool) {
        _requireOwned(tokenId);
        return true;
    }

    /// @notice `ipfs://` + the receipt document's CIDv1 (raw codec, sha2-256), base32 lower, computed on chain.
    /// @param tokenId Receipt token id.
    /// @return The URI.
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        return string.concat("ipfs://", _rawCidV1Base32(_records[tokenId].receiptDigest));
    }

    /// @notice Always reverts: receipts are soulbound.
    /// @dev `view` (stricter than ERC-721's nonpayable; same selector): it can only ever revert.
    /// @param to Would-be approved account.
    /// @param tokenId Receipt token id (reverts with ERC721NonexistentToken if it does not exist).
    function approve(address to, uint256 tokenId) public view override {
        revert CarbonReceiptApprovalDisabled(_requireOwned(tokenId), to);
    }

    /// @notice Always reverts: receipts are soulbound.
    /// @dev `view`, as {approve}.
    /// @param operator Would-be operator.
    function setApprovalForAll(address operator, bool) public view override {
        revert CarbonReceiptApprovalDisabled(msg.sender, operator);
    }

    /// @inheritdoc ERC721
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, AccessControl) returns (bool) {
        return interfaceId == type(IERC5192).interfaceId || super.supportsInterface(interfaceId);
    }

    /// @dev The single token hook: only mints pass; transfers and burns revert.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        address from = _ownerOf(tokenId);
        if (from != address(0) || to == address(0)) revert CarbonReceiptSoulbound(tokenId, from, to);
        return super._update(to, tokenId, auth);
    }

    /// @dev multibase 'b' + RFC 4648 base32 (lower case, no padding) of 0x01 0x55 0x12 0x20 || digest.
    function _rawCidV1Base32(bytes32 digest) private pure returns (string memory) {
        bytes memory alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        bytes memory data = abi.encodePacked(bytes4(0x01551220), digest);
        bytes memory out = new bytes(59); // 1 + ceil(36 * 8 / 5)
        out[0] = "b";
        uint256 buffer = 0;
        uint256 bits = 0;
        uint256 j = 1;
        for (uint256 i = 0; i < data.length; ++i) {
            buffer = (buffer << 8) | uint8(data[i]);
            bits += 8;
            while (bits >= 5) {
                bits -= 5;
                out[j++] = alphabet[(buffer >> bits) & 31];
            }
            buffer &= (1 << bits) - 1;
        }
        if (bits > 0) out[j] = alphabet[(buffer << (5 - bits)) & 31];
        return string(out);
    }
}
