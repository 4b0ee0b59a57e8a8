// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {ComputeCredits} from "../../src/ComputeCredits.sol";
import {IComputeCredits} from "../../src/interfaces/IComputeCredits.sol";
import {ComputeCreditsFixture} from "./ComputeCreditsFixture.sol";

/// @notice ComputeCredits: construction, deposits and the withdrawal flow.
contract ComputeCreditsTest is ComputeCreditsFixture {
    // --- constructor ---

    function test_constructor_setsState() public view {
        assertEq(address(credits.neu()), address(neu));
        assertEq(credits.withdrawalDelay(), WITHDRAWAL_DELAY);
        assertTrue(credits.hasRole(credits.DEFAULT_ADMIN_ROLE(), governance));
        assertTrue(credits.hasRole(credits.SETTLEMENT_ROLE(), address(settlement)));
        assertEq(credits.SETTLEMENT_ROLE(), keccak256("SETTLEMENT_ROLE"));
        assertEq(credits.MAX_WITHDRAWAL_DELAY(), 30 days);
        assertEq(credits.totalCredits(), 0);
    }

    function test_constructor_emitsDelay() public {
        vm.expectEmit(true, true, true, true);
        emit IComputeCredits.WithdrawalDelayUpdated(0, 2 days);
        new ComputeCredits(neu, governance, 2 days);
    }

    function test_constructor_failsIfZeroNeu() public {
        vm.expectRevert(IComputeCredits.ZeroAddress.selector);
        new ComputeCredits(IERC20(address(0)), governance, 1 days);
    }

    function test_constructor_failsIfZeroGovernance() public {
        vm.expectRevert(IComputeCredits.ZeroAddress.selector);
        new ComputeCredits(neu, address(0), 1 days);
    }

    function test_constructor_failsIfDelayTooLong() public {
        vm.expectRevert(abi.encodeWithSelector(IComputeCredits.WithdrawalDelayTooLong.selector, 31 days, 30 days));
        new ComputeCredits(neu, governance, 31 days);
    }

    // --- deposit / depositFor ---

    function test_deposit_creditsCaller() public {
        _fund(alice, 100e18);
        vm.startPrank(alice);
        neu.approve(address(credits), 100e18);
        vm.expectEmit(true, true, true, true, address(credits));
        emit IComputeCredits.Deposited(alice, alice, 60e18);
        credits.deposit(60e18);
        vm.stopPrank();

        assertEq(credits.balanceOf(alice), 60e18);
        assertEq(credits.totalCredits(), 60e18);
        assertEq(neu.balanceOf(address(credits)), 60e18);
        assertEq(neu.balanceOf(alice), 40e18);
    }

    function test_deposit_failsIfZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(IComputeCredits.ZeroAmount.selector);
        credits.deposit(0);
    }

    function test_deposit_failsWithoutAllowance() public {
        _fund(alice, 1e18);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(credits), 0, 1e18)
        );
        credits.deposit(1e18);
    }

    function test_depositFor_creditsAccount() public {
        _fund(alice, 10e18);
        vm.startPrank(alice);
        neu.approve(address(credits), 10e18);
        vm.expectEmit(true, true, true, true, address(credits));
        emit IComputeCredits.Deposited(alice, bob, 10e18);
        credits.depositFor(bob, 10e18);
        vm.stopPrank();

        assertEq(credits.balanceOf(bob), 10e18);
        assertEq(credits.balanceOf(alice), 0);
        assertEq(neu.balanceOf(alice), 0);
        assertEq(credits.totalCredits(), 10e18);
    }

    function test_depositFor_failsIfZeroAccount() public {
        vm.prank(alice);
        vm.expectRevert(IComputeCredits.ZeroAddress.selector);
        credits.depositFor(address(0), 1e18);
    }

    function test_depositFor_failsIfZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(IComputeCredits.ZeroAmount.selector);
        credits.depositFor(bob, 0);
    }

    // --- requestWithdrawal ---

    function test_requestWithdrawal_recordsPending() public {
        _depositCredits(alice, 10e18);
        uint64 availableAt = uint64(block.timestamp) + WITHDRAWAL_DELAY;
        vm.expectEmit(true, true, true, true, address(credits));
        emit IComputeCredits.WithdrawalRequested(alice, 4e18, availableAt);
        vm.prank(alice);
        credits.requestWithdrawal(4e18);

        (uint256 amount, uint64 at) = credits.pendingWithdrawal(alice);
        assertEq(amount, 4e18);
        assertEq(at, availableAt);
        assertEq(credits.balanceOf(alice), 10e18, "credits stay until withdrawn");
        assertEq(credits.spendableBalanceOf(alice), 6e18);
    }

    function test_requestWithdrawal_replacesPendingAndRestartsClock() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        credits.requestWithdrawal(4e18);
        skip(12 hours);
        vm.prank(alice);
        credits.requestWithdrawal(7e18);

        (uint256 amount, uint64 at) = credits.pendingWithdrawal(alice);
        assertEq(amount, 7e18);
        assertEq(at, uint64(block.timestamp) + WITHDRAWAL_DELAY);
    }

    function test_requestWithdrawal_failsIfAboveBalance() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IComputeCredits.InsufficientCredits.selector, alice, 10e18, 11e18));
        credits.requestWithdrawal(11e18);
    }

    function test_requestWithdrawal_failsIfZeroAmount() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        vm.expectRevert(IComputeCredits.ZeroAmount.selector);
        credits.requestWithdrawal(0);
    }

    // --- cancelWithdrawal ---

    function test_cancelWithdrawal_clearsPending() public {
        _depositCredits(alice, 10e18);
        vm.startPrank(alice);
        credits.requestWithdrawal(4e18);
        vm.expectEmit(true, true, true, true, address(credits));
        emit IComputeCredits.WithdrawalCancelled(alice, 4e18);
        credits.cancelWithdrawal();
        vm.stopPrank();

        (uint256 amount, uint64 at) = credits.pendingWithdrawal(alice);
        assertEq(amount, 0);
        assertEq(at, 0);
        assertEq(credits.spendableBalanceOf(alice), 10e18);
    }

    function test_cancelWithdrawal_failsIfNonePending() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IComputeCredits.NoPendingWithdrawal.selector, alice));
        credits.cancelWithdrawal();
    }

    // --- withdraw ---

    function test_withdraw_paysRequestedAmount() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        credits.requestWithdrawal(4e18);
        skip(WITHDRAWAL_DELAY);

        vm.expectEmit(true, true, true, true, address(credits));
        emit IComputeCredits.Withdrawn(alice, 4e18);
        vm.prank(alice);
        uint256 paid = credits.withdraw();

        assertEq(paid, 4e18);
        assertEq(neu.balanceOf(alice), 4e18);
        assertEq(credits.balanceOf(alice), 6e18);
        assertEq(credits.totalCredits(), 6e18);
        assertEq(neu.balanceOf(address(credits)), 6e18);
        (uint256 amount,) = credits.pendingWithdrawal(alice);
        assertEq(amount, 0);
    }

    function test_withdraw_paysWhatIsLeftAfterDebits() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        credits.requestWithdrawal(8e18);
        vm.prank(settler);
        credits.debitBatch(_debits1(alice, 5e18));
        skip(WITHDRAWAL_DELAY);

        vm.prank(alice);
        uint256 paid = credits.withdraw();
        assertEq(paid, 5e18);
        assertEq(credits.balanceOf(alice), 0);
        assertEq(neu.balanceOf(alice), 5e18);
    }

    function test_withdraw_paysZeroIfFullyDebited() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        credits.requestWithdrawal(10e18);
        vm.prank(settler);
        credits.debitBatch(_debits1(alice, 10e18));
        skip(WITHDRAWAL_DELAY);

        vm.prank(alice);
        assertEq(credits.withdraw(), 0);
        (uint256 amount,) = credits.pendingWithdrawal(alice);
        assertEq(amount, 0, "request consumed");
    }

    function test_withdraw_failsIfNotReady() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        credits.requestWithdrawal(4e18);
        uint64 availableAt = uint64(block.timestamp) + WITHDRAWAL_DELAY;
        skip(WITHDRAWAL_DELAY - 1);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IComputeCredits.WithdrawalNotReady.selector, availableAt, availableAt - 1)
        );
        credits.withdraw();
    }

    function test_withdraw_failsIfNonePending() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IComputeCredits.NoPendingWithdrawal.selector, alice));
        credits.withdraw();
    }

    function test_withdraw_failsTheSecondTime() public {
        _depositCredits(alice, 10e18);
        vm.startPrank(alice);
        credits.requestWithdrawal(4e18);
        skip(WITHDRAWAL_DELAY);
        credits.withdraw();
        vm.expectRevert(abi.encodeWithSelector(IComputeCredits.NoPendingWithdrawal.selector, alice));
        credits.withdraw();
        vm.stopPrank();
    }

    function test_withdraw_usesDelayAtRequestTime() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        credits.requestWithdrawal(4e18);
        vm.prank(governance);
        credits.setWithdrawalDelay(30 days);
        skip(WITHDRAWAL_DELAY);
        vm.prank(alice);
        assertEq(credits.withdraw(), 4e18);
    }
}
