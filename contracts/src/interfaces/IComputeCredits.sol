// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Debit} from "../types/SettlementTypes.sol";

/// @title Compute credits (pay-by-developer)
/// @notice Developers prepay NEU as compute credits; the settlement contract debits them in batches for the
/// jobs the router ran on their behalf. Leaving takes a delay: a developer first requests a withdrawal,
/// which the router sees and stops reserving, while the credits stay debitable for jobs already dispatched;
/// after the delay the developer withdraws what is left of the requested amount.
interface IComputeCredits {
    /// @notice A withdrawal request: `amount` NEU becomes withdrawable at `availableAt`.
    struct Withdrawal {
        uint128 amount;
        uint64 availableAt;
    }

    // --- errors ---

    /// @notice A zero address was given where an account or contract is required.
    error ZeroAddress();

    /// @notice A deposit or withdrawal request of zero NEU.
    error ZeroAmount();

    /// @notice `payer` holds `balance` credits, fewer than the `amount` to debit or withdraw.
    error InsufficientCredits(address payer, uint256 balance, uint256 amount);

    /// @notice `account` has no pending withdrawal to cancel or complete.
    error NoPendingWithdrawal(address account);

    /// @notice The pending withdrawal opens at `availableAt`; it is now `timestamp`.
    error WithdrawalNotReady(uint64 availableAt, uint64 timestamp);

    /// @notice A withdrawal delay of `delay` seconds exceeds the cap of `maxDelay`.
    error WithdrawalDelayTooLong(uint64 delay, uint64 maxDelay);

    // --- events ---

    /// @notice `from` deposited `amount` NEU as credits of `account`.
    event Deposited(address indexed from, address indexed account, uint256 amount);

    /// @notice `account` asked to withdraw `amount` credits from `availableAt` (replacing any earlier request).
    event WithdrawalRequested(address indexed account, uint256 amount, uint64 availableAt);

    /// @notice `account` cancelled its pending withdrawal of `amount`.
    event WithdrawalCancelled(address indexed account, uint256 amount);

    /// @notice `account` withdrew `amount` NEU (at most what it requested).
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice The settlement contract debited `amount` credits of `payer`.
    event Debited(address indexed payer, uint256 amount);

    /// @notice `settlement` debited a batch of `payers` payers for `total` NEU, sent to it in one transfer.
    event BatchDebited(address indexed settlement, uint256 payers, uint256 total);

    /// @notice Governance changed the withdrawal delay from `previousDelay` to `newDelay` seconds.
    event WithdrawalDelayUpdated(uint64 previousDelay, uint64 newDelay);

    // --- developers ---

    /// @notice Deposits `amount` NEU from the caller as the caller's credits.
    /// @dev Pulls NEU with transferFrom: approve this contract first.
    /// @param amount NEU wei to deposit; non-zero.
    function deposit(uint256 amount) external;

    /// @notice Deposits `amount` NEU from the caller as credits of `account` (e.g. a gateway topping up a key).
    /// @param account Receives the credits; non-zero.
    /// @param amount NEU wei to deposit, pulled from the caller; non-zero.
    function depositFor(address account, uint256 amount) external;

    /// @notice Asks to withdraw `amount` of the caller's credits after the withdrawal delay.
    /// @dev Replaces any pending request and restarts its clock. The credits stay debitable until withdrawn.
    /// @param amount Non-zero and at most the caller's current balance.
    function requestWithdrawal(uint256 amount) external;

    /// @notice Cancels the caller's pending withdrawal.
    function cancelWithdrawal() external;

    /// @notice Completes the caller's pending withdrawal once it is available.
    /// @return paid min(requested amount, current balance): debits since the request come first.
    function withdraw() external returns (uint256 paid);

    // --- settlement ---

    /// @notice Debits each payer and sends the total NEU to the caller in one transfer.
    /// @dev Only SETTLEMENT_ROLE. Reverts the whole batch if any payer lacks credits.
    /// @param debits Payers and amounts; a payer listed twice is debited twice.
    /// @return total The sum of all debited amounts.
    function debitBatch(Debit[] calldata debits) external returns (uint256 total);

    // --- governance ---

    /// @notice Sets the delay between a withdrawal request and its completion (at most MAX_WITHDRAWAL_DELAY).
    /// @dev Only DEFAULT_ADMIN_ROLE. Applies to requests made from now on.
    /// @param newDelay The delay in seconds.
    function setWithdrawalDelay(uint64 newDelay) external;

    // --- views ---

    /// @notice Role of the settlement contract, the only one that debits credits.
    function SETTLEMENT_ROLE() external view returns (bytes32);

    /// @notice Upper bound of the withdrawal delay governance may set (30 days).
    function MAX_WITHDRAWAL_DELAY() external view returns (uint64);

    /// @notice The NEU token held as credits.
    function neu() external view returns (IERC20);

    /// @notice Credits of `account`, in NEU wei (including any amount pending withdrawal).
    /// @param account The account.
    /// @return The account's credits.
    function balanceOf(address account) external view returns (uint256);

    /// @notice Sum of all credit balances; equals the NEU this contract holds (donations aside).
    function totalCredits() external view returns (uint256);

    /// @notice The pending withdrawal of `account` (zeroes when none). The router does not reserve
    /// `amount` of the account's balance while a request is pending.
    /// @param account The account.
    /// @return amount The requested amount (0 when none).
    /// @return availableAt When withdraw() may complete it.
    function pendingWithdrawal(address account) external view returns (uint256 amount, uint64 availableAt);

    /// @notice Credits of `account` the router may still reserve: balance minus the pending withdrawal.
    /// @param account The account.
    /// @return The spendable credits (0 when the pending withdrawal covers the balance).
    function spendableBalanceOf(address account) external view returns (uint256);

    /// @notice Current delay, in seconds, between a withdrawal request and its completion.
    function withdrawalDelay() external view returns (uint64);
}
