// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Test-only ERC-1155 receiver: inside the mint callback it reads the batch back and tries
/// to re-enter `issueBatch`, recording what it saw (compiled by tests/chain/test_reentrancy.py).
interface ICredits {
    struct BatchTerms {
        uint64 grams;
        uint8 method;
        uint16 permanenceYears;
        uint16 vintage;
        string registry;
        string projectId;
        string serialRange;
        string metadataCid;
    }

    function batchCount() external view returns (uint256);
    function issueBatch(address to, BatchTerms calldata terms) external returns (uint256);
}

contract ProbingReceiver {
    uint256 public seenBatchCount;
    uint256 public seenBalanceCall;
    bool public reentryReverted;

    /// @notice ERC-1155 single receive hook.
    function onERC1155Received(address, address, uint256 id, uint256, bytes calldata)
        external
        returns (bytes4)
    {
        seenBatchCount = ICredits(msg.sender).batchCount();
        seenBalanceCall = id;
        ICredits.BatchTerms memory terms = ICredits.BatchTerms(1, 0, 1000, 2024, "r", "p", "s", "c");
        try ICredits(msg.sender).issueBatch(address(this), terms) returns (uint256) {
            reentryReverted = false;
        } catch {
            reentryReverted = true;
        }
        return this.onERC1155Received.selector;
    }
}
