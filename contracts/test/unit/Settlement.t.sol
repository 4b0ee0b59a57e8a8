// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {Settlement} from "../../src/Settlement.sol";
import {IComputeCredits} from "../../src/interfaces/IComputeCredits.sol";
import {IPodRegistry} from "../../src/interfaces/IPodRegistry.sol";
import {ISettlement} from "../../src/interfaces/ISettlement.sol";
import {IStakedNeurino} from "../../src/interfaces/IStakedNeurino.sol";
import {Batch, Debit, Line} from "../../src/types/SettlementTypes.sol";
import {SettlementFixture} from "./SettlementFixture.sol";

/// @notice Settlement: construction and settle().
contract SettlementTest is SettlementFixture {
    // --- constructor ---

    function test_constructor_setsState() public view {
        assertEq(address(settlement.neu()), address(neu));
        assertEq(address(settlement.credits()), address(credits));
        assertEq(address(settlement.pods()), address(pods));
        assertEq(address(settlement.stakedNeu()), address(stakedNeu));
        assertEq(settlement.buybackBps(), BUYBACK_BPS);
        assertEq(settlement.frontendBps(), FRONTEND_BPS);
        assertEq(settlement.MAX_FEE_BPS(), 2_000);
        assertEq(settlement.ROUTER_ROLE(), keccak256("ROUTER_ROLE"));
        assertTrue(settlement.hasRole(settlement.DEFAULT_ADMIN_ROLE(), governance));
        assertTrue(settlement.hasRole(settlement.ROUTER_ROLE(), router));
        assertEq(neu.allowance(address(settlement), address(stakedNeu)), type(uint256).max);
    }

    function test_constructor_emitsShares() public {
        vm.expectEmit(true, true, true, true);
        emit ISettlement.BuybackBpsUpdated(0, 2_000);
        vm.expectEmit(true, true, true, true);
        emit ISettlement.FrontendBpsUpdated(0, 0);
        _newSettlement(address(neu), address(credits), address(pods), address(stakedNeu), governance, 2_000, 0);
    }

    function _newSettlement(
        address neu_,
        address credits_,
        address pods_,
        address stakedNeu_,
        address governance_,
        uint16 buybackBps_,
        uint16 frontendBps_
    ) internal returns (Settlement) {
        return new Settlement(
            IERC20(neu_),
            IComputeCredits(credits_),
            IPodRegistry(pods_),
            IStakedNeurino(stakedNeu_),
            governance_,
            buybackBps_,
            frontendBps_
        );
    }

    function test_constructor_failsIfZeroAddress() public {
        address n = address(neu);
        address c = address(credits);
        address p = address(pods);
        address s = address(stakedNeu);
        vm.expectRevert(ISettlement.ZeroAddress.selector);
        _newSettlement(address(0), c, p, s, governance, 0, 0);
        vm.expectRevert(ISettlement.ZeroAddress.selector);
        _newSettlement(n, address(0), p, s, governance, 0, 0);
        vm.expectRevert(ISettlement.ZeroAddress.selector);
        _newSettlement(n, c, address(0), s, governance, 0, 0);
        vm.expectRevert(ISettlement.ZeroAddress.selector);
        _newSettlement(n, c, p, address(0), governance, 0, 0);
        vm.expectRevert(ISettlement.ZeroAddress.selector);
        _newSettlement(n, c, p, s, address(0), 0, 0);
    }

    function test_constructor_failsIfFeeTooHigh() public {
        address n = address(neu);
        address c = address(credits);
        address p = address(pods);
        address s = address(stakedNeu);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.FeeTooHigh.selector, 2_001, 2_000));
        _newSettlement(n, c, p, s, governance, 2_001, 0);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.FeeTooHigh.selector, 2_001, 2_000));
        _newSettlement(n, c, p, s, governance, 0, 2_001);
    }

    // --- settle: applying ---

    function test_settle_splitsEachLine() public {
        uint256 stakedBefore = stakedNeu.totalAssets();
        Batch memory batch = _mixedBatch(0);

        vm.expectEmit(true, true, true, true, address(settlement));
        emit ISettlement.BatchSettled(router, 0, batch.receiptsRoot, 7, 300e18, 15e18);
        assertTrue(_settle(batch));

        // POD_A 20% deployer; POD_B 5%; frontend 10% where named; buyback 5%; node the rest.
        assertEq(settlement.earningsOf(deployerA), 40e18);
        assertEq(settlement.earningsOf(deployerB), 5e18);
        assertEq(settlement.earningsOf(frontend1), 20e18);
        assertEq(settlement.earningsOf(node1), 65e18 + 80e18);
        assertEq(settlement.earningsOf(node2), 75e18);
        assertEq(stakedNeu.totalAssets() - stakedBefore, 15e18);
        assertEq(settlement.totalUnclaimed(), 285e18);
        assertEq(neu.balanceOf(address(settlement)), 285e18);

        assertEq(credits.balanceOf(alice), 880e18);
        assertEq(credits.balanceOf(bob), 820e18);
        assertEq(credits.totalCredits(), 1_700e18);
        assertEq(settlement.nextSequence(router), 1);
        assertEq(settlement.batchRoot(router, 0), batch.receiptsRoot);
    }

    function test_settle_lineWithoutFrontendPaysNodeTheFrontendShare() public {
        _settle(_batch1(0, alice, POD_C, node1, address(0), 10e18));
        assertEq(settlement.earningsOf(node1), 9.5e18);
        assertEq(settlement.earningsOf(address(0)), 0);
        assertEq(settlement.earningsOf(deployerB), 0);
    }

    function test_settle_roundsCutsDownAndPaysNodeTheRemainder() public {
        // 999 wei: deployer 199 (20%), frontend 99 (10%), buyback 49 (5%), node 652.
        _settle(_batch1(0, alice, POD_A, node1, frontend1, 999));
        assertEq(settlement.earningsOf(deployerA), 199);
        assertEq(settlement.earningsOf(frontend1), 99);
        assertEq(settlement.earningsOf(node1), 652);
        assertEq(settlement.totalUnclaimed(), 950);
    }

    function test_settle_readsPodTermsOncePerRun() public {
        Batch memory batch = _mixedBatch(0);
        Line[] memory lines = new Line[](5);
        lines[0] = _line(POD_A, node1, frontend1, 60e18);
        lines[1] = _line(POD_A, node2, frontend1, 60e18);
        lines[2] = _line(POD_B, node1, address(0), 60e18);
        lines[3] = _line(POD_B, node2, address(0), 60e18);
        lines[4] = _line(POD_A, node1, address(0), 60e18);
        batch.lines = lines;

        vm.expectCall(address(pods), abi.encodeCall(IPodRegistry.revenueTerms, (POD_A)), 2);
        vm.expectCall(address(pods), abi.encodeCall(IPodRegistry.revenueTerms, (POD_B)), 1);
        _settle(batch);
        assertEq(settlement.earningsOf(deployerA), 36e18);
        assertEq(settlement.earningsOf(deployerB), 6e18);
    }

    function test_settle_debitsCreditsInOneCall() public {
        Batch memory batch = _mixedBatch(0);
        vm.expectCall(address(credits), abi.encodeCall(IComputeCredits.debitBatch, (batch.debits)), 1);
        _settle(batch);
    }

    function test_settle_appliesSequencesInOrder() public {
        for (uint64 sequence; sequence < 3; ++sequence) {
            assertEq(settlement.nextSequence(router), sequence);
            assertTrue(_settle(_batch1(sequence, alice, POD_C, node1, address(0), 1e18)));
        }
        assertEq(settlement.nextSequence(router), 3);
        assertEq(credits.balanceOf(alice), 997e18);
    }

    function test_settle_countsSequencesPerRouter() public {
        address router2 = makeAddr("router2");
        bytes32 role = settlement.ROUTER_ROLE();
        vm.prank(governance);
        settlement.grantRole(role, router2);

        _settle(_batch1(0, alice, POD_C, node1, address(0), 1e18));
        Batch memory other = _batch1(0, bob, POD_C, node2, address(0), 2e18);
        vm.prank(router2);
        assertTrue(settlement.settle(other));
        assertEq(settlement.nextSequence(router), 1);
        assertEq(settlement.nextSequence(router2), 1);
        assertEq(settlement.batchRoot(router2, 0), other.receiptsRoot);
    }

    function test_settle_doubleSettleIsNoOp() public {
        Batch memory batch = _mixedBatch(0);
        assertTrue(_settle(batch));
        uint256 node1Earnings = settlement.earningsOf(node1);
        uint256 aliceCredits = credits.balanceOf(alice);
        uint256 staked = stakedNeu.totalAssets();
        uint256 held = neu.balanceOf(address(settlement));

        vm.expectEmit(true, true, true, true, address(settlement));
        emit ISettlement.BatchAlreadySettled(router, 0);
        assertFalse(_settle(batch));

        assertEq(settlement.earningsOf(node1), node1Earnings);
        assertEq(credits.balanceOf(alice), aliceCredits);
        assertEq(stakedNeu.totalAssets(), staked);
        assertEq(neu.balanceOf(address(settlement)), held);
        assertEq(settlement.nextSequence(router), 1);
    }

    function test_settle_oldSequenceIsNoOpEvenIfInvalid() public {
        _settle(_batch1(0, alice, POD_C, node1, address(0), 1e18));
        Batch memory stale = _batch1(0, alice, POD_C, address(0), address(0), 5e18);
        stale.lines[0].amount = 1; // unbalanced, zero node: nothing is checked for an applied sequence
        assertFalse(_settle(stale));
        assertEq(settlement.batchRoot(router, 0), _batch1(0, alice, POD_C, node1, address(0), 1e18).receiptsRoot);
    }

    function test_settle_failedBatchDoesNotAdvanceSequence() public {
        Batch memory batch = _batch1(0, alice, POD_C, node1, address(0), 1e18);
        batch.debits[0].amount = 2e18;
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.UnbalancedBatch.selector, 2e18, 1e18));
        settlement.settle(batch);
        assertEq(settlement.nextSequence(router), 0);
        assertEq(settlement.batchRoot(router, 0), bytes32(0));
    }

    function test_settle_retiredPodStillSettles() public {
        vm.prank(deployerA);
        pods.retire(POD_A);
        _settle(_batch1(0, alice, POD_A, node1, address(0), 10e18));
        assertEq(settlement.earningsOf(deployerA), 2e18);
    }

    function test_settle_skipsRewardsWhenNoBuyback() public {
        vm.prank(governance);
        settlement.setBuybackBps(0);
        vm.expectCall(address(stakedNeu), abi.encodeWithSelector(IStakedNeurino.addRewards.selector), 0);
        _settle(_batch1(0, alice, POD_A, node1, frontend1, 10e18));
        assertEq(settlement.earningsOf(node1), 7e18);
        assertEq(settlement.totalUnclaimed(), 10e18);
    }

    function test_settle_buybackRaisesStakedRate() public {
        _fund(staker, 100e18);
        vm.startPrank(staker);
        neu.approve(address(stakedNeu), 100e18);
        uint256 shares = stakedNeu.deposit(100e18, staker);
        vm.stopPrank();
        uint256 before = stakedNeu.convertToAssets(shares);

        _settle(_batch1(0, alice, POD_C, node1, address(0), 200e18)); // 10e18 buyback
        assertApproxEqAbs(stakedNeu.convertToAssets(shares) - before, 10e18, 1e9);
    }

    function test_settle_zeroAmountLinesAreAllowed() public {
        Batch memory batch = _batch1(0, alice, POD_A, node1, frontend1, 0);
        vm.expectCall(address(stakedNeu), abi.encodeWithSelector(IStakedNeurino.addRewards.selector), 0);
        assertTrue(_settle(batch));
        assertEq(settlement.totalUnclaimed(), 0);
        assertEq(settlement.nextSequence(router), 1);
    }

    // --- settle: errors ---

    function test_settle_failsIfSequenceGap() public {
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.SequenceGap.selector, 0, 1));
        settlement.settle(_batch1(1, alice, POD_C, node1, address(0), 1e18));
    }

    function test_settle_failsIfUnbalancedBatch() public {
        Batch memory batch = _mixedBatch(0);
        batch.lines[2].amount = 99e18;
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.UnbalancedBatch.selector, 300e18, 299e18));
        settlement.settle(batch);
    }

    function test_settle_failsIfLinesExceedDebits() public {
        Batch memory batch = _mixedBatch(0);
        batch.lines[0].amount = 101e18;
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.UnbalancedBatch.selector, 300e18, 301e18));
        settlement.settle(batch);
    }

    function test_settle_failsIfLineAmountOverflows() public {
        Batch memory batch = _mixedBatch(0);
        batch.lines[1].amount = type(uint256).max;
        vm.prank(router);
        vm.expectRevert(); // the error's sum of the lines overflows: Panic(0x11)
        settlement.settle(batch);
    }

    function test_settle_failsIfEmptyBatch() public {
        Batch memory batch = _batch1(0, alice, POD_C, node1, address(0), 1e18);
        batch.lines = new Line[](0);
        vm.prank(router);
        vm.expectRevert(ISettlement.EmptyBatch.selector);
        settlement.settle(batch);
    }

    function test_settle_failsIfNoDebits() public {
        Batch memory batch = _batch1(0, alice, POD_C, node1, address(0), 0);
        batch.debits = new Debit[](0);
        vm.prank(router);
        vm.expectRevert(ISettlement.EmptyBatch.selector);
        settlement.settle(batch);
    }

    function test_settle_failsIfZeroNode() public {
        Batch memory batch = _mixedBatch(0);
        batch.lines[1].node = address(0);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.ZeroNode.selector, 1));
        settlement.settle(batch);
    }

    function test_settle_failsIfUnknownPod() public {
        bytes32 unknown = keccak256("unknown");
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.UnknownPod.selector, unknown));
        settlement.settle(_batch1(0, alice, unknown, node1, address(0), 1e18));
    }

    function test_settle_failsIfInsufficientCredits() public {
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IComputeCredits.InsufficientCredits.selector, alice, 1_000e18, 1_001e18));
        settlement.settle(_batch1(0, alice, POD_C, node1, address(0), 1_001e18));
    }

    function test_settle_failsIfNotRouter() public {
        bytes32 role = settlement.ROUTER_ROLE();
        Batch memory batch = _batch1(0, alice, POD_C, node1, address(0), 1e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        settlement.settle(batch);
    }

    function test_settle_failsIfSettlementLacksDebitRole() public {
        bytes32 role = credits.SETTLEMENT_ROLE();
        vm.prank(governance);
        credits.revokeRole(role, address(settlement));
        vm.prank(router);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(settlement), role)
        );
        settlement.settle(_batch1(0, alice, POD_C, node1, address(0), 1e18));
    }
}
