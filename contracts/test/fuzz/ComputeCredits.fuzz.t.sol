// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IComputeCredits} from "../../src/interfaces/IComputeCredits.sol";
import {Debit} from "../../src/types/SettlementTypes.sol";
import {NeurinoFixture} from "../utils/NeurinoFixture.sol";

contract ComputeCreditsFuzzTest is NeurinoFixture {
    uint256 internal constant MAX_DEPOSIT = 1e24;
    address internal settler = makeAddr("settler");
    address[4] internal payers = [makeAddr("p0"), makeAddr("p1"), makeAddr("p2"), makeAddr("p3")];

    function setUp() public override {
        _deployNeurino();
        bytes32 role = credits.SETTLEMENT_ROLE();
        vm.prank(governance);
        credits.grantRole(role, settler);
    }

    function test_fuzz_deposit_requestWithdraw_returnsExactly(uint256 deposited, uint256 requested, uint64 delay)
        public
    {
        deposited = bound(deposited, 1, MAX_DEPOSIT);
        requested = bound(requested, 1, deposited);
        delay = uint64(bound(delay, 0, 30 days));
        vm.prank(governance);
        credits.setWithdrawalDelay(delay);
        address payer = payers[0];
        _depositCredits(payer, deposited);

        vm.prank(payer);
        credits.requestWithdrawal(requested);
        assertEq(credits.spendableBalanceOf(payer), deposited - requested);
        if (delay > 0) {
            skip(delay - 1);
            vm.prank(payer);
            vm.expectRevert();
            credits.withdraw();
            skip(1);
        }
        vm.prank(payer);
        assertEq(credits.withdraw(), requested);
        assertEq(neu.balanceOf(payer), requested);
        assertEq(credits.balanceOf(payer), deposited - requested);
        assertEq(neu.balanceOf(address(credits)), credits.totalCredits());
    }

    function test_fuzz_withdraw_paysMinOfRequestAndBalance(uint256 deposited, uint256 requested, uint256 debited)
        public
    {
        deposited = bound(deposited, 1, MAX_DEPOSIT);
        requested = bound(requested, 1, deposited);
        debited = bound(debited, 0, deposited);
        address payer = payers[1];
        _depositCredits(payer, deposited);
        vm.prank(payer);
        credits.requestWithdrawal(requested);

        Debit[] memory debits = new Debit[](1);
        debits[0] = Debit({payer: payer, amount: debited});
        vm.prank(settler);
        credits.debitBatch(debits);

        skip(WITHDRAWAL_DELAY);
        uint256 left = deposited - debited;
        uint256 expected = requested < left ? requested : left;
        vm.prank(payer);
        assertEq(credits.withdraw(), expected);
        assertEq(credits.balanceOf(payer), left - expected);
        assertEq(neu.balanceOf(payer) + neu.balanceOf(settler) + credits.balanceOf(payer), deposited);
    }

    function test_fuzz_debitBatch_movesExactlyTheSum(uint256[4] memory deposits, uint256[4] memory amounts) public {
        Debit[] memory debits = new Debit[](4);
        uint256 sum;
        uint256 totalDeposited;
        for (uint256 i; i < 4; ++i) {
            deposits[i] = bound(deposits[i], 1, MAX_DEPOSIT);
            amounts[i] = bound(amounts[i], 0, deposits[i]);
            _depositCredits(payers[i], deposits[i]);
            debits[i] = Debit({payer: payers[i], amount: amounts[i]});
            sum += amounts[i];
            totalDeposited += deposits[i];
        }
        vm.prank(settler);
        assertEq(credits.debitBatch(debits), sum);
        assertEq(neu.balanceOf(settler), sum);
        assertEq(credits.totalCredits(), totalDeposited - sum);
        assertEq(neu.balanceOf(address(credits)), totalDeposited - sum);
        for (uint256 i; i < 4; ++i) {
            assertEq(credits.balanceOf(payers[i]), deposits[i] - amounts[i]);
        }
    }

    function test_fuzz_debitBatch_revertsWholeBatchIfOnePayerShort(uint256 deposit, uint256 excess, uint8 index)
        public
    {
        deposit = bound(deposit, 1, MAX_DEPOSIT);
        excess = bound(excess, 1, MAX_DEPOSIT);
        uint256 shortOne = bound(index, 0, 3);
        Debit[] memory debits = new Debit[](4);
        for (uint256 i; i < 4; ++i) {
            _depositCredits(payers[i], deposit);
            debits[i] = Debit({payer: payers[i], amount: i == shortOne ? deposit + excess : deposit});
        }
        vm.prank(settler);
        vm.expectRevert(
            abi.encodeWithSelector(
                IComputeCredits.InsufficientCredits.selector, payers[shortOne], deposit, deposit + excess
            )
        );
        credits.debitBatch(debits);
        assertEq(credits.totalCredits(), 4 * deposit);
    }

    function test_fuzz_spendableBalance_isBalanceMinusPending(uint256 deposited, uint256 requested, uint256 debited)
        public
    {
        deposited = bound(deposited, 1, MAX_DEPOSIT);
        requested = bound(requested, 1, deposited);
        debited = bound(debited, 0, deposited);
        address payer = payers[2];
        _depositCredits(payer, deposited);
        vm.prank(payer);
        credits.requestWithdrawal(requested);
        Debit[] memory debits = new Debit[](1);
        debits[0] = Debit({payer: payer, amount: debited});
        vm.prank(settler);
        credits.debitBatch(debits);

        uint256 balance = deposited - debited;
        assertEq(credits.spendableBalanceOf(payer), balance > requested ? balance - requested : 0);
    }
}
