// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only stand-in for the NEU token: a plain OpenZeppelin ERC20 that anyone can mint.
contract TestNEU is ERC20 {
    constructor() ERC20("Test Neurino", "NEU") {}

    /// @notice Mints `amount` to `to`; unrestricted, for tests only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
