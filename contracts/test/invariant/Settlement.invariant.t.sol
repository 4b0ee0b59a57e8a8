// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {NeurinoFixture} from "../utils/NeurinoFixture.sol";
import {SettlementHandler} from "./handlers/SettlementHandler.sol";

/// @notice Settlement and ComputeCredits under random deposits, withdrawal requests, time, withdrawals,
/// balanced batches from two routers (with replays of settled batches and sequence gaps), claims and share
/// changes.
contract SettlementInvariantTest is NeurinoFixture {
    SettlementHandler internal handler;

    function setUp() public override {
        _deployNeurino();

        address router2 = makeAddr("router2");
        bytes32 routerRole = settlement.ROUTER_ROLE();
        vm.prank(governance);
        settlement.grantRole(routerRole, router2);

        address[] memory payers = new address[](5);
        for (uint256 i; i < payers.length; ++i) {
            payers[i] = makeAddr(string.concat("payer", vm.toString(i)));
        }
        address[] memory routers = new address[](2);
        routers[0] = router;
        routers[1] = router2;

        address deployer0 = makeAddr("deployer0");
        address deployer1 = makeAddr("deployer1");
        bytes32[] memory podIds = new bytes32[](3);
        for (uint256 i; i < podIds.length; ++i) {
            podIds[i] = keccak256(abi.encode("pod", i));
        }
        _registerPod(deployer0, podIds[0], 3_000);
        _registerPod(deployer0, podIds[1], 0);
        _registerPod(deployer1, podIds[2], 1_234);

        address[] memory nodeKeys = new address[](4);
        for (uint256 i; i < nodeKeys.length; ++i) {
            nodeKeys[i] = makeAddr(string.concat("node", vm.toString(i)));
            _registerNode(nodeKeys[i]);
        }
        address[] memory frontends = new address[](3);
        frontends[0] = makeAddr("frontend0");
        frontends[1] = makeAddr("frontend1");
        frontends[2] = address(0);

        address[] memory earners = new address[](8);
        for (uint256 i; i < 4; ++i) {
            earners[i] = nodeKeys[i];
        }
        earners[4] = deployer0;
        earners[5] = deployer1;
        earners[6] = frontends[0];
        earners[7] = frontends[1];

        handler = new SettlementHandler(
            neu, credits, settlement, governance, treasury, payers, routers, podIds, nodeKeys, frontends, earners
        );

        bytes4[] memory selectors = new bytes4[](13);
        selectors[0] = SettlementHandler.deposit.selector;
        selectors[1] = SettlementHandler.deposit.selector;
        selectors[2] = SettlementHandler.requestWithdrawal.selector;
        selectors[3] = SettlementHandler.cancelWithdrawal.selector;
        selectors[4] = SettlementHandler.warp.selector;
        selectors[5] = SettlementHandler.withdraw.selector;
        selectors[6] = SettlementHandler.settle.selector;
        selectors[7] = SettlementHandler.settle.selector;
        selectors[8] = SettlementHandler.resubmit.selector;
        selectors[9] = SettlementHandler.settleWithGap.selector;
        selectors[10] = SettlementHandler.claim.selector;
        selectors[11] = SettlementHandler.claimTo.selector;
        selectors[12] = SettlementHandler.setShares.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// Everything that ever left the system (claims, buyback sent to stNEU, credit withdrawals) is covered
    /// by what payers deposited: settlement never pays out money it did not take in.
    function invariant_paidOutNeverExceedsDeposited() public view {
        assertLe(
            handler.ghost_claimed() + handler.ghost_buyback() + handler.ghost_withdrawn(), handler.ghost_deposited()
        );
    }

    /// Settlement holds exactly the NEU it owes: its balance equals the sum of unclaimed earnings.
    function invariant_settlementHoldsExactlyTheUnclaimedEarnings() public view {
        address[] memory earners = handler.earners();
        uint256 sum;
        for (uint256 i; i < earners.length; ++i) {
            sum += settlement.earningsOf(earners[i]);
        }
        assertEq(neu.balanceOf(address(settlement)), sum);
        assertEq(settlement.totalUnclaimed(), sum);
        assertEq(settlement.earningsOf(address(0)), 0, "nothing is credited to the zero address");
    }

    /// ComputeCredits holds exactly the credits it owes: its balance equals the sum of credit balances.
    function invariant_creditsHoldExactlyTheBalances() public view {
        address[] memory payers = handler.payers();
        uint256 sum;
        for (uint256 i; i < payers.length; ++i) {
            sum += credits.balanceOf(payers[i]);
        }
        assertEq(neu.balanceOf(address(credits)), sum);
        assertEq(credits.totalCredits(), sum);
    }

    /// Every deposited wei is still a credit, was withdrawn, or was debited; and every debited wei is unclaimed
    /// earnings, claimed earnings, or buyback in stNEU — to the wei.
    function invariant_neuFlowsAddUp() public view {
        assertEq(
            handler.ghost_deposited(), credits.totalCredits() + handler.ghost_withdrawn() + handler.ghost_debited()
        );
        assertEq(
            handler.ghost_debited(), settlement.totalUnclaimed() + handler.ghost_claimed() + handler.ghost_buyback()
        );
    }

    /// The whole buyback reached the stNEU vault as rewards (nobody else funds it in this suite).
    function invariant_buybackReachesStakers() public view {
        assertEq(neu.balanceOf(address(stakedNeu)), handler.ghost_buyback());
        assertEq(stakedNeu.totalAssets(), handler.ghost_buyback());
    }

    /// Each router's sequences apply in order and at most once: every sequence below nextSequence was applied
    /// exactly once and has its root stored; none at or beyond it was applied; replays changed nothing.
    function invariant_eachSequenceAppliedAtMostOnce() public view {
        address[] memory routers = handler.routers();
        for (uint256 r; r < routers.length; ++r) {
            uint64 next = settlement.nextSequence(routers[r]);
            for (uint64 s; s < next; ++s) {
                assertEq(handler.ghost_appliedCount(routers[r], s), 1);
                assertTrue(settlement.batchRoot(routers[r], s) != bytes32(0));
            }
            for (uint64 s = next; s < next + 3; ++s) {
                assertEq(handler.ghost_appliedCount(routers[r], s), 0);
                assertEq(settlement.batchRoot(routers[r], s), bytes32(0));
            }
        }
        assertEq(handler.ghost_replayChangedSomething(), 0);
    }

    /// A balanced batch at the router's next sequence, within the payers' credits, is always applied.
    function invariant_validBatchesAlwaysApply() public view {
        assertEq(handler.ghost_validBatchesRefused(), 0);
    }

    /// A batch that skips a sequence is always refused, with SequenceGap(expected, got).
    function invariant_gapsAreAlwaysRefused() public view {
        assertEq(handler.ghost_gapsRejected(), handler.ghost_gapAttempts());
    }

    /// A withdrawal never completes before its availableAt and never pays more than was requested.
    function invariant_withdrawalsWaitAndNeverOverpay() public view {
        assertEq(handler.ghost_earlyWithdrawals(), 0);
        assertEq(handler.ghost_overpaidWithdrawals(), 0);
    }
}
