// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {NodeRegistryFixture} from "./NodeRegistryFixture.sol";

/// @notice Unit tests of NodeRegistry: slashing, unjailing and governance parameter setters.
contract NodeRegistryGovernanceTest is NodeRegistryFixture {
    /*//////////////////////////////////////////////////////////////
                                 SLASH
    //////////////////////////////////////////////////////////////*/

    function test_slash_splitsBetweenChallengerAndReservoir() public {
        _register(10 * MIN_STAKE);
        uint256 expected = 5 * MIN_STAKE;
        uint256 toChallenger = expected * registry.challengerShareBps() / 10_000;
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeSlashed(node, expected, toChallenger, EVIDENCE, challenger);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeStatusChanged(node, INodeRegistry.NodeStatus.Active, INodeRegistry.NodeStatus.Jailed);
        uint256 slashed = _slash(0.5e18, challenger);
        assertEq(slashed, expected);
        assertEq(neu.balanceOf(challenger), toChallenger);
        assertEq(neu.balanceOf(reservoir), expected - toChallenger);
        assertEq(registry.stakeOf(node), 5 * MIN_STAKE);
        assertEq(registry.totalStaked(), 5 * MIN_STAKE);
        assertEq(neu.balanceOf(address(registry)), 5 * MIN_STAKE);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Jailed));
        assertFalse(registry.isActive(node));
    }

    function test_slash_takesUnbondingFirst() public {
        _register(4 * MIN_STAKE);
        _unbond(2 * MIN_STAKE);
        // 75 % of 4 * MIN_STAKE = 3 * MIN_STAKE: all 2 unbonding, then 1 from stake.
        _slash(0.75e18, address(0));
        INodeRegistry.Node memory n = registry.nodeInfo(node);
        assertEq(n.unbonding, 0);
        assertEq(n.stake, MIN_STAKE);
        assertEq(neu.balanceOf(reservoir), 3 * MIN_STAKE);
    }

    function test_slash_reachesUnbondingStakeAfterAuditWindow() public {
        _register(MIN_STAKE);
        _unbond(MIN_STAKE);
        vm.warp(block.timestamp + AUDIT_WINDOW);
        _slash(1e18, challenger);
        assertEq(registry.nodeInfo(node).unbonding, 0);
        assertEq(registry.totalStaked(), 0);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NothingToWithdraw.selector, node));
        vm.prank(operator);
        registry.withdraw(node);
    }

    function test_slash_withoutChallengerPaysReservoirOnly() public {
        _register(MIN_STAKE);
        _slash(1e18, address(0));
        assertEq(neu.balanceOf(reservoir), MIN_STAKE);
        assertEq(registry.stakeOf(node), 0);
    }

    function test_slash_zeroFractionOnlyJails() public {
        _register(MIN_STAKE);
        uint256 slashed = _slash(0, challenger);
        assertEq(slashed, 0);
        assertEq(neu.balanceOf(challenger), 0);
        assertEq(neu.balanceOf(reservoir), 0);
        assertEq(registry.stakeOf(node), MIN_STAKE);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Jailed));
    }

    function test_slash_jailedNodeAgain() public {
        _register(4 * MIN_STAKE);
        _slash(0.5e18, address(0));
        _slash(0.5e18, address(0));
        assertEq(registry.stakeOf(node), MIN_STAKE);
        assertEq(neu.balanceOf(reservoir), 3 * MIN_STAKE);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Jailed));
    }

    function test_slash_failsIfNotSlasher() public {
        _register(MIN_STAKE);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, governance, registry.SLASHER_ROLE()
            )
        );
        vm.prank(governance);
        registry.slash(node, 1e18, EVIDENCE, challenger);
    }

    function test_slash_failsIfInvalidSlashFraction() public {
        _register(MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidSlashFraction.selector, 1e18 + 1));
        _slash(1e18 + 1, challenger);
    }

    function test_slash_failsIfNodeNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, node));
        _slash(1e18, challenger);
    }

    /*//////////////////////////////////////////////////////////////
                                 UNJAIL
    //////////////////////////////////////////////////////////////*/

    function test_unjail_toActiveIfStakeAboveMinimum() public {
        _register(4 * MIN_STAKE);
        _slash(0.5e18, address(0));
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeUnjailed(node, INodeRegistry.NodeStatus.Active);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeStatusChanged(node, INodeRegistry.NodeStatus.Jailed, INodeRegistry.NodeStatus.Active);
        vm.prank(governance);
        registry.unjail(node);
        assertTrue(registry.isActive(node));
    }

    function test_unjail_toExitingIfStakeBelowMinimum() public {
        _register(MIN_STAKE);
        _slash(0.5e18, address(0));
        vm.prank(governance);
        registry.unjail(node);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Exiting));
        assertFalse(registry.isActive(node));
        // Topping up brings it back.
        vm.prank(node);
        registry.addStake(node, MIN_STAKE / 2);
        assertTrue(registry.isActive(node));
    }

    function test_unjail_failsIfNodeNotJailed() public {
        _register(MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotJailed.selector, node));
        vm.prank(governance);
        registry.unjail(node);
    }

    function test_unjail_failsIfNotGovernance() public {
        _register(MIN_STAKE);
        _slash(0, address(0));
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, slasher, bytes32(0))
        );
        vm.prank(slasher);
        registry.unjail(node);
    }

    /*//////////////////////////////////////////////////////////////
                               GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    function test_setMinStake_updatesAndDeactivatesNodesBelow() public {
        _register(MIN_STAKE);
        vm.expectEmit(address(registry));
        emit INodeRegistry.MinStakeUpdated(MIN_STAKE, 2 * MIN_STAKE);
        vm.prank(governance);
        registry.setMinStake(2 * MIN_STAKE);
        assertEq(registry.minStake(), 2 * MIN_STAKE);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Active));
        assertFalse(registry.isActive(node));
    }

    function test_setMinStake_failsIfInvalidMinStake() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidMinStake.selector, 0));
        vm.prank(governance);
        registry.setMinStake(0);
    }

    function test_setMinStake_failsIfNotGovernance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0))
        );
        vm.prank(stranger);
        registry.setMinStake(1);
    }

    function test_setAuditWindow_updates() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.AuditWindowUpdated(AUDIT_WINDOW, 2 days);
        vm.prank(governance);
        registry.setAuditWindow(2 days);
        assertEq(registry.auditWindow(), 2 days);
    }

    function test_setAuditWindow_failsIfInvalidAuditWindow() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidAuditWindow.selector, 0));
        vm.prank(governance);
        registry.setAuditWindow(0);
    }

    function test_setAuditWindow_failsIfUnbondingDelayTooShort() public {
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.UnbondingDelayTooShort.selector, UNBONDING_DELAY, UNBONDING_DELAY)
        );
        vm.prank(governance);
        registry.setAuditWindow(UNBONDING_DELAY);
    }

    function test_setUnbondingDelay_updatesForLaterUnbonds() public {
        _register(3 * MIN_STAKE);
        _unbond(MIN_STAKE);
        uint64 firstEnd = registry.nodeInfo(node).unbondingEnd;
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnbondingDelayUpdated(UNBONDING_DELAY, 14 days);
        vm.prank(governance);
        registry.setUnbondingDelay(14 days);
        assertEq(registry.unbondingDelay(), 14 days);
        assertEq(registry.nodeInfo(node).unbondingEnd, firstEnd);
        _unbond(MIN_STAKE);
        assertEq(registry.nodeInfo(node).unbondingEnd, uint64(block.timestamp) + 14 days);
    }

    function test_setUnbondingDelay_failsIfUnbondingDelayTooShort() public {
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.UnbondingDelayTooShort.selector, AUDIT_WINDOW, AUDIT_WINDOW)
        );
        vm.prank(governance);
        registry.setUnbondingDelay(AUDIT_WINDOW);
    }

    function test_setUnbondingDelay_failsIfUnbondingDelayTooLong() public {
        uint64 maxDelay = registry.MAX_UNBONDING_DELAY();
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.UnbondingDelayTooLong.selector, maxDelay + 1, maxDelay));
        vm.prank(governance);
        registry.setUnbondingDelay(maxDelay + 1);
    }

    function test_setChallengerShareBps_updates() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.ChallengerShareUpdated(registry.INITIAL_CHALLENGER_SHARE_BPS(), 5_000);
        vm.prank(governance);
        registry.setChallengerShareBps(5_000);
        assertEq(registry.challengerShareBps(), 5_000);
    }

    function test_setChallengerShareBps_failsIfChallengerShareTooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.ChallengerShareTooHigh.selector, 5_001, 5_000));
        vm.prank(governance);
        registry.setChallengerShareBps(5_001);
    }

    function test_setReservoir_updatesSlashRecipient() public {
        address newReservoir = makeAddr("newReservoir");
        vm.expectEmit(address(registry));
        emit INodeRegistry.ReservoirUpdated(reservoir, newReservoir);
        vm.prank(governance);
        registry.setReservoir(newReservoir);
        assertEq(registry.reservoir(), newReservoir);
        _register(MIN_STAKE);
        _slash(1e18, address(0));
        assertEq(neu.balanceOf(newReservoir), MIN_STAKE);
    }

    function test_setReservoir_failsIfZeroAddress() public {
        vm.expectRevert(INodeRegistry.ZeroAddress.selector);
        vm.prank(governance);
        registry.setReservoir(address(0));
    }
}
