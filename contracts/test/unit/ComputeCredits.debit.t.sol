// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IComputeCredits} from "../../src/interfaces/IComputeCredits.sol";
import {Debit} from "../../src/types/SettlementTypes.sol";
import {ComputeCreditsFixture} from "./ComputeCreditsFixture.sol";

/// @notice ComputeCredits: debitBatch, the withdrawal delay setting and views.
contract ComputeCreditsDebitTest is ComputeCreditsFixture {
    // --- debitBatch ---

    function test_debitBatch_debitsEachPayerInOneTransfer() public {
        _depositCredits(alice, 10e18);
        _depositCredits(bob, 20e18);
        Debit[] memory debits = new Debit[](2);
        debits[0] = Debit({payer: alice, amount: 3e18});
        debits[1] = Debit({payer: bob, amount: 5e18});

        vm.expectEmit(true, true, true, true, address(credits));
        emit IComputeCredits.Debited(alice, 3e18);
        vm.expectEmit(true, true, true, true, address(credits));
        emit IComputeCredits.Debited(bob, 5e18);
        vm.expectEmit(true, true, true, true, address(credits));
        emit IComputeCredits.BatchDebited(settler, 2, 8e18);
        vm.expectCall(address(neu), abi.encodeCall(IERC20.transfer, (settler, 8e18)), 1);
        vm.prank(settler);
        uint256 total = credits.debitBatch(debits);

        assertEq(total, 8e18);
        assertEq(credits.balanceOf(alice), 7e18);
        assertEq(credits.balanceOf(bob), 15e18);
        assertEq(credits.totalCredits(), 22e18);
        assertEq(neu.balanceOf(settler), 8e18);
        assertEq(neu.balanceOf(address(credits)), 22e18);
    }

    function test_debitBatch_debitsCreditsPendingWithdrawal() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        credits.requestWithdrawal(10e18);
        vm.prank(settler);
        credits.debitBatch(_debits1(alice, 10e18));
        assertEq(credits.balanceOf(alice), 0);
        assertEq(credits.spendableBalanceOf(alice), 0);
    }

    function test_debitBatch_debitsRepeatedPayerTwice() public {
        _depositCredits(alice, 10e18);
        Debit[] memory debits = new Debit[](2);
        debits[0] = Debit({payer: alice, amount: 6e18});
        debits[1] = Debit({payer: alice, amount: 5e18});
        vm.prank(settler);
        vm.expectRevert(abi.encodeWithSelector(IComputeCredits.InsufficientCredits.selector, alice, 4e18, 5e18));
        credits.debitBatch(debits);

        debits[1].amount = 4e18;
        vm.prank(settler);
        assertEq(credits.debitBatch(debits), 10e18);
        assertEq(credits.balanceOf(alice), 0);
    }

    function test_debitBatch_emptyBatchMovesNothing() public {
        vm.prank(settler);
        assertEq(credits.debitBatch(new Debit[](0)), 0);
        assertEq(neu.balanceOf(settler), 0);
    }

    function test_debitBatch_failsIfInsufficientCredits() public {
        _depositCredits(alice, 10e18);
        vm.prank(settler);
        vm.expectRevert(abi.encodeWithSelector(IComputeCredits.InsufficientCredits.selector, alice, 10e18, 11e18));
        credits.debitBatch(_debits1(alice, 11e18));
    }

    function test_debitBatch_failsIfNotSettlement() public {
        _depositCredits(alice, 10e18);
        bytes32 role = credits.SETTLEMENT_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        credits.debitBatch(_debits1(alice, 1e18));
    }

    // --- setWithdrawalDelay ---

    function test_setWithdrawalDelay_updatesDelay() public {
        vm.expectEmit(true, true, true, true, address(credits));
        emit IComputeCredits.WithdrawalDelayUpdated(WITHDRAWAL_DELAY, 3 days);
        vm.prank(governance);
        credits.setWithdrawalDelay(3 days);
        assertEq(credits.withdrawalDelay(), 3 days);

        _depositCredits(alice, 1e18);
        vm.prank(alice);
        credits.requestWithdrawal(1e18);
        (, uint64 at) = credits.pendingWithdrawal(alice);
        assertEq(at, uint64(block.timestamp) + 3 days);
    }

    function test_setWithdrawalDelay_acceptsZeroAndMax() public {
        vm.startPrank(governance);
        credits.setWithdrawalDelay(0);
        assertEq(credits.withdrawalDelay(), 0);
        credits.setWithdrawalDelay(30 days);
        assertEq(credits.withdrawalDelay(), 30 days);
        vm.stopPrank();
    }

    function test_setWithdrawalDelay_failsIfTooLong() public {
        vm.prank(governance);
        vm.expectRevert(abi.encodeWithSelector(IComputeCredits.WithdrawalDelayTooLong.selector, 30 days + 1, 30 days));
        credits.setWithdrawalDelay(30 days + 1);
    }

    function test_setWithdrawalDelay_failsIfNotGovernance() public {
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, bytes32(0))
        );
        credits.setWithdrawalDelay(1);
    }

    // --- views ---

    function test_balanceOf_isZeroForUnknownAccount() public view {
        assertEq(credits.balanceOf(bob), 0);
    }

    function test_pendingWithdrawal_isZeroWhenNone() public view {
        (uint256 amount, uint64 at) = credits.pendingWithdrawal(bob);
        assertEq(amount, 0);
        assertEq(at, 0);
    }

    function test_spendableBalanceOf_isZeroWhenPendingExceedsBalance() public {
        _depositCredits(alice, 10e18);
        vm.prank(alice);
        credits.requestWithdrawal(8e18);
        vm.prank(settler);
        credits.debitBatch(_debits1(alice, 5e18));
        assertEq(credits.balanceOf(alice), 5e18);
        assertEq(credits.spendableBalanceOf(alice), 0);
    }

    function test_totalCredits_tracksDepositsDebitsAndWithdrawals() public {
        _depositCredits(alice, 10e18);
        _depositCredits(bob, 5e18);
        vm.prank(settler);
        credits.debitBatch(_debits1(bob, 2e18));
        vm.prank(alice);
        credits.requestWithdrawal(1e18);
        skip(WITHDRAWAL_DELAY);
        vm.prank(alice);
        credits.withdraw();
        assertEq(credits.totalCredits(), 12e18);
        assertEq(neu.balanceOf(address(credits)), credits.totalCredits());
    }

    function test_donation_isNotCredited() public {
        _depositCredits(alice, 10e18);
        _fund(address(credits), 1e18);
        assertEq(credits.totalCredits(), 10e18);
        assertEq(credits.balanceOf(alice), 10e18);
    }
}
