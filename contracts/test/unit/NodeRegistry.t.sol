// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {NodeRegistryFixture} from "./NodeRegistryFixture.sol";

/// @notice Unit tests of NodeRegistry: construction, node lifecycle (register, addStake, updateMetadata,
///         unbond, withdraw) and views. Slashing and governance are in NodeRegistry.governance.t.sol.
contract NodeRegistryTest is NodeRegistryFixture {
    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_constructor_setsParameters() public view {
        assertEq(address(registry.neu()), address(neu));
        assertEq(registry.reservoir(), reservoir);
        assertEq(registry.minStake(), MIN_STAKE);
        assertEq(registry.auditWindow(), AUDIT_WINDOW);
        assertEq(registry.unbondingDelay(), UNBONDING_DELAY);
        assertEq(registry.challengerShareBps(), registry.INITIAL_CHALLENGER_SHARE_BPS());
        assertEq(registry.totalStaked(), 0);
        assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), governance));
        assertTrue(registry.hasRole(registry.SLASHER_ROLE(), slasher));
        assertEq(registry.SLASHER_ROLE(), keccak256("SLASHER_ROLE"));
    }

    function test_constructor_failsIfZeroAddress() public {
        IERC20 token = IERC20(address(neu));
        vm.expectRevert(INodeRegistry.ZeroAddress.selector);
        new NodeRegistry(IERC20(address(0)), reservoir, governance, MIN_STAKE, AUDIT_WINDOW, UNBONDING_DELAY);
        vm.expectRevert(INodeRegistry.ZeroAddress.selector);
        new NodeRegistry(token, address(0), governance, MIN_STAKE, AUDIT_WINDOW, UNBONDING_DELAY);
        vm.expectRevert(INodeRegistry.ZeroAddress.selector);
        new NodeRegistry(token, reservoir, address(0), MIN_STAKE, AUDIT_WINDOW, UNBONDING_DELAY);
    }

    function test_constructor_failsIfMinStakeZero() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidMinStake.selector, 0));
        new NodeRegistry(IERC20(address(neu)), reservoir, governance, 0, AUDIT_WINDOW, UNBONDING_DELAY);
    }

    function test_constructor_failsIfAuditWindowZero() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidAuditWindow.selector, 0));
        new NodeRegistry(IERC20(address(neu)), reservoir, governance, MIN_STAKE, 0, UNBONDING_DELAY);
    }

    function test_constructor_failsIfUnbondingDelayNotAboveAuditWindow() public {
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.UnbondingDelayTooShort.selector, AUDIT_WINDOW, AUDIT_WINDOW)
        );
        new NodeRegistry(IERC20(address(neu)), reservoir, governance, MIN_STAKE, AUDIT_WINDOW, AUDIT_WINDOW);
    }

    function test_constructor_failsIfUnbondingDelayTooLong() public {
        uint64 tooLong = registry.MAX_UNBONDING_DELAY() + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.UnbondingDelayTooLong.selector, tooLong, registry.MAX_UNBONDING_DELAY()
            )
        );
        new NodeRegistry(IERC20(address(neu)), reservoir, governance, MIN_STAKE, AUDIT_WINDOW, tooLong);
    }

    /*//////////////////////////////////////////////////////////////
                                REGISTER
    //////////////////////////////////////////////////////////////*/

    function test_register_storesNodeAndPullsStake() public {
        vm.warp(1_000);
        _register(MIN_STAKE);
        INodeRegistry.Node memory n = registry.nodeInfo(node);
        assertEq(n.operator, operator);
        assertEq(uint8(n.status), uint8(INodeRegistry.NodeStatus.Active));
        assertEq(n.stake, MIN_STAKE);
        assertEq(n.unbonding, 0);
        assertEq(n.unbondingEnd, 0);
        assertEq(n.registeredAt, 1_000);
        assertEq(n.metadataHash, META);
        assertEq(neu.balanceOf(address(registry)), MIN_STAKE);
        assertEq(registry.totalStaked(), MIN_STAKE);
        assertEq(registry.stakeOf(node), MIN_STAKE);
        assertTrue(registry.isActive(node));
    }

    function test_register_emitsEvents() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeRegistered(node, operator, MIN_STAKE, META);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeStatusChanged(node, INodeRegistry.NodeStatus.None, INodeRegistry.NodeStatus.Active);
        _register(MIN_STAKE);
    }

    function test_register_failsIfOperatorZero() public {
        vm.expectRevert(INodeRegistry.ZeroAddress.selector);
        vm.prank(node);
        registry.register(address(0), META, MIN_STAKE);
    }

    function test_register_failsIfStakeBelowMinimum() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, MIN_STAKE - 1, MIN_STAKE));
        _register(MIN_STAKE - 1);
    }

    function test_register_failsIfAlreadyRegistered() public {
        _register(MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeAlreadyRegistered.selector, node));
        _register(MIN_STAKE);
    }

    function test_register_failsIfJailed() public {
        _register(MIN_STAKE);
        _slash(1e18, address(0));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeAlreadyRegistered.selector, node));
        _register(MIN_STAKE);
    }

    function test_register_failsIfExitingWithUnbondingLeft() public {
        _register(MIN_STAKE);
        _unbond(MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeAlreadyRegistered.selector, node));
        _register(MIN_STAKE);
    }

    function test_register_againAfterFullExit() public {
        _register(MIN_STAKE);
        _unbond(MIN_STAKE);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        vm.prank(operator);
        registry.withdraw(node);

        address newOperator = makeAddr("newOperator");
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeStatusChanged(node, INodeRegistry.NodeStatus.Exiting, INodeRegistry.NodeStatus.Active);
        vm.prank(node);
        registry.register(newOperator, bytes32(uint256(7)), 2 * MIN_STAKE);
        INodeRegistry.Node memory n = registry.nodeInfo(node);
        assertEq(n.operator, newOperator);
        assertEq(n.stake, 2 * MIN_STAKE);
        assertEq(n.unbondingEnd, 0);
        assertEq(n.metadataHash, bytes32(uint256(7)));
        assertTrue(registry.isActive(node));
    }

    /*//////////////////////////////////////////////////////////////
                               ADD STAKE
    //////////////////////////////////////////////////////////////*/

    function test_addStake_anyoneCanTopUp() public {
        _register(MIN_STAKE);
        vm.expectEmit(address(registry));
        emit INodeRegistry.StakeAdded(node, stranger, 5e18, MIN_STAKE + 5e18);
        vm.prank(stranger);
        registry.addStake(node, 5e18);
        assertEq(registry.stakeOf(node), MIN_STAKE + 5e18);
        assertEq(registry.totalStaked(), MIN_STAKE + 5e18);
        assertEq(neu.balanceOf(address(registry)), MIN_STAKE + 5e18);
    }

    function test_addStake_exitingNodeReturnsToActive() public {
        _register(MIN_STAKE);
        _unbond(MIN_STAKE);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Exiting));
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeStatusChanged(node, INodeRegistry.NodeStatus.Exiting, INodeRegistry.NodeStatus.Active);
        vm.prank(node);
        registry.addStake(node, MIN_STAKE);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Active));
        assertTrue(registry.isActive(node));
        assertEq(registry.nodeInfo(node).unbonding, MIN_STAKE);
    }

    function test_addStake_exitingNodeBelowMinimumStaysExiting() public {
        _register(MIN_STAKE);
        _unbond(MIN_STAKE);
        vm.prank(node);
        registry.addStake(node, MIN_STAKE - 1);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Exiting));
        assertFalse(registry.isActive(node));
    }

    function test_addStake_jailedNodeStaysJailed() public {
        _register(MIN_STAKE);
        _slash(0.5e18, address(0));
        vm.prank(node);
        registry.addStake(node, 10 * MIN_STAKE);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Jailed));
        assertFalse(registry.isActive(node));
    }

    function test_addStake_failsIfNodeNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, node));
        vm.prank(stranger);
        registry.addStake(node, MIN_STAKE);
    }

    function test_addStake_failsIfZeroAmount() public {
        _register(MIN_STAKE);
        vm.expectRevert(INodeRegistry.ZeroAmount.selector);
        vm.prank(stranger);
        registry.addStake(node, 0);
    }

    /*//////////////////////////////////////////////////////////////
                            UPDATE METADATA
    //////////////////////////////////////////////////////////////*/

    function test_updateMetadata_updatesHash() public {
        _register(MIN_STAKE);
        bytes32 newHash = keccak256("new");
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeMetadataUpdated(node, newHash);
        vm.prank(node);
        registry.updateMetadata(newHash);
        assertEq(registry.nodeInfo(node).metadataHash, newHash);
    }

    function test_updateMetadata_failsIfNodeNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, stranger));
        vm.prank(stranger);
        registry.updateMetadata(META);
    }

    /*//////////////////////////////////////////////////////////////
                                 UNBOND
    //////////////////////////////////////////////////////////////*/

    function test_unbond_partialKeepsActive() public {
        _register(3 * MIN_STAKE);
        uint64 end = uint64(block.timestamp) + UNBONDING_DELAY;
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnbondingStarted(node, MIN_STAKE, 2 * MIN_STAKE, MIN_STAKE, end);
        _unbond(MIN_STAKE);
        INodeRegistry.Node memory n = registry.nodeInfo(node);
        assertEq(n.stake, 2 * MIN_STAKE);
        assertEq(n.unbonding, MIN_STAKE);
        assertEq(n.unbondingEnd, end);
        assertEq(uint8(n.status), uint8(INodeRegistry.NodeStatus.Active));
        assertEq(registry.totalStaked(), 3 * MIN_STAKE);
    }

    function test_unbond_allMakesExiting() public {
        _register(MIN_STAKE);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeStatusChanged(node, INodeRegistry.NodeStatus.Active, INodeRegistry.NodeStatus.Exiting);
        _unbond(MIN_STAKE);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Exiting));
        assertEq(registry.stakeOf(node), 0);
        assertFalse(registry.isActive(node));
    }

    function test_unbond_byOperator() public {
        _register(2 * MIN_STAKE);
        vm.prank(operator);
        registry.unbond(node, MIN_STAKE);
        assertEq(registry.nodeInfo(node).unbonding, MIN_STAKE);
    }

    function test_unbond_resetsUnbondingEnd() public {
        _register(3 * MIN_STAKE);
        _unbond(MIN_STAKE);
        vm.warp(block.timestamp + 3 days);
        _unbond(MIN_STAKE);
        INodeRegistry.Node memory n = registry.nodeInfo(node);
        assertEq(n.unbonding, 2 * MIN_STAKE);
        assertEq(n.unbondingEnd, uint64(block.timestamp) + UNBONDING_DELAY);
    }

    function test_unbond_jailedNodeStaysJailed() public {
        _register(2 * MIN_STAKE);
        _slash(0, address(0));
        _unbond(2 * MIN_STAKE);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Jailed));
        assertEq(registry.nodeInfo(node).unbonding, 2 * MIN_STAKE);
    }

    function test_unbond_failsIfNodeNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, node));
        _unbond(MIN_STAKE);
    }

    function test_unbond_failsIfNotNodeOrOperator() public {
        _register(MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NotNodeOrOperator.selector, stranger, node));
        vm.prank(stranger);
        registry.unbond(node, MIN_STAKE);
    }

    function test_unbond_failsIfZeroAmount() public {
        _register(MIN_STAKE);
        vm.expectRevert(INodeRegistry.ZeroAmount.selector);
        _unbond(0);
    }

    function test_unbond_failsIfInsufficientStake() public {
        _register(MIN_STAKE);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.InsufficientStake.selector, node, MIN_STAKE, MIN_STAKE + 1)
        );
        _unbond(MIN_STAKE + 1);
    }

    function test_unbond_failsIfStakeBelowMinimum() public {
        _register(MIN_STAKE + 10);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.StakeBelowMinimum.selector, MIN_STAKE - 1, MIN_STAKE));
        _unbond(11);
    }

    /*//////////////////////////////////////////////////////////////
                                WITHDRAW
    //////////////////////////////////////////////////////////////*/

    function test_withdraw_paysOperatorAfterDelay() public {
        _register(2 * MIN_STAKE);
        _unbond(MIN_STAKE);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        vm.expectEmit(address(registry));
        emit INodeRegistry.Withdrawn(node, operator, MIN_STAKE);
        vm.prank(operator);
        uint256 paid = registry.withdraw(node);
        assertEq(paid, MIN_STAKE);
        assertEq(neu.balanceOf(operator), MIN_STAKE);
        assertEq(registry.nodeInfo(node).unbonding, 0);
        assertEq(registry.totalStaked(), MIN_STAKE);
        assertEq(neu.balanceOf(address(registry)), MIN_STAKE);
    }

    function test_withdraw_byNodePaysOperator() public {
        _register(MIN_STAKE);
        _unbond(MIN_STAKE);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        uint256 nodeBalance = neu.balanceOf(node);
        vm.prank(node);
        registry.withdraw(node);
        assertEq(neu.balanceOf(operator), MIN_STAKE);
        assertEq(neu.balanceOf(node), nodeBalance);
        assertEq(uint8(_status(node)), uint8(INodeRegistry.NodeStatus.Exiting));
    }

    function test_withdraw_failsIfUnbondingNotFinished() public {
        _register(MIN_STAKE);
        _unbond(MIN_STAKE);
        uint64 end = uint64(block.timestamp) + UNBONDING_DELAY;
        vm.warp(end - 1);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.UnbondingNotFinished.selector, node, end));
        vm.prank(operator);
        registry.withdraw(node);
    }

    function test_withdraw_failsIfNothingToWithdraw() public {
        _register(MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NothingToWithdraw.selector, node));
        vm.prank(operator);
        registry.withdraw(node);
    }

    function test_withdraw_failsIfNotNodeOrOperator() public {
        _register(MIN_STAKE);
        _unbond(MIN_STAKE);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NotNodeOrOperator.selector, stranger, node));
        vm.prank(stranger);
        registry.withdraw(node);
    }

    function test_withdraw_failsIfNodeNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, node));
        vm.prank(node);
        registry.withdraw(node);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    function test_nodeInfo_zeroForUnknownNode() public view {
        INodeRegistry.Node memory n = registry.nodeInfo(stranger);
        assertEq(n.operator, address(0));
        assertEq(uint8(n.status), uint8(INodeRegistry.NodeStatus.None));
        assertEq(n.stake, 0);
    }

    function test_isActive_falseForUnknownExitingAndJailed() public {
        assertFalse(registry.isActive(node));
        _register(2 * MIN_STAKE);
        assertTrue(registry.isActive(node));
        _slash(0, address(0));
        assertFalse(registry.isActive(node));
    }

    function test_stakeOf_excludesUnbonding() public {
        _register(3 * MIN_STAKE);
        _unbond(MIN_STAKE);
        assertEq(registry.stakeOf(node), 2 * MIN_STAKE);
    }

    function test_totalStaked_sumsNodes() public {
        _register(2 * MIN_STAKE);
        _fund(operator, MIN_STAKE);
        vm.prank(operator);
        registry.register(operator, META, MIN_STAKE);
        _unbond(MIN_STAKE);
        assertEq(registry.totalStaked(), 3 * MIN_STAKE);
        assertEq(neu.balanceOf(address(registry)), 3 * MIN_STAKE);
    }
}
