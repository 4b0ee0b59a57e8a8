// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {NodeRegistryFixture} from "../unit/NodeRegistryFixture.sol";

/// @notice Property-based tests of stake arithmetic: slashing fractions, unbonding amounts, top-ups.
contract NodeRegistryFuzzTest is NodeRegistryFixture {
    uint256 internal constant MAX_STAKE = 1e30;

    function setUp() public override {
        super.setUp();
        _fund(node, MAX_STAKE * 4);
    }

    /// Registers `stake` and unbonds `unbondSeed`-derived amount that keeps the stake valid.
    function _setupStake(uint256 stake, uint256 unbondSeed) internal returns (uint256, uint256) {
        stake = bound(stake, MIN_STAKE, MAX_STAKE);
        _register(stake);
        uint256 unbonding;
        uint256 mode = unbondSeed % 3;
        if (mode == 1) {
            unbonding = stake; // full exit
        } else if (mode == 2 && stake > MIN_STAKE) {
            unbonding = bound(unbondSeed, 1, stake - MIN_STAKE); // partial, leaves >= minimum
        }
        if (unbonding != 0) _unbond(unbonding);
        return (stake - unbonding, unbonding);
    }

    function test_fuzz_slash_takesFractionOfStakePlusUnbonding(
        uint256 stakeSeed,
        uint256 unbondSeed,
        uint256 fractionWad,
        uint16 shareBps,
        bool withChallenger
    ) public {
        (uint256 stake, uint256 unbonding) = _setupStake(stakeSeed, unbondSeed);
        fractionWad = bound(fractionWad, 0, 1e18);
        shareBps = uint16(bound(shareBps, 0, registry.MAX_CHALLENGER_SHARE_BPS()));
        vm.prank(governance);
        registry.setChallengerShareBps(shareBps);
        address who = withChallenger ? challenger : address(0);

        uint256 total = stake + unbonding;
        uint256 slashed = _slash(fractionWad, who);

        assertEq(slashed, total * fractionWad / 1e18, "slashed amount");
        assertLe(slashed, total, "never more than held");
        INodeRegistry.Node memory n = registry.nodeInfo(node);
        uint256 fromUnbonding = slashed < unbonding ? slashed : unbonding;
        assertEq(n.unbonding, unbonding - fromUnbonding, "unbonding taken first");
        assertEq(n.stake, stake - (slashed - fromUnbonding), "rest from stake");
        uint256 toChallenger = withChallenger ? slashed * shareBps / 10_000 : 0;
        assertEq(neu.balanceOf(challenger), toChallenger, "challenger share");
        assertEq(neu.balanceOf(reservoir), slashed - toChallenger, "reservoir share");
        assertEq(registry.totalStaked(), total - slashed, "total staked");
        assertEq(neu.balanceOf(address(registry)), total - slashed, "registry balance");
        assertEq(uint8(n.status), uint8(INodeRegistry.NodeStatus.Jailed));
    }

    function test_fuzz_slash_failsIfFractionAboveOne(uint256 fractionWad) public {
        _register(MIN_STAKE);
        fractionWad = bound(fractionWad, 1e18 + 1, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidSlashFraction.selector, fractionWad));
        _slash(fractionWad, challenger);
    }

    function test_fuzz_unbond_leavesZeroOrAtLeastMinimum(uint256 stake, uint256 amount) public {
        stake = bound(stake, MIN_STAKE, MAX_STAKE);
        amount = bound(amount, 0, stake + MIN_STAKE);
        _register(stake);

        if (amount == 0) {
            vm.expectRevert(INodeRegistry.ZeroAmount.selector);
        } else if (amount > stake) {
            vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InsufficientStake.selector, node, stake, amount));
        } else if (stake - amount != 0 && stake - amount < MIN_STAKE) {
            vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, stake - amount, MIN_STAKE));
        }
        _unbond(amount);

        INodeRegistry.Node memory n = registry.nodeInfo(node);
        assertTrue(n.stake == 0 || n.stake >= MIN_STAKE, "stake zero or above minimum");
        assertEq(n.stake + n.unbonding, stake, "nothing lost");
        if (n.stake == 0) assertEq(uint8(n.status), uint8(INodeRegistry.NodeStatus.Exiting));
        else assertEq(uint8(n.status), uint8(INodeRegistry.NodeStatus.Active));
        assertEq(registry.totalStaked(), stake);
    }

    function test_fuzz_unbond_thenWithdrawOnlyAfterDelay(uint256 stake, uint256 unbondSeed, uint64 wait) public {
        (, uint256 unbonding) = _setupStake(stake, unbondSeed);
        vm.assume(unbonding != 0);
        uint64 end = registry.nodeInfo(node).unbondingEnd;
        wait = uint64(bound(wait, 0, 2 * UNBONDING_DELAY));
        uint256 time = block.timestamp + wait;
        vm.warp(time);

        if (time < end) {
            vm.expectRevert(abi.encodeWithSelector(INodeRegistry.UnbondingNotFinished.selector, node, end));
            vm.prank(operator);
            registry.withdraw(node);
        } else {
            vm.prank(operator);
            assertEq(registry.withdraw(node), unbonding);
            assertEq(neu.balanceOf(operator), unbonding);
        }
    }

    function test_fuzz_addStake_accumulates(uint256 initial, uint256[4] memory amounts) public {
        initial = bound(initial, MIN_STAKE, MAX_STAKE);
        _register(initial);
        uint256 expected = initial;
        for (uint256 i; i < amounts.length; ++i) {
            uint256 amount = bound(amounts[i], 1, MAX_STAKE / 4);
            vm.prank(node);
            registry.addStake(node, amount);
            expected += amount;
        }
        assertEq(registry.stakeOf(node), expected);
        assertEq(registry.totalStaked(), expected);
        assertEq(neu.balanceOf(address(registry)), expected);
    }

    function test_fuzz_addStake_exitingNodeReactivatesAtMinimum(uint256 amount) public {
        _register(MIN_STAKE);
        _unbond(MIN_STAKE);
        amount = bound(amount, 1, 2 * MIN_STAKE);
        vm.prank(stranger);
        registry.addStake(node, amount);
        assertEq(registry.isActive(node), amount >= MIN_STAKE);
        INodeRegistry.NodeStatus expected =
            amount >= MIN_STAKE ? INodeRegistry.NodeStatus.Active : INodeRegistry.NodeStatus.Exiting;
        assertEq(uint8(_status(node)), uint8(expected));
    }

    function test_fuzz_register_requiresMinimum(uint256 amount) public {
        amount = bound(amount, 0, 2 * MIN_STAKE);
        if (amount < MIN_STAKE) {
            vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, amount, MIN_STAKE));
        }
        _register(amount);
        if (amount >= MIN_STAKE) assertTrue(registry.isActive(node));
    }

    function test_fuzz_setParameters_keepUnbondingDelayAboveAuditWindow(uint64 auditWindow, uint64 delay) public {
        vm.startPrank(governance);
        (bool okDelay,) = address(registry).call(abi.encodeCall(INodeRegistry.setUnbondingDelay, (delay)));
        (bool okWindow,) = address(registry).call(abi.encodeCall(INodeRegistry.setAuditWindow, (auditWindow)));
        vm.stopPrank();
        assertEq(okDelay, delay > AUDIT_WINDOW && delay <= registry.MAX_UNBONDING_DELAY());
        assertGt(registry.unbondingDelay(), registry.auditWindow());
        assertGt(registry.auditWindow(), 0);
        if (okWindow) assertEq(registry.auditWindow(), auditWindow);
    }
}
