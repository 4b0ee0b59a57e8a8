// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {ISettlement} from "../../src/interfaces/ISettlement.sol";
import {SettlementFixture} from "./SettlementFixture.sol";

/// @notice Settlement: the earnings ledger (claim, claimTo), governance setters and views.
contract SettlementLedgerTest is SettlementFixture {
    // --- claim / claimTo ---

    function test_claim_paysAllEarnings() public {
        _settle(_mixedBatch(0));
        vm.expectEmit(true, true, true, true, address(settlement));
        emit ISettlement.Claimed(node1, node1, 145e18);
        vm.prank(node1);
        assertEq(settlement.claim(), 145e18);
        assertEq(neu.balanceOf(node1), 145e18);
        assertEq(settlement.earningsOf(node1), 0);
        assertEq(settlement.totalUnclaimed(), 140e18);
        assertEq(neu.balanceOf(address(settlement)), 140e18);
    }

    function test_claim_failsIfNothingToClaim() public {
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.NothingToClaim.selector, node1));
        settlement.claim();
    }

    function test_claim_failsTheSecondTime() public {
        _settle(_mixedBatch(0));
        vm.startPrank(frontend1);
        settlement.claim();
        vm.expectRevert(abi.encodeWithSelector(ISettlement.NothingToClaim.selector, frontend1));
        settlement.claim();
        vm.stopPrank();
    }

    function test_claimTo_paysRecipient() public {
        _settle(_mixedBatch(0));
        address operator = makeAddr("operator");
        vm.expectEmit(true, true, true, true, address(settlement));
        emit ISettlement.Claimed(node2, operator, 75e18);
        vm.prank(node2);
        assertEq(settlement.claimTo(operator), 75e18);
        assertEq(neu.balanceOf(operator), 75e18);
        assertEq(neu.balanceOf(node2), 0);
        assertEq(settlement.earningsOf(node2), 0);
    }

    function test_claimTo_failsIfZeroAddress() public {
        _settle(_mixedBatch(0));
        vm.prank(node2);
        vm.expectRevert(ISettlement.ZeroAddress.selector);
        settlement.claimTo(address(0));
    }

    function test_claimTo_failsIfNothingToClaim() public {
        vm.prank(node2);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.NothingToClaim.selector, node2));
        settlement.claimTo(node1);
    }

    // --- governance ---

    function test_setBuybackBps_updatesShare() public {
        vm.expectEmit(true, true, true, true, address(settlement));
        emit ISettlement.BuybackBpsUpdated(BUYBACK_BPS, 2_000);
        vm.prank(governance);
        settlement.setBuybackBps(2_000);
        assertEq(settlement.buybackBps(), 2_000);
        _settle(_batch1(0, alice, POD_C, node1, address(0), 10e18));
        assertEq(settlement.earningsOf(node1), 8e18);
    }

    function test_setBuybackBps_failsIfFeeTooHigh() public {
        vm.prank(governance);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.FeeTooHigh.selector, 2_001, 2_000));
        settlement.setBuybackBps(2_001);
    }

    function test_setBuybackBps_failsIfNotGovernance() public {
        vm.prank(router);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, router, bytes32(0))
        );
        settlement.setBuybackBps(1);
    }

    function test_setFrontendBps_updatesShare() public {
        vm.expectEmit(true, true, true, true, address(settlement));
        emit ISettlement.FrontendBpsUpdated(FRONTEND_BPS, 0);
        vm.prank(governance);
        settlement.setFrontendBps(0);
        assertEq(settlement.frontendBps(), 0);
        _settle(_batch1(0, alice, POD_C, node1, frontend1, 10e18));
        assertEq(settlement.earningsOf(frontend1), 0);
        assertEq(settlement.earningsOf(node1), 9.5e18);
    }

    function test_setFrontendBps_failsIfFeeTooHigh() public {
        vm.prank(governance);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.FeeTooHigh.selector, 5_000, 2_000));
        settlement.setFrontendBps(5_000);
    }

    function test_setFrontendBps_failsIfNotGovernance() public {
        vm.prank(router);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, router, bytes32(0))
        );
        settlement.setFrontendBps(1);
    }

    // --- views ---

    function test_nextSequence_startsAtZero() public view {
        assertEq(settlement.nextSequence(router), 0);
        assertEq(settlement.nextSequence(alice), 0);
    }

    function test_batchRoot_isZeroUntilApplied() public view {
        assertEq(settlement.batchRoot(router, 0), bytes32(0));
    }

    function test_earningsOf_isZeroForUnknownAccount() public view {
        assertEq(settlement.earningsOf(alice), 0);
    }

    function test_totalUnclaimed_equalsHeldNeu() public {
        _settle(_mixedBatch(0));
        _settle(_batch1(1, bob, POD_A, node2, frontend1, 33e18 + 7));
        vm.prank(deployerA);
        settlement.claim();
        assertEq(settlement.totalUnclaimed(), neu.balanceOf(address(settlement)));
    }
}
