// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Emission vault
/// @notice Holds the 50 % emission allocation of NEU (whitepaper 3.4.2, 3.4.4). Only the emission
/// controller (EMITTER_ROLE) releases it, epoch by epoch, to compute nodes, voters and the compute reservoir.
interface IEmissionVault {
    /// @notice A zero address was given where an account or contract is required.
    error ZeroAddress();

    /// @notice A release of zero NEU.
    error ZeroAmount();

    /// @notice A release of `requested` NEU exceeds the `available` NEU in the vault.
    error InsufficientBalance(uint256 requested, uint256 available);

    /// @notice `emitter` released `amount` NEU to `to`; `totalReleased` NEU have been released in all.
    event Released(address indexed emitter, address indexed to, uint256 amount, uint256 totalReleased);

    /// @notice Sends `amount` NEU of emission to `to`.
    /// @dev Only EMITTER_ROLE. Reverts ZeroAddress, ZeroAmount, InsufficientBalance.
    function release(address to, uint256 amount) external;

    /// @notice NEU still held for emission.
    function remaining() external view returns (uint256);

    /// @notice NEU released so far.
    function totalReleased() external view returns (uint256);

    /// @notice The NEU token.
    function neu() external view returns (IERC20);

    /// @notice Role of the emission controller, the only releaser.
    function EMITTER_ROLE() external view returns (bytes32);
}
