// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {TestNEU} from "../utils/TestNEU.sol";

abstract contract NodeRegistryFixture is Test {
    uint256 internal constant MIN_STAKE = 1_000e18;
    uint64 internal constant AUDIT_WINDOW = 1 days;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    bytes32 internal constant META = keccak256("node-metadata");
    bytes32 internal constant EVIDENCE = keccak256("evidence");

    TestNEU internal neu;
    NodeRegistry internal registry;

    address internal governance = makeAddr("governance");
    address internal reservoir = makeAddr("reservoir");
    address internal slasher = makeAddr("slasher");
    address internal challenger = makeAddr("challenger");
    address internal node = makeAddr("node");
    address internal operator = makeAddr("operator");
    address internal stranger = makeAddr("stranger");

    function setUp() public virtual {
        neu = new TestNEU();
        registry =
            new NodeRegistry(IERC20(address(neu)), reservoir, governance, MIN_STAKE, AUDIT_WINDOW, UNBONDING_DELAY);
        bytes32 slasherRole = registry.SLASHER_ROLE();
        vm.prank(governance);
        registry.grantRole(slasherRole, slasher);
        _fund(node, 100_000e18);
        _fund(stranger, 100_000e18);
    }

    function _fund(address who, uint256 amount) internal {
        neu.mint(who, amount);
        vm.prank(who);
        neu.approve(address(registry), type(uint256).max);
    }

    function _register(uint256 amount) internal {
        vm.prank(node);
        registry.register(operator, META, amount);
    }

    function _unbond(uint256 amount) internal {
        vm.prank(node);
        registry.unbond(node, amount);
    }

    function _slash(uint256 fractionWad, address who) internal returns (uint256) {
        vm.prank(slasher);
        return registry.slash(node, fractionWad, EVIDENCE, who);
    }

    function _status(address who) internal view returns (INodeRegistry.NodeStatus) {
        return registry.nodeInfo(who).status;
    }
}
