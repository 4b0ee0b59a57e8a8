// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IComputeCredits} from "./interfaces/IComputeCredits.sol";
import {Debit} from "./types/SettlementTypes.sol";

/// @title ComputeCredits
/// @notice Prepaid NEU compute credits of developers (pay-by-developer), debited in batches by Settlement.
/// @dev Invariants:
///  - NEU balance of this contract == sum of all credit balances == totalCredits() (a plain NEU transfer to
///    the contract, a donation, only makes the balance larger; it is never credited to anyone).
///  - NEU leaves only through withdraw() (at most the caller's requested amount and balance, not before its
///    availableAt) and debitBatch() (exactly the sum of debited balances, to the SETTLEMENT_ROLE caller).
///  - A balance never goes negative: a debit or withdrawal larger than the balance reverts or is capped.
///  - A pending withdrawal never blocks a debit: credits stay debitable until they are withdrawn.
contract ComputeCredits is IComputeCredits, AccessControl {
    using SafeERC20 for IERC20;

    /// @inheritdoc IComputeCredits
    bytes32 public constant SETTLEMENT_ROLE = keccak256("SETTLEMENT_ROLE");

    /// @inheritdoc IComputeCredits
    uint64 public constant MAX_WITHDRAWAL_DELAY = 30 days;

    IERC20 private immutable _neu;

    mapping(address account => uint256) private _balances;
    mapping(address account => Withdrawal) private _withdrawals;
    uint256 private _totalCredits;
    uint64 private _withdrawalDelay;

    /// @param neu_ The NEU token.
    /// @param governance Receives DEFAULT_ADMIN_ROLE (sets parameters, grants SETTLEMENT_ROLE).
    /// @param withdrawalDelay_ Seconds between a withdrawal request and its completion.
    constructor(IERC20 neu_, address governance, uint64 withdrawalDelay_) {
        if (address(neu_) == address(0) || governance == address(0)) revert ZeroAddress();
        if (withdrawalDelay_ > MAX_WITHDRAWAL_DELAY) {
            revert WithdrawalDelayTooLong(withdrawalDelay_, MAX_WITHDRAWAL_DELAY);
        }
        _neu = neu_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _withdrawalDelay = withdrawalDelay_;
        emit WithdrawalDelayUpdated(0, withdrawalDelay_);
    }

    // --- developers ---

    /// @inheritdoc IComputeCredits
    function deposit(uint256 amount) external {
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IComputeCredits
    function depositFor(address account, uint256 amount) external {
        if (account == address(0)) revert ZeroAddress();
        _deposit(account, amount);
    }

    /// @inheritdoc IComputeCredits
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = _balances[msg.sender];
        if (amount > balance) revert InsufficientCredits(msg.sender, balance, amount);
        uint64 availableAt = uint64(block.timestamp) + _withdrawalDelay;
        // The amount fits: it is at most a balance, and all balances together are NEU this contract holds.
        _withdrawals[msg.sender] = Withdrawal({amount: SafeCast.toUint128(amount), availableAt: availableAt});
        emit WithdrawalRequested(msg.sender, amount, availableAt);
    }

    /// @inheritdoc IComputeCredits
    function cancelWithdrawal() external {
        uint256 amount = _withdrawals[msg.sender].amount;
        if (amount == 0) revert NoPendingWithdrawal(msg.sender);
        delete _withdrawals[msg.sender];
        emit WithdrawalCancelled(msg.sender, amount);
    }

    /// @inheritdoc IComputeCredits
    function withdraw() external returns (uint256 paid) {
        Withdrawal memory pending = _withdrawals[msg.sender];
        if (pending.amount == 0) revert NoPendingWithdrawal(msg.sender);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < pending.availableAt) {
            revert WithdrawalNotReady(pending.availableAt, uint64(block.timestamp));
        }
        delete _withdrawals[msg.sender];
        uint256 balance = _balances[msg.sender];
        paid = pending.amount < balance ? pending.amount : balance;
        unchecked {
            // paid <= balance <= _totalCredits.
            _balances[msg.sender] = balance - paid;
            _totalCredits -= paid;
        }
        emit Withdrawn(msg.sender, paid);
        if (paid != 0) _neu.safeTransfer(msg.sender, paid);
    }

    // --- settlement ---

    /// @inheritdoc IComputeCredits
    function debitBatch(Debit[] calldata debits) external onlyRole(SETTLEMENT_ROLE) returns (uint256 total) {
        uint256 count = debits.length;
        for (uint256 i; i < count;) {
            Debit calldata debit = debits[i];
            address payer = debit.payer;
            uint256 amount = debit.amount;
            uint256 balance = _balances[payer];
            if (amount > balance) revert InsufficientCredits(payer, balance, amount);
            unchecked {
                // amount <= balance; total is a sum of amounts each taken out of a balance (a payer listed
                // twice is debited twice), so total <= _totalCredits; i < count.
                _balances[payer] = balance - amount;
                total += amount;
                ++i;
            }
            emit Debited(payer, amount);
        }
        unchecked {
            // total <= _totalCredits, see above.
            _totalCredits -= total;
        }
        emit BatchDebited(msg.sender, count, total);
        if (total != 0) _neu.safeTransfer(msg.sender, total);
    }

    // --- governance ---

    /// @inheritdoc IComputeCredits
    function setWithdrawalDelay(uint64 newDelay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newDelay > MAX_WITHDRAWAL_DELAY) revert WithdrawalDelayTooLong(newDelay, MAX_WITHDRAWAL_DELAY);
        uint64 previousDelay = _withdrawalDelay;
        _withdrawalDelay = newDelay;
        emit WithdrawalDelayUpdated(previousDelay, newDelay);
    }

    // --- views ---

    /// @inheritdoc IComputeCredits
    function neu() external view returns (IERC20) {
        return _neu;
    }

    /// @inheritdoc IComputeCredits
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc IComputeCredits
    function totalCredits() external view returns (uint256) {
        return _totalCredits;
    }

    /// @inheritdoc IComputeCredits
    function pendingWithdrawal(address account) external view returns (uint256 amount, uint64 availableAt) {
        Withdrawal memory pending = _withdrawals[account];
        return (pending.amount, pending.availableAt);
    }

    /// @inheritdoc IComputeCredits
    function spendableBalanceOf(address account) external view returns (uint256) {
        uint256 balance = _balances[account];
        uint256 pending = _withdrawals[account].amount;
        unchecked {
            // Only subtracts when pending < balance.
            return pending < balance ? balance - pending : 0;
        }
    }

    /// @inheritdoc IComputeCredits
    function withdrawalDelay() external view returns (uint64) {
        return _withdrawalDelay;
    }

    function _deposit(address account, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        _balances[account] += amount;
        _totalCredits += amount;
        emit Deposited(msg.sender, account, amount);
        _neu.safeTransferFrom(msg.sender, address(this), amount);
    }
}
