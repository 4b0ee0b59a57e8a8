// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IEmissionVault} from "./interfaces/IEmissionVault.sol";

/// @title EmissionVault
/// @notice Holds the NEU emission allocation until the emission controller releases it.
/// @dev Invariants:
///  - NEU leaves only through release(), called by EMITTER_ROLE, to a non-zero address.
///  - totalReleased() == the sum of all released amounts; remaining() == the NEU balance, so
///    remaining() + totalReleased() == everything ever received.
///  - Governance (DEFAULT_ADMIN_ROLE) grants and revokes EMITTER_ROLE but cannot move NEU itself.
contract EmissionVault is IEmissionVault, AccessControl {
    using SafeERC20 for IERC20;

    /// @inheritdoc IEmissionVault
    bytes32 public constant EMITTER_ROLE = keccak256("EMITTER_ROLE");

    IERC20 private immutable _neu;
    uint256 private _totalReleased;

    /// @param neu_ The NEU token.
    /// @param governance Receives DEFAULT_ADMIN_ROLE (grants EMITTER_ROLE to the emission controller).
    constructor(IERC20 neu_, address governance) {
        if (address(neu_) == address(0) || governance == address(0)) revert ZeroAddress();
        _neu = neu_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
    }

    /// @inheritdoc IEmissionVault
    function release(address to, uint256 amount) external onlyRole(EMITTER_ROLE) {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 available = _neu.balanceOf(address(this));
        if (amount > available) revert InsufficientBalance(amount, available);
        uint256 total = _totalReleased + amount;
        _totalReleased = total;
        _neu.safeTransfer(to, amount);
        emit Released(msg.sender, to, amount, total);
    }

    /// @inheritdoc IEmissionVault
    function remaining() external view returns (uint256) {
        return _neu.balanceOf(address(this));
    }

    /// @inheritdoc IEmissionVault
    function totalReleased() external view returns (uint256) {
        return _totalReleased;
    }

    /// @inheritdoc IEmissionVault
    function neu() external view returns (IERC20) {
        return _neu;
    }
}
