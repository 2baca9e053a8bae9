// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title RemovalCredits
/// @notice Inventory of carbon *removal* credits: one ERC-1155 token id per registry batch, unit = gram CO2e.
/// @dev Only removal methods exist in {RemovalMethod}; avoidance or conservation credits cannot be represented.
/// Issuance is by the registrar role. Retirement is by the retirer role only (granted to the XCR controller), which
/// burns from its own balance, so every retirement on this contract is created by exactly one settlement. Holders and
/// registrars cannot retire directly: a retirement that backs no receipt would be indistinguishable from one that
/// does. A retirement is Pending until the registrar records the registry's certificate reference, then Final.
contract RemovalCredits is ERC1155, AccessControl {
    /// @notice Role allowed to issue batches and finalise retirements.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Role allowed to retire credits (the XCR controller).
    bytes32 public constant RETIRER_ROLE = keccak256("RETIRER_ROLE");

    /// @notice Carbon removal methods. Deliberately no avoidance, conservation or reduction entry.
    enum RemovalMethod {
        DirectAirCapture, // DACCS: direct air capture with geological storage
        Biochar,
        EnhancedWeathering,
        Mineralisation,
        Beccs, // bioenergy with carbon capture and storage
        OceanAlkalinity
    }

    /// @notice Retirement status: Pending on chain, Final once the registry certificate is recorded.
    enum RetirementStatus {
        None,
        Pending,
        Final
    }

    /// @notice A registry batch. The first slot is packed so eligibility checks read one word.
    struct Batch {
        RemovalMethod method;
        uint16 permanenceYears;
        uint16 vintage;
        uint64 issuedGrams;
        string registry;
        string projectId;
        string serialRange;
        string metadataCid;
    }

    /// @notice Registry data supplied at issuance.
    struct BatchTerms {
        uint64 grams; // credits issued, grams CO2e
        uint8 method; // a RemovalMethod number; anything else reverts
        uint16 permanenceYears;
        uint16 vintage; // year of removal
        string registry; // e.g. "Puro.earth"
        string projectId;
        string serialRange;
        string metadataCid; // CID of the batch's registry documents
    }

    /// @notice A retirement record, one storage word.
    struct Retirement {
        address beneficiary;
        uint32 batchId;
        uint56 grams;
        RetirementStatus status;
    }

    uint32 private _batchCount;
    uint64 private _retirementCount;
    mapping(uint256 batchId => Batch) private _batches;
    mapping(uint256 retirementId => Retirement) private _retirements;
    mapping(uint256 retirementId => string) private _certificates;

    /// @notice A batch id that was never issued.
    error RemovalCreditsUnknownBatch(uint256 batchId);
    /// @notice A method number outside {RemovalMethod} (for example an avoidance credit).
    error RemovalCreditsUnknownMethod(uint8 method);
    /// @notice Issuing zero grams, or a batch with no permanence.
    error RemovalCreditsInvalidBatch(uint64 grams, uint16 permanenceYears);
    /// @notice The batch's permanence is below the minimum the caller requires.
    error RemovalCreditsPermanenceTooLow(uint256 batchId, uint16 permanenceYears, uint16 minPermanenceYears);
    /// @notice The retirer holds fewer grams of the batch than the retirement needs.
    error RemovalCreditsInsufficientCredits(uint256 batchId, uint256 available, uint256 needed);
    /// @notice Retiring zero grams.
    error RemovalCreditsZeroRetirement();
    /// @notice The retirement is not Pending (unknown or already Final).
    error RemovalCreditsRetirementNotPending(uint256 retirementId, RetirementStatus status);
    /// @notice An empty registry certificate reference.
    error RemovalCreditsEmptyCertificate(uint256 retirementId);

    /// @notice A registry batch was issued.
    event BatchIssued(uint256 indexed batchId, address indexed to, BatchTerms terms);
    /// @notice Credits were burnt into a Pending retirement bound to `boundReceipt` (a CarbonReceipt token id).
    event Retired(
        uint256 indexed retirementId,
        uint256 indexed batchId,
        uint256 indexed boundReceipt,
        address beneficiary,
        uint256 grams
    );
    /// @notice The registrar recorded the registry certificate: the retirement is Final.
    event RetirementFinalized(uint256 indexed retirementId, string certificate);

    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param uri_ ERC-1155 metadata URI template.
    constructor(address admin, string memory uri_) ERC1155(uri_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Issues a registry batch of `terms.grams` removal credits to `to` and returns its token id.
    /// @dev Requirements: caller has REGISTRAR_ROLE; `terms.method` is a {RemovalMethod}; grams > 0; permanence > 0.
    /// The batch is recorded before minting (checks-effects-interactions): the ERC-1155 receiver callback on `to`
    /// sees a consistent state. Emits {BatchIssued} and {TransferSingle}.
    /// @param to Receiver of the credits (usually the XCR controller).
    /// @param terms Registry data of the batch.
    /// @return batchId The new ERC-1155 token id.
    function issueBatch(address to, BatchTerms calldata terms)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint256 batchId)
    {
        if (terms.method > uint8(type(RemovalMethod).max)) revert RemovalCreditsUnknownMethod(terms.method);
        if (terms.grams == 0 || terms.permanenceYears == 0) {
            revert RemovalCreditsInvalidBatch(terms.grams, terms.permanenceYears);
        }
        batchId = ++_batchCount;
        _batches[batchId] = Batch({
            method: RemovalMethod(terms.method),
            permanenceYears: terms.permanenceYears,
            vintage: terms.vintage,
            issuedGrams: terms.grams,
            registry: terms.registry,
            projectId: terms.projectId,
            serialRange: terms.serialRange,
            metadataCid: terms.metadataCid
        });
        emit BatchIssued(batchId, to, terms);
        _mint(to, batchId, terms.grams, "");
    }

    /// @notice Burns `grams` of batch `batchId` from the caller into a new Pending retirement.
    /// @dev Requirements: caller has RETIRER_ROLE; the batch exists with permanence >= `minPermanenceYears`; the
    /// caller holds `grams`. Burning calls no receiver hook. Emits {Retired} and {TransferSingle}.
    /// @param batchId Batch to retire from.
    /// @param grams Grams CO2e to retire.
    /// @param beneficiary On whose behalf the removal is claimed (the receipt's owner).
    /// @param boundReceipt CarbonReceipt token id this retirement backs (recorded in the event).
    /// @param minPermanenceYears Policy minimum permanence.
    /// @return retirementId The new retirement id.
    function retire(
        uint256 batchId,
        uint256 grams,
        address beneficiary,
        uint256 boundReceipt,
        uint16 minPermanenceYears
    ) external onlyRole(RETIRER_ROLE) returns (uint256 retirementId) {
        uint16 permanence = _batches[batchId].permanenceYears;
        if (permanence == 0) revert RemovalCreditsUnknownBatch(batchId);
        if (permanence < minPermanenceYears) {
            revert RemovalCreditsPermanenceTooLow(batchId, permanence, minPermanenceYears);
        }
        if (grams == 0) revert RemovalCreditsZeroRetirement();
        uint256 available = balanceOf(msg.sender, batchId);
        if (available < grams) revert RemovalCreditsInsufficientCredits(batchId, available, grams);
        retirementId = ++_retirementCount;
        _retirements[retirementId] = Retirement({
            beneficiary: beneficiary,
            batchId: uint32(batchId),
            grams: SafeCast.toUint56(grams), // reverts above 7.2e16 g rather than truncating
            status: RetirementStatus.Pending
        });
        emit Retired(retirementId, batchId, boundReceipt, beneficiary, grams);
        _burn(msg.sender, batchId, grams);
    }

    /// @notice Records the registry's retirement certificate reference, making the retirement Final.
    /// @dev Requirements: caller has REGISTRAR_ROLE; the retirement is Pending; `certificate` is non-empty.
    /// Emits {RetirementFinalized}.
    /// @param retirementId Retirement to finalise.
    /// @param certificate Registry certificate reference (URL, serial or CID).
    function finalizeRetirement(uint256 retirementId, string calldata certificate)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        RetirementStatus status = _retirements[retirementId].status;
        if (status != RetirementStatus.Pending) revert RemovalCreditsRetirementNotPending(retirementId, status);
        if (bytes(certificate).length == 0) revert RemovalCreditsEmptyCertificate(retirementId);
        _retirements[retirementId].status = RetirementStatus.Final;
        _certificates[retirementId] = certificate;
        emit RetirementFinalized(retirementId, certificate);
    }

    /// @notice The batch record of `batchId` (reverts for an unknown batch).
    /// @param batchId Batch token id.
    /// @return The batch record.
    function batch(uint256 batchId) external view returns (Batch memory) {
        if (_batches[batchId].permanenceYears == 0) revert RemovalCreditsUnknownBatch(batchId);
        return _batches[batchId];
    }

    /// @notice The retirement record of `retirementId` and its certificate ("" while Pending).
    /// @param retirementId Retirement id.
    /// @return record The retirement; status None for an unknown id.
    /// @return certificate The registry certificate reference.
    function retirement(uint256 retirementId)
        external
        view
        returns (Retirement memory record, string memory certificate)
    {
        return (_retirements[retirementId], _certificates[retirementId]);
    }

    /// @notice Number of batches issued (batch ids are 1..batchCount).
    /// @return The count.
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @notice Number of retirements created (retirement ids are 1..retirementCount).
    /// @return The count.
    function retirementCount() external view returns (uint256) {
        return _retirementCount;
    }

    /// @inheritdoc ERC1155
    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }
}
