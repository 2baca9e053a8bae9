// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {RemovalCredits} from "./RemovalCredits.sol";
import {CarbonReceipt} from "./CarbonReceipt.sol";

/// @title XcrController
/// @notice Oracle gateway: accepts k-of-n EIP-712 signed metering reports, recomputes gross emissions from the
/// report's factors, retires at least ratio x emissions of removal credits and mints the soulbound receipt, atomically.
/// Batch mode settles one signed Merkle root for N assets with one retirement and one receipt; per-asset receipts can
/// be claimed later with an inclusion proof, sharing the batch's retirement.
/// @dev Units are those of xcr_py/units.py: energy mJ, intensity mg/kWh, PUE thousandths, emissions mg, credits g,
/// ratio basis points (>= 10,000). Rounding is always up. The controller holds the credit inventory it retires from.
/// Replay protection: a single report's id is its asset digest (one receipt per asset) and a batch report's id is its
/// Merkle root (one settlement per set of leaves): the receipt token id is derived from it, so the same report can
/// never settle twice. The EIP-712 domain binds reports to this chain id and contract; `deadline` bounds staleness.
/// The pause flag shares the policy's storage word (one cold read per settlement instead of two).
contract XcrController is AccessControl, EIP712, ERC1155Holder {
    /// @notice Role whose keys sign metering reports.
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");

    /// @notice The carbon-to-removal ratio never goes below 1.0.
    uint32 public constant MIN_RATIO_BPS = 10_000;
    uint256 private constant _MJ_PER_KWH = 3_600_000_000;
    uint256 private constant _PUE_SCALE = 1_000;
    uint256 private constant _BATCH_BIT = 1 << 255; // CarbonReceipt.BATCH_BIT

    /// @notice EIP-712 type of a single-asset report.
    bytes32 public constant METERING_REPORT_TYPEHASH = keccak256(
        "MeteringReport(bytes32 assetDigest,bytes32 receiptDigest,address creator,uint64 energyMj,"
        "uint32 intensityMgPerKwh,uint32 pueMilli,uint64 embodiedMg,uint64 grossMg,uint32 ratioBps,"
        "uint32 creditBatch,uint64 deadline)"
    );
    /// @notice EIP-712 type of a batch report.
    bytes32 public constant BATCH_REPORT_TYPEHASH = keccak256(
        "BatchReport(bytes32 root,bytes32 receiptDigest,address owner,uint32 leafCount,uint64 energyMj,"
        "uint64 grossMg,uint32 ratioBps,uint32 creditBatch,uint64 deadline)"
    );

    /// @notice A signed single-asset metering report.
    struct MeteringReport {
        bytes32 assetDigest; // sha2-256 digest inside the asset's CIDv1
        bytes32 receiptDigest; // sha2-256 of the canonical receipt JSON
        address creator; // receipt owner
        uint64 energyMj;
        uint32 intensityMgPerKwh;
        uint32 pueMilli; // >= 1000
        uint64 embodiedMg;
        uint64 grossMg; // stated; must equal the on-chain recomputation
        uint32 ratioBps; // >= the policy ratio
        uint32 creditBatch; // RemovalCredits batch to retire from
        uint64 deadline; // unix seconds; later blocks reject the report
    }

    /// @notice A signed batch report: a Merkle root over N leaves and their sums. The root is the report's id.
    struct BatchReport {
        bytes32 root;
        bytes32 receiptDigest; // batch receipt document
        address owner; // batch receipt owner
        uint32 leafCount;
        uint64 energyMj; // sum over leaves
        uint64 grossMg; // sum over leaves
        uint32 ratioBps;
        uint32 creditBatch;
        uint64 deadline;
    }

    /// @notice One asset in a batch; leaf hash = keccak256(keccak256(abi.encode(leaf))) (StandardMerkleTree).
    struct Leaf {
        bytes32 assetDigest;
        bytes32 receiptDigest;
        address creator;
        uint64 energyMj;
        uint64 grossMg;
    }

    /// @notice Admin policy and the pause flag, one storage word.
    struct Policy {
        uint32 ratioBps;
        uint16 minPermanenceYears;
        uint8 threshold;
        bool paused;
    }

    /// @notice Credit inventory this controller retires from.
    RemovalCredits public immutable credits;
    /// @notice Receipt token this controller mints.
    CarbonReceipt public immutable receipts;

    Policy private _policy;

    /// @notice Settlement and claims are paused.
    error XcrControllerPaused();
    /// @notice `unpause` while not paused.
    error XcrControllerNotPaused();
    /// @notice The report's deadline has passed.
    error XcrControllerReportExpired(uint64 deadline, uint256 blockTime);
    /// @notice Fewer valid oracle signatures than the threshold.
    error XcrControllerTooFewSignatures(uint256 count, uint256 threshold);
    /// @notice The same oracle signed twice.
    error XcrControllerDuplicateSigner(address signer);
    /// @notice Signatures must be ordered by ascending signer address.
    error XcrControllerSignersNotAscending(address previous, address signer);
    /// @notice A signer without ORACLE_ROLE.
    error XcrControllerNotOracle(address signer);
    /// @notice PUE below 1.0.
    error XcrControllerPueBelowOne(uint32 pueMilli);
    /// @notice The stated gross emissions disagree with the on-chain recomputation.
    error XcrControllerGrossMismatch(uint64 stated, uint256 computed);
    /// @notice The report asks for a ratio below the policy ratio.
    error XcrControllerRatioBelowPolicy(uint32 ratioBps, uint32 policyRatioBps);
    /// @notice A policy ratio below 1.0 (10,000 bps).
    error XcrControllerRatioBelowOne(uint32 ratioBps);
    /// @notice A threshold of zero.
    error XcrControllerInvalidThreshold(uint8 threshold);
    /// @notice An empty batch (no leaves or no emissions).
    error XcrControllerEmptyBatch(uint32 leafCount, uint64 grossMg);
    /// @notice No batch receipt with this token id.
    error XcrControllerUnknownBatch(uint256 batchTokenId);
    /// @notice The leaf is not included in the batch's Merkle root.
    error XcrControllerInvalidProof(uint256 batchTokenId, bytes32 leafHash);

    /// @notice Settlement and claims were paused by `account`.
    event Paused(address indexed account);
    /// @notice Settlement and claims were resumed by `account`.
    event Unpaused(address indexed account);
    /// @notice The admin changed the policy.
    event PolicyChanged(uint32 ratioBps, uint16 minPermanenceYears, uint8 threshold);
    /// @notice A batch was settled: one retirement, one receipt.
    event BatchSettled(uint256 indexed batchTokenId, uint256 indexed retirementId, uint32 leafCount);
    /// @notice A per-asset receipt was claimed from a settled batch.
    event AssetClaimed(uint256 indexed batchTokenId, uint256 indexed tokenId, bytes32 indexed assetDigest);

    /// @param admin Receives DEFAULT_ADMIN_ROLE (policy, pause, oracle membership).
    /// @param credits_ RemovalCredits; this contract needs its RETIRER_ROLE.
    /// @param receipts_ CarbonReceipt; this contract needs its MINTER_ROLE.
    /// @param oracles Initial ORACLE_ROLE members.
    /// @param threshold Signatures required per report (k of n).
    /// @param ratioBps Policy carbon-to-removal ratio, >= 10,000.
    /// @param minPermanenceYears Minimum permanence of a batch that may back a receipt.
    constructor(
        address admin,
        RemovalCredits credits_,
        CarbonReceipt receipts_,
        address[] memory oracles,
        uint8 threshold,
        uint32 ratioBps,
        uint16 minPermanenceYears
    ) EIP712("XCR", "1") {
        credits = credits_;
        receipts = receipts_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i = 0; i < oracles.length; ++i) {
            _grantRole(ORACLE_ROLE, oracles[i]);
        }
        _setPolicy(ratioBps, minPermanenceYears, threshold);
    }

    /// @notice Settles one asset: verifies the report, retires ceil(ratio x gross) grams and mints its receipt.
    /// @dev Requirements: not paused; deadline not passed; >= threshold distinct oracle signatures over the EIP-712
    /// digest, ordered by ascending signer; PUE >= 1000; stated gross equals the recomputation; ratio >= policy; the
    /// credit batch is eligible and held. Emits RemovalCredits.Retired, CarbonReceipt.Locked / ReceiptIssued.
    /// @param report The signed report.
    /// @param signatures 65-byte signatures, ascending by signer address.
    /// @return tokenId The asset's receipt token id.
    function submitSingle(MeteringReport calldata report, bytes[] calldata signatures)
        external
        returns (uint256 tokenId)
    {
        Policy memory current = _activePolicy();
        // Deadlines are hours ahead; a validator's few seconds of timestamp leeway do not matter.
        // slither-disable-next-line timestamp
        if (block.timestamp > report.deadline) revert XcrControllerReportExpired(report.deadline, block.timestamp);
        _checkSignatures(keccak256(abi.encode(METERING_REPORT_TYPEHASH, report)), signatures, current.threshold);
        if (report.pueMilli < _PUE_SCALE) revert XcrControllerPueBelowOne(report.pueMilli);
        uint256 gross =
            _grossEmissionsMg(report.energyMj, report.intensityMgPerKwh, report.pueMilli, report.embodiedMg);
        if (gross != report.grossMg) revert XcrControllerGrossMismatch(report.grossMg, gross);
        if (report.ratioBps < current.ratioBps) revert XcrControllerRatioBelowPolicy(report.ratioBps, current.ratioBps);
        uint256 grams = _gramsToRetire(gross, report.ratioBps);

        tokenId = uint256(report.assetDigest) & ~_BATCH_BIT;
        uint256 retirementId =
            credits.retire(report.creditBatch, grams, report.creator, tokenId, current.minPermanenceYears);
        receipts.mint(
            report.creator,
            tokenId,
            report.assetDigest,
            CarbonReceipt.Record({
                receiptDigest: report.receiptDigest,
                energyMj: report.energyMj,
                grossMg: report.grossMg,
                removedMg: SafeCast.toUint56(grams * 1000),
                retirementId: SafeCast.toUint32(retirementId),
                time: 0,
                flags: _digestFlag(report.assetDigest)
            })
        );
    }

    /// @notice Settles a batch: verifies the report, retires ceil(ratio x summed gross) grams once and mints one
    /// batch receipt whose token id is the Merkle root with the top bit set (the root's own top bit is kept in the
    /// receipt's flags), so settlement writes no per-asset and no extra per-batch storage.
    /// @dev Gas does not depend on the number of leaves. Requirements as {submitSingle}, plus leafCount > 0 and
    /// grossMg > 0; the summed figures are the oracles' (`verify` re-derives them from the leaves).
    /// Emits {BatchSettled}.
    /// @param report The signed batch report.
    /// @param signatures 65-byte signatures, ascending by signer address.
    /// @return batchTokenId The batch receipt token id.
    function submitBatch(BatchReport calldata report, bytes[] calldata signatures)
        external
        returns (uint256 batchTokenId)
    {
        Policy memory current = _activePolicy();
        // As in {submitSingle}: deadlines are hours ahead, so timestamp leeway does not matter.
        // slither-disable-next-line timestamp
        if (block.timestamp > report.deadline) revert XcrControllerReportExpired(report.deadline, block.timestamp);
        _checkSignatures(keccak256(abi.encode(BATCH_REPORT_TYPEHASH, report)), signatures, current.threshold);
        if (report.leafCount == 0 || report.grossMg == 0) {
            revert XcrControllerEmptyBatch(report.leafCount, report.grossMg);
        }
        if (report.ratioBps < current.ratioBps) revert XcrControllerRatioBelowPolicy(report.ratioBps, current.ratioBps);
        uint256 grams = _gramsToRetire(report.grossMg, report.ratioBps);

        // A replayed report (or another report over the same leaves) maps to the same id: the mint reverts.
        batchTokenId = uint256(report.root) | _BATCH_BIT;
        uint256 retirementId =
            credits.retire(report.creditBatch, grams, report.owner, batchTokenId, current.minPermanenceYears);
        // The event needs the retirement id; `credits` is immutable, ours, and calls out to no one on burn.
        // slither-disable-next-line reentrancy-events
        emit BatchSettled(batchTokenId, retirementId, report.leafCount);
        receipts.mint(
            report.owner,
            batchTokenId,
            report.root,
            CarbonReceipt.Record({
                receiptDigest: report.receiptDigest,
                energyMj: report.energyMj,
                grossMg: report.grossMg,
                removedMg: SafeCast.toUint56(grams * 1000),
                retirementId: SafeCast.toUint32(retirementId),
                time: 0,
                flags: _digestFlag(report.root) | 2 // CarbonReceipt.FLAG_BATCH
            })
        );
    }

    /// @notice Mints the per-asset receipt of a leaf of a settled batch to the creator named in the leaf.
    /// @dev Anyone may call. Retires nothing: the receipt records the batch's retirement id and removedMg = 0.
    /// At most once per asset (the asset token id is unique across single and batch modes).
    /// Requirements: not paused; the batch exists; the proof is valid. Emits {AssetClaimed}.
    /// @param batchTokenId The batch receipt token id.
    /// @param leaf The asset's leaf.
    /// @param proof Merkle proof of `leaf` under the batch root.
    /// @return tokenId The asset receipt token id.
    function claimAssetReceipt(uint256 batchTokenId, Leaf calldata leaf, bytes32[] calldata proof)
        external
        returns (uint256 tokenId)
    {
        _activePolicy();
        (bytes32 root, uint32 retirementId) = _batchOf(batchTokenId);
        bytes32 hashed = _leafHash(leaf);
        if (!MerkleProof.verifyCalldata(proof, root, hashed)) revert XcrControllerInvalidProof(batchTokenId, hashed);
        tokenId = uint256(leaf.assetDigest) & ~_BATCH_BIT;
        emit AssetClaimed(batchTokenId, tokenId, leaf.assetDigest);
        receipts.mint(
            leaf.creator,
            tokenId,
            leaf.assetDigest,
            CarbonReceipt.Record({
                receiptDigest: leaf.receiptDigest,
                energyMj: leaf.energyMj,
                grossMg: leaf.grossMg,
                removedMg: 0,
                retirementId: retirementId,
                time: 0,
                flags: _digestFlag(leaf.assetDigest) | 4 // CarbonReceipt.FLAG_CLAIMED
            })
        );
    }

    /// @notice Whether `leaf` is included in the settled batch `batchTokenId`.
    /// @param batchTokenId The batch receipt token id (reverts if unknown).
    /// @param leaf The asset's leaf.
    /// @param proof Merkle proof.
    /// @return True if the proof is valid.
    function verifyAsset(uint256 batchTokenId, Leaf calldata leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        (bytes32 root,) = _batchOf(batchTokenId);
        return MerkleProof.verifyCalldata(proof, root, _leafHash(leaf));
    }

    /// @notice The Merkle leaf hash of `leaf` (double keccak of its ABI encoding).
    /// @param leaf The leaf.
    /// @return The leaf hash.
    function leafHash(Leaf calldata leaf) external pure returns (bytes32) {
        return _leafHash(leaf);
    }

    /// @notice The Merkle root of a settled batch (reverts if unknown).
    /// @param batchTokenId The batch receipt token id.
    /// @return root The root.
    function batchRoot(uint256 batchTokenId) external view returns (bytes32 root) {
        (root,) = _batchOf(batchTokenId);
    }

    /// @notice Gross emissions in mg CO2e as the controller computes them (xcr_py.units.gross_emissions_mg).
    /// @param energyMj IT energy, mJ.
    /// @param intensityMgPerKwh Grid intensity, mg/kWh.
    /// @param pueMilli PUE in thousandths.
    /// @param embodiedMg Embodied share, mg.
    /// @return Gross emissions, mg.
    function grossEmissionsMg(uint64 energyMj, uint32 intensityMgPerKwh, uint32 pueMilli, uint64 embodiedMg)
        external
        pure
        returns (uint256)
    {
        return _grossEmissionsMg(energyMj, intensityMgPerKwh, pueMilli, embodiedMg);
    }

    /// @notice Whole grams retired for `grossMg` at `ratioBps` (xcr_py.units.grams_to_retire).
    /// @param grossMg Gross emissions, mg.
    /// @param ratioBps Ratio, basis points.
    /// @return Grams.
    function gramsToRetire(uint256 grossMg, uint256 ratioBps) external pure returns (uint256) {
        return _gramsToRetire(grossMg, ratioBps);
    }

    /// @notice The current policy.
    /// @return The policy.
    function policy() external view returns (Policy memory) {
        return _policy;
    }

    /// @notice Sets the policy.
    /// @dev Requirements: caller is admin; ratio >= 10,000; threshold > 0. Emits {PolicyChanged}.
    /// @param ratioBps Carbon-to-removal ratio, basis points.
    /// @param minPermanenceYears Minimum batch permanence, years.
    /// @param threshold Oracle signatures required per report.
    function setPolicy(uint32 ratioBps, uint16 minPermanenceYears, uint8 threshold)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setPolicy(ratioBps, minPermanenceYears, threshold);
    }

    /// @notice Pauses settlement and claims.
    /// @dev Requirements: caller is admin; not paused. Emits {Paused}.
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _activePolicy();
        _policy.paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Resumes settlement and claims.
    /// @dev Requirements: caller is admin; paused. Emits {Unpaused}.
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_policy.paused) revert XcrControllerNotPaused();
        _policy.paused = false;
        emit Unpaused(msg.sender);
    }

    /// @notice Whether settlement and claims are paused.
    /// @return True if paused.
    function paused() external view returns (bool) {
        return _policy.paused;
    }

    /// @notice The EIP-712 digest of a single report (what oracles sign).
    /// @param report The report.
    /// @return The digest.
    function singleDigest(MeteringReport calldata report) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(METERING_REPORT_TYPEHASH, report)));
    }

    /// @notice The EIP-712 digest of a batch report (what oracles sign).
    /// @param report The report.
    /// @return The digest.
    function batchDigest(BatchReport calldata report) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(BATCH_REPORT_TYPEHASH, report)));
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControl, ERC1155Holder)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }

    function _setPolicy(uint32 ratioBps, uint16 minPermanenceYears, uint8 threshold) private {
        if (ratioBps < MIN_RATIO_BPS) revert XcrControllerRatioBelowOne(ratioBps);
        if (threshold == 0) revert XcrControllerInvalidThreshold(threshold);
        _policy = Policy(ratioBps, minPermanenceYears, threshold, _policy.paused);
        emit PolicyChanged(ratioBps, minPermanenceYears, threshold);
    }

    /// @dev Counts distinct oracle signers; ascending order makes the duplicate check O(1) per signature.
    function _checkSignatures(bytes32 structHash, bytes[] calldata signatures, uint8 threshold) private view {
        if (signatures.length < threshold) revert XcrControllerTooFewSignatures(signatures.length, threshold);
        bytes32 digest = _hashTypedDataV4(structHash);
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer == previous) revert XcrControllerDuplicateSigner(signer);
            if (signer < previous) revert XcrControllerSignersNotAscending(previous, signer);
            if (!hasRole(ORACLE_ROLE, signer)) revert XcrControllerNotOracle(signer);
            previous = signer;
        }
    }

    function _activePolicy() private view returns (Policy memory current) {
        current = _policy;
        if (current.paused) revert XcrControllerPaused();
    }

    /// @dev Root and retirement of a settled batch: the token id holds 255 bits of the root, the flags the top bit.
    function _batchOf(uint256 batchTokenId) private view returns (bytes32 root, uint32 retirementId) {
        uint8 flags;
        (flags, retirementId) = receipts.flagsOf(batchTokenId);
        if (flags & 2 == 0) revert XcrControllerUnknownBatch(batchTokenId); // CarbonReceipt.FLAG_BATCH
        root = bytes32((batchTokenId & ~_BATCH_BIT) | (flags & 1 == 1 ? _BATCH_BIT : 0));
    }

    function _leafHash(Leaf calldata leaf) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(leaf))));
    }

    /// @dev ceil(E x PUE x I / (1000 x 3.6e9)) + embodied; checked math, inputs bounded by their types.
    function _grossEmissionsMg(uint64 energyMj, uint32 intensityMgPerKwh, uint32 pueMilli, uint64 embodiedMg)
        private
        pure
        returns (uint256)
    {
        uint256 denominator = _PUE_SCALE * _MJ_PER_KWH;
        uint256 operational =
            (uint256(energyMj) * pueMilli * intensityMgPerKwh + denominator - 1) / denominator;
        return operational + embodiedMg;
    }

    /// @dev ceil(ceil(gross x ratio / 10,000) / 1,000).
    function _gramsToRetire(uint256 grossMg, uint256 ratioBps) private pure returns (uint256) {
        uint256 requiredMg = (grossMg * ratioBps + 9_999) / 10_000;
        return (requiredMg + 999) / 1_000;
    }

    function _digestFlag(bytes32 assetDigest) private pure returns (uint8) {
        return uint256(assetDigest) >> 255 == 1 ? 1 : 0; // CarbonReceipt.FLAG_DIGEST_HIGH_BIT
    }
}
