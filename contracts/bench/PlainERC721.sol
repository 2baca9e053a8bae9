// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title PlainERC721
/// @notice A plain OpenZeppelin ERC-721 used only as the gas baseline in benchmarks/gas.py.
contract PlainERC721 is ERC721 {
    constructor() ERC721("Plain", "PLN") {}

    /// @notice Mints `tokenId` to `to` with no access control (benchmark only).
    /// @param to Receiver of the token.
    /// @param tokenId Identifier of the new token.
    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}
