// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {VestingWallet} from "@openzeppelin/contracts/finance/VestingWallet.sol";
import {VestingWalletCliff} from "@openzeppelin/contracts/finance/VestingWalletCliff.sol";

/// @title NeurinoVesting
/// @notice A vesting wallet for a locked NEU allocation (team and advisors, private sale): tokens sent to it
/// vest linearly from `start` over `durationSeconds`, and nothing can be released before the cliff at
/// `start + cliffSeconds`; at the cliff the part vested since `start` becomes releasable at once. Anyone
/// may call release(token); the tokens always go to the beneficiary (the wallet's owner, transferable).
/// @dev OpenZeppelin VestingWalletCliff, made concrete. The whitepaper (3.4.2) defers vesting terms to the
/// Heurist tokenomics page, which lists for both the team-and-advisors and the private-sale allocations a
/// 3-month cliff and 24 months of total vesting, with nothing unlocked at launch; the protocol treasury a
/// 6-month cliff and 48 months. The constants below encode those terms, with a month of 365 days / 12 and
/// the total vesting counted from `start` (the cliff lies inside it). The deploy routine passes them to the
/// constructor; other terms can be used for other wallets.
/// Invariants (from VestingWallet): released(token) <= vestedAmount(token, now) <= tokens ever received;
/// vestedAmount is 0 before cliff(), linear in time up to end(), and everything from end() on.
contract NeurinoVesting is VestingWalletCliff {
    /// @notice One month: 365 days / 12 = 2,628,000 seconds.
    uint64 public constant MONTH = 365 days / 12;

    /// @notice Cliff of the team-and-advisors allocation: 3 months.
    uint64 public constant TEAM_CLIFF = 3 * MONTH;
    /// @notice Total vesting of the team-and-advisors allocation, cliff included: 24 months.
    uint64 public constant TEAM_DURATION = 24 * MONTH;

    /// @notice Cliff of the private-sale allocation: 3 months.
    uint64 public constant PRIVATE_SALE_CLIFF = 3 * MONTH;
    /// @notice Total vesting of the private-sale allocation, cliff included: 24 months.
    uint64 public constant PRIVATE_SALE_DURATION = 24 * MONTH;

    /// @notice Cliff suggested for the protocol treasury, should it be vested too: 6 months.
    uint64 public constant TREASURY_CLIFF = 6 * MONTH;
    /// @notice Total vesting suggested for the protocol treasury: 48 months.
    uint64 public constant TREASURY_DURATION = 48 * MONTH;

    /// @param beneficiary Receives the vested tokens (the wallet's owner); reverts OwnableInvalidOwner if zero.
    /// @param start Timestamp the vesting starts from.
    /// @param durationSeconds Length of the whole vesting, counted from `start`.
    /// @param cliffSeconds Length of the cliff from `start`; reverts InvalidCliffDuration if above the duration.
    constructor(address beneficiary, uint64 start, uint64 durationSeconds, uint64 cliffSeconds)
        VestingWallet(beneficiary, start, durationSeconds)
        VestingWalletCliff(cliffSeconds)
    {}
}
