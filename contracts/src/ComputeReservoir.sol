// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IComputeReservoir} from "./interfaces/IComputeReservoir.sol";
import {IStakedNeurino} from "./interfaces/IStakedNeurino.sol";

/// @title ComputeReservoir
/// @notice Holds unemitted and slashed NEU; only governance spends it.
/// @dev Invariants:
///  - NEU leaves only through spend() and rewardStakers(), both DEFAULT_ADMIN_ROLE only, each for a
///    positive amount no larger than the balance.
///  - totalSpent() == the sum of all amounts sent out; balance() + totalSpent() == everything received.
///  - No allowance survives a call: rewardStakers() approves the vault for the amount, then resets it to 0.
contract ComputeReservoir is IComputeReservoir, AccessControl {
    using SafeERC20 for IERC20;

    IERC20 private immutable _neu;
    uint256 private _totalSpent;

    /// @param neu_ The NEU token.
    /// @param governance Receives DEFAULT_ADMIN_ROLE, the only spender.
    constructor(IERC20 neu_, address governance) {
        if (address(neu_) == address(0) || governance == address(0)) revert ZeroAddress();
        _neu = neu_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
    }

    /// @inheritdoc IComputeReservoir
    function spend(address to, uint256 amount, bytes32 reason) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkSpend(to, amount);
        _totalSpent += amount;
        _neu.safeTransfer(to, amount);
        emit Spent(to, amount, reason);
    }

    /// @inheritdoc IComputeReservoir
    function rewardStakers(IStakedNeurino vault, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkSpend(address(vault), amount);
        _totalSpent += amount;
        _neu.forceApprove(address(vault), amount);
        vault.addRewards(amount);
        // A vault that pulled less must not keep a spending right over the reservoir.
        _neu.forceApprove(address(vault), 0);
        emit StakersRewarded(address(vault), amount);
    }

    /// @inheritdoc IComputeReservoir
    function balance() external view returns (uint256) {
        return _neu.balanceOf(address(this));
    }

    /// @inheritdoc IComputeReservoir
    function totalSpent() external view returns (uint256) {
        return _totalSpent;
    }

    /// @inheritdoc IComputeReservoir
    function neu() external view returns (IERC20) {
        return _neu;
    }

    function _checkSpend(address to, uint256 amount) private view {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 available = _neu.balanceOf(address(this));
        if (amount > available) revert InsufficientBalance(amount, available);
    }
}
