// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IStakedNeurino} from "./IStakedNeurino.sol";

/// @title Compute reservoir
/// @notice The pool of NEU that was not emitted (Emax - E of each epoch) plus slashed stake (whitepaper
/// 3.4.5). It receives NEU by plain transfers; only governance spends it: external GPU rentals, grants,
/// or extra staking rewards.
interface IComputeReservoir {
    /// @notice A zero address was given where an account or contract is required.
    error ZeroAddress();

    /// @notice A spend of zero NEU.
    error ZeroAmount();

    /// @notice A spend of `requested` NEU exceeds the `available` NEU in the reservoir.
    error InsufficientBalance(uint256 requested, uint256 available);

    /// @notice Governance sent `amount` NEU to `to` for `reason`.
    event Spent(address indexed to, uint256 amount, bytes32 indexed reason);

    /// @notice Governance added `amount` NEU of the reservoir to the rewards of staking vault `vault`.
    event StakersRewarded(address indexed vault, uint256 amount);

    /// @notice Sends `amount` NEU to `to`, recording `reason` (e.g. a proposal id or a short ASCII tag).
    /// @dev Only DEFAULT_ADMIN_ROLE. Reverts ZeroAddress, ZeroAmount, InsufficientBalance.
    function spend(address to, uint256 amount, bytes32 reason) external;

    /// @notice Adds `amount` NEU of the reservoir to the stNEU rewards (whitepaper 3.4.3, source 3).
    /// @dev Only DEFAULT_ADMIN_ROLE. The reservoir must hold REWARDER_ROLE on `vault`. Reverts ZeroAddress,
    /// ZeroAmount, InsufficientBalance.
    function rewardStakers(IStakedNeurino vault, uint256 amount) external;

    /// @notice NEU in the reservoir.
    function balance() external view returns (uint256);

    /// @notice NEU spent so far (rewardStakers included).
    function totalSpent() external view returns (uint256);

    /// @notice The NEU token.
    function neu() external view returns (IERC20);
}
