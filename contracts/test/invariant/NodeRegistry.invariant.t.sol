// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test, console} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {TestNEU} from "../utils/TestNEU.sol";
import {NodeRegistryHandler} from "./handlers/NodeRegistryHandler.sol";

/// @notice Invariants of NodeRegistry under random register/addStake/unbond/warp/withdraw/slash/unjail sequences.
/// @dev The handler only makes calls that should succeed (and tries withdrawals early on purpose, inside a
///      try/catch), so any unexpected revert fails the run.
/// forge-config: default.invariant.fail-on-revert = true
contract NodeRegistryInvariantTest is Test {
    uint256 internal constant MIN_STAKE = 1_000e18;

    TestNEU internal neu;
    NodeRegistry internal registry;
    NodeRegistryHandler internal handler;

    function setUp() public {
        address governance = makeAddr("governance");
        address slasher = makeAddr("slasher");
        address reservoir = makeAddr("reservoir");
        neu = new TestNEU();
        registry = new NodeRegistry(IERC20(address(neu)), reservoir, governance, MIN_STAKE, 1 days, 2 days);
        bytes32 slasherRole = registry.SLASHER_ROLE();
        vm.prank(governance);
        registry.grantRole(slasherRole, slasher);
        handler = new NodeRegistryHandler(registry, neu, governance, slasher, reservoir);

        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = NodeRegistryHandler.register.selector;
        selectors[1] = NodeRegistryHandler.addStake.selector;
        selectors[2] = NodeRegistryHandler.unbond.selector;
        selectors[3] = NodeRegistryHandler.warp.selector;
        selectors[4] = NodeRegistryHandler.withdraw.selector;
        selectors[5] = NodeRegistryHandler.slash.selector;
        selectors[6] = NodeRegistryHandler.unjail.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// The registry's accounting is exact: adding up every node's bonded and unbonding stake gives
    /// totalStaked, which is exactly the NEU the registry holds.
    function invariant_stakeSumEqualsTotalStakedEqualsBalance() public view {
        address[] memory nodes = handler.nodes();
        uint256 sum;
        for (uint256 i; i < nodes.length; ++i) {
            INodeRegistry.Node memory n = registry.nodeInfo(nodes[i]);
            sum += n.stake + n.unbonding;
        }
        assertEq(sum, registry.totalStaked(), "sum of nodes != totalStaked");
        assertEq(registry.totalStaked(), neu.balanceOf(address(registry)), "totalStaked != balance");
    }

    /// Every NEU that went in and did not leave by withdrawal or slash is still in the registry.
    function invariant_ghostFlowsMatchTotalStaked() public view {
        uint256 out =
            handler.ghost_withdrawn() + handler.ghost_slashedToChallengers() + handler.ghost_slashedToReservoir();
        assertEq(handler.ghost_deposited() - out, registry.totalStaked());
    }

    /// NEU is neither created nor destroyed: what was minted is held by the registry, the reservoir,
    /// the challengers, the operators, the nodes and the stakers, together.
    function invariant_neuIsConserved() public view {
        address[] memory holders = handler.holders();
        uint256 sum = neu.balanceOf(address(registry));
        for (uint256 i; i < holders.length; ++i) {
            sum += neu.balanceOf(holders[i]);
        }
        assertEq(sum, handler.ghost_minted(), "NEU leaked or appeared");
        assertEq(neu.totalSupply(), handler.ghost_minted());
        assertEq(neu.balanceOf(registry.reservoir()), handler.ghost_slashedToReservoir());
    }

    /// A node with status Active always has at least the minimum stake (minimum stake is fixed here).
    function invariant_activeNodeHasMinimumStake() public view {
        address[] memory nodes = handler.nodes();
        for (uint256 i; i < nodes.length; ++i) {
            INodeRegistry.Node memory n = registry.nodeInfo(nodes[i]);
            if (n.status == INodeRegistry.NodeStatus.Active) {
                assertGe(n.stake, registry.minStake(), "active node below minimum");
                assertTrue(registry.isActive(nodes[i]));
            } else {
                assertFalse(registry.isActive(nodes[i]));
            }
        }
    }

    /// A withdrawal never succeeds before the node's unbonding end.
    function invariant_noWithdrawalBeforeUnbondingEnd() public view {
        assertEq(handler.ghost_earlyWithdrawals(), 0);
    }

    /// A node is Jailed exactly when it was slashed and governance has not released it since.
    function invariant_onlyGovernanceReleasesJail() public view {
        address[] memory nodes = handler.nodes();
        for (uint256 i; i < nodes.length; ++i) {
            bool jailed = registry.nodeInfo(nodes[i]).status == INodeRegistry.NodeStatus.Jailed;
            assertEq(jailed, handler.ghost_jailed(nodes[i]));
        }
    }

    /// Every slash pays out exactly what it takes: the challenger's part plus the reservoir's part.
    function invariant_slashPayoutsAddUp() public view {
        assertEq(handler.ghost_splitMismatches(), 0);
    }

    /// Prints how many calls of each kind did something in the last run (shown with -vv).
    function afterInvariant() external view {
        console.log("register", handler.calls("register"));
        console.log("addStake", handler.calls("addStake"));
        console.log("unbond", handler.calls("unbond"));
        console.log("warp", handler.calls("warp"));
        console.log("withdraw", handler.calls("withdraw"));
        console.log("withdrawRefused", handler.calls("withdrawRefused"));
        console.log("slash", handler.calls("slash"));
        console.log("unjail", handler.calls("unjail"));
    }
}
