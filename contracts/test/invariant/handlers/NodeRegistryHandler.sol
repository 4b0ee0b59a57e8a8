// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

import {NodeRegistry} from "../../../src/NodeRegistry.sol";
import {INodeRegistry} from "../../../src/interfaces/INodeRegistry.sol";
import {TestNEU} from "../../utils/TestNEU.sol";

/// @notice Drives a NodeRegistry through random but mostly valid sequences of register, addStake, unbond,
///         warp, withdraw, slash and unjail over a fixed set of node keys, operators, stakers and challengers,
///         and keeps ghost sums of every NEU movement.
contract NodeRegistryHandler is CommonBase, StdCheats, StdUtils {
    enum Need {
        Registrable,
        Registered,
        Bonded,
        Unbonding,
        Jailed
    }

    NodeRegistry public immutable registry;
    TestNEU public immutable neu;
    address public immutable governance;
    address public immutable slasher;
    address public immutable reservoir;
    uint256 public immutable minStake;

    address[] internal _nodes;
    address[] internal _operators;
    address[] internal _stakers;
    address[] internal _challengers;

    /// Time seen by the handler; every call starts by warping to it so time only moves forward.
    uint256 public currentTime;

    // Ghost sums of NEU movements.
    uint256 public ghost_minted;
    uint256 public ghost_deposited;
    uint256 public ghost_withdrawn;
    uint256 public ghost_slashedToChallengers;
    uint256 public ghost_slashedToReservoir;
    /// Number of withdrawals that succeeded before the node's unbondingEnd (must stay 0).
    uint256 public ghost_earlyWithdrawals;
    /// Number of slashes whose payouts did not add up to the slashed amount (must stay 0).
    uint256 public ghost_splitMismatches;
    /// Whether each node is jailed according to the handler's own bookkeeping.
    mapping(address node => bool) public ghost_jailed;

    mapping(bytes32 action => uint256) public calls;

    modifier useTime() {
        vm.warp(currentTime);
        _;
    }

    constructor(NodeRegistry registry_, TestNEU neu_, address governance_, address slasher_, address reservoir_) {
        registry = registry_;
        neu = neu_;
        governance = governance_;
        slasher = slasher_;
        reservoir = reservoir_;
        minStake = registry_.minStake();
        currentTime = block.timestamp;
        for (uint256 i; i < 4; ++i) {
            _nodes.push(makeAddr(string.concat("node", vm.toString(i))));
            _operators.push(makeAddr(string.concat("operator", vm.toString(i))));
        }
        for (uint256 i; i < 2; ++i) {
            _stakers.push(makeAddr(string.concat("staker", vm.toString(i))));
            _challengers.push(makeAddr(string.concat("challenger", vm.toString(i))));
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 ACTIONS
    //////////////////////////////////////////////////////////////*/

    function register(uint256 nodeSeed, uint256 operatorSeed, uint256 amount) external useTime {
        (address node, bool found) = _findNode(nodeSeed, Need.Registrable);
        if (!found) return;
        amount = _bound(amount, minStake, 10 * minStake);
        _mintAndApprove(node, amount);
        vm.prank(node);
        registry.register(_pick(_operators, operatorSeed), bytes32(nodeSeed), amount);
        ghost_deposited += amount;
        ++calls["register"];
    }

    function addStake(uint256 stakerSeed, uint256 nodeSeed, uint256 amount) external useTime {
        (address node, bool found) = _findNode(nodeSeed, Need.Registered);
        if (!found) return;
        address staker = stakerSeed % 3 == 0 ? node : _pick(_stakers, stakerSeed);
        amount = _bound(amount, 1, 5 * minStake);
        _mintAndApprove(staker, amount);
        vm.prank(staker);
        registry.addStake(node, amount);
        ghost_deposited += amount;
        ++calls["addStake"];
    }

    function unbond(uint256 nodeSeed, uint256 amount, bool byOperator) external useTime {
        (address node, bool found) = _findNode(nodeSeed, Need.Bonded);
        if (!found) return;
        INodeRegistry.Node memory n = registry.nodeInfo(node);
        // Either everything, or an amount that leaves at least the minimum.
        if (n.stake <= minStake || amount % 4 == 0) amount = n.stake;
        else amount = _bound(amount, 1, n.stake - minStake);
        vm.prank(byOperator ? n.operator : node);
        registry.unbond(node, amount);
        ++calls["unbond"];
    }

    function warp(uint256 secondsForward) external useTime {
        currentTime += _bound(secondsForward, 6 hours, 3 days);
        ++calls["warp"];
    }

    /// @dev Also tries when the unbonding delay has not elapsed, to check that the registry refuses.
    ///      `timing % 3`: 0 tries now; 1 moves time to one second before the node's unbonding end;
    ///      2 moves time to the unbonding end (time never goes back).
    function withdraw(uint256 nodeSeed, bool byOperator, uint8 timing) external useTime {
        (address node, bool found) = _findNode(nodeSeed, Need.Unbonding);
        if (!found) return;
        INodeRegistry.Node memory n = registry.nodeInfo(node);
        uint256 target = timing % 3 == 1 ? n.unbondingEnd - 1 : timing % 3 == 2 ? n.unbondingEnd : 0;
        if (currentTime < target) {
            currentTime = target;
            vm.warp(currentTime);
        }
        vm.prank(byOperator ? n.operator : node);
        try registry.withdraw(node) returns (uint256 paid) {
            if (currentTime < n.unbondingEnd) ++ghost_earlyWithdrawals;
            ghost_withdrawn += paid;
            ++calls["withdraw"];
        } catch {
            ++calls["withdrawRefused"];
        }
    }

    function slash(uint256 nodeSeed, uint256 fractionWad, uint256 challengerSeed) external useTime {
        (address node, bool found) = _findNode(nodeSeed, Need.Registered);
        if (!found) return;
        fractionWad = _bound(fractionWad, 0, 1e18);
        address challenger = challengerSeed % 3 == 0 ? address(0) : _pick(_challengers, challengerSeed);
        uint256 challengerBefore = challenger == address(0) ? 0 : neu.balanceOf(challenger);
        uint256 reservoirBefore = neu.balanceOf(reservoir);
        vm.prank(slasher);
        uint256 slashed = registry.slash(node, fractionWad, keccak256(abi.encode(nodeSeed)), challenger);
        uint256 toChallenger = challenger == address(0) ? 0 : neu.balanceOf(challenger) - challengerBefore;
        ghost_slashedToChallengers += toChallenger;
        ghost_slashedToReservoir += neu.balanceOf(reservoir) - reservoirBefore;
        if (toChallenger + neu.balanceOf(reservoir) - reservoirBefore != slashed) ++ghost_splitMismatches;
        ghost_jailed[node] = true;
        ++calls["slash"];
    }

    function unjail(uint256 nodeSeed) external useTime {
        (address node, bool found) = _findNode(nodeSeed, Need.Jailed);
        if (!found) return;
        vm.prank(governance);
        registry.unjail(node);
        ghost_jailed[node] = false;
        ++calls["unjail"];
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function nodes() external view returns (address[] memory) {
        return _nodes;
    }

    /// @notice Every account that can hold NEU in this scenario, besides the registry.
    function holders() external view returns (address[] memory all) {
        all = new address[](_nodes.length + _operators.length + _stakers.length + _challengers.length + 1);
        uint256 k;
        for (uint256 i; i < _nodes.length; ++i) {
            all[k++] = _nodes[i];
        }
        for (uint256 i; i < _operators.length; ++i) {
            all[k++] = _operators[i];
        }
        for (uint256 i; i < _stakers.length; ++i) {
            all[k++] = _stakers[i];
        }
        for (uint256 i; i < _challengers.length; ++i) {
            all[k++] = _challengers[i];
        }
        all[k] = reservoir;
    }

    /// @dev The first node, starting at `seed`, that can take the action, so few calls are wasted.
    function _findNode(uint256 seed, Need need) internal view returns (address, bool) {
        uint256 count = _nodes.length;
        for (uint256 i; i < count; ++i) {
            address node = _nodes[(seed % count + i) % count];
            INodeRegistry.Node memory n = registry.nodeInfo(node);
            bool ok;
            if (need == Need.Registrable) {
                ok = n.status == INodeRegistry.NodeStatus.None
                    || (n.status == INodeRegistry.NodeStatus.Exiting && n.stake == 0 && n.unbonding == 0);
            } else if (need == Need.Registered) {
                ok = n.status != INodeRegistry.NodeStatus.None;
            } else if (need == Need.Bonded) {
                ok = n.status != INodeRegistry.NodeStatus.None && n.stake != 0;
            } else if (need == Need.Unbonding) {
                ok = n.unbonding != 0;
            } else {
                ok = n.status == INodeRegistry.NodeStatus.Jailed;
            }
            if (ok) return (node, true);
        }
        return (address(0), false);
    }

    function _pick(address[] storage set, uint256 seed) internal view returns (address) {
        return set[seed % set.length];
    }

    function _mintAndApprove(address who, uint256 amount) internal {
        neu.mint(who, amount);
        ghost_minted += amount;
        vm.prank(who);
        neu.approve(address(registry), amount);
    }
}
