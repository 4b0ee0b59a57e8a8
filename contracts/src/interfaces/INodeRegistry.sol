// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title INodeRegistry
/// @notice Registry of compute nodes and their NEU collateral: register with at least the minimum stake,
///         add stake, unbond and withdraw after a delay, and be slashed and jailed by the validation role.
///         Unbonding stake stays slashable until withdrawn, and the unbonding delay is always longer than
///         the audit window, so every fault found within the audit window can still be punished.
interface INodeRegistry {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice Lifecycle of a node.
    /// @dev None: never registered. Active: may serve jobs (if its stake is >= minStake). Exiting: stake fully
    ///      unbonded (or below the minimum after unjailing); may add stake to return. Jailed: slashed; only
    ///      governance releases it.
    enum NodeStatus {
        None,
        Active,
        Exiting,
        Jailed
    }

    /// @notice A node's record.
    /// @param operator Receives withdrawn stake; may unbond and withdraw on the node's behalf.
    /// @param status The node's status.
    /// @param stake Bonded NEU.
    /// @param unbonding NEU waiting out the unbonding delay (still slashable).
    /// @param unbondingEnd Time from which `unbonding` can be withdrawn.
    /// @param registeredAt Time of the (latest) registration.
    /// @param metadataHash Hash of the node's off-chain metadata (capabilities, endpoints).
    struct Node {
        address operator;
        NodeStatus status;
        uint256 stake;
        uint256 unbonding;
        uint64 unbondingEnd;
        uint64 registeredAt;
        bytes32 metadataHash;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice An address argument that must be set was zero.
    error ZeroAddress();

    /// @notice An amount was zero.
    error ZeroAmount();

    /// @notice The minimum stake must be greater than zero.
    /// @param minStake The requested minimum stake.
    error InvalidMinStake(uint256 minStake);

    /// @notice The audit window must be greater than zero.
    /// @param auditWindow The requested audit window.
    error InvalidAuditWindow(uint64 auditWindow);

    /// @notice The unbonding delay must be strictly longer than the audit window.
    /// @param unbondingDelay The unbonding delay.
    /// @param auditWindow The audit window.
    error UnbondingDelayTooShort(uint64 unbondingDelay, uint64 auditWindow);

    /// @notice The unbonding delay exceeds its hard cap.
    /// @param unbondingDelay The requested unbonding delay.
    /// @param maxDelay The cap (`MAX_UNBONDING_DELAY`).
    error UnbondingDelayTooLong(uint64 unbondingDelay, uint64 maxDelay);

    /// @notice The challenger share exceeds its hard cap.
    /// @param challengerShareBps The requested share.
    /// @param maxShareBps The cap (`MAX_CHALLENGER_SHARE_BPS`).
    error ChallengerShareTooHigh(uint16 challengerShareBps, uint16 maxShareBps);

    /// @notice The node is already registered (and has not fully exited).
    /// @param node The node.
    error NodeAlreadyRegistered(address node);

    /// @notice The node is not registered.
    /// @param node The node.
    error NodeNotRegistered(address node);

    /// @notice A stake would end up below the minimum.
    /// @param stake The resulting stake.
    /// @param minStake The minimum stake.
    error StakeBelowMinimum(uint256 stake, uint256 minStake);

    /// @notice The caller is neither the node nor its operator.
    /// @param caller The caller.
    /// @param node The node.
    error NotNodeOrOperator(address caller, address node);

    /// @notice The node's bonded stake is smaller than the amount asked for.
    /// @param node The node.
    /// @param stake The node's bonded stake.
    /// @param requested The requested amount.
    error InsufficientStake(address node, uint256 stake, uint256 requested);

    /// @notice The node has nothing unbonding to withdraw.
    /// @param node The node.
    error NothingToWithdraw(address node);

    /// @notice The unbonding delay has not elapsed yet.
    /// @param node The node.
    /// @param unbondingEnd Time from which withdrawal is possible.
    error UnbondingNotFinished(address node, uint64 unbondingEnd);

    /// @notice The slash fraction exceeds 1e18 (100 %).
    /// @param fractionWad The requested fraction.
    error InvalidSlashFraction(uint256 fractionWad);

    /// @notice The node is not jailed.
    /// @param node The node.
    error NodeNotJailed(address node);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A node registered (or re-registered after fully exiting).
    /// @param node The node's key address.
    /// @param operator The operator.
    /// @param stake The initial stake.
    /// @param metadataHash Hash of the node's off-chain metadata.
    event NodeRegistered(address indexed node, address indexed operator, uint256 stake, bytes32 metadataHash);

    /// @notice A node's status changed.
    /// @param node The node.
    /// @param previous The previous status.
    /// @param current The new status.
    event NodeStatusChanged(address indexed node, NodeStatus previous, NodeStatus current);

    /// @notice Stake was added to a node.
    /// @param node The node.
    /// @param from Who paid.
    /// @param amount Amount added.
    /// @param stake The node's bonded stake afterwards.
    event StakeAdded(address indexed node, address indexed from, uint256 amount, uint256 stake);

    /// @notice A node changed its metadata.
    /// @param node The node.
    /// @param metadataHash The new metadata hash.
    event NodeMetadataUpdated(address indexed node, bytes32 metadataHash);

    /// @notice Stake moved from bonded to unbonding.
    /// @param node The node.
    /// @param amount Amount moved.
    /// @param stake The node's bonded stake afterwards.
    /// @param unbonding The node's total unbonding amount afterwards.
    /// @param unbondingEnd Time from which all of `unbonding` can be withdrawn.
    event UnbondingStarted(address indexed node, uint256 amount, uint256 stake, uint256 unbonding, uint64 unbondingEnd);

    /// @notice Unbonded stake was paid out to the operator.
    /// @param node The node.
    /// @param operator The recipient.
    /// @param amount Amount paid.
    event Withdrawn(address indexed node, address indexed operator, uint256 amount);

    /// @notice A node was slashed and jailed.
    /// @param node The node.
    /// @param slashed Total NEU taken (from unbonding first, then bonded stake).
    /// @param toChallenger Part of `slashed` paid to the challenger; the rest went to the reservoir.
    /// @param evidenceHash Hash of the evidence.
    /// @param challenger Who reported the fault (zero if nobody is rewarded).
    event NodeSlashed(
        address indexed node, uint256 slashed, uint256 toChallenger, bytes32 evidenceHash, address indexed challenger
    );

    /// @notice Governance released a node from jail.
    /// @param node The node.
    /// @param status The node's new status (Active or Exiting).
    event NodeUnjailed(address indexed node, NodeStatus status);

    /// @notice The minimum stake changed.
    /// @param previous The previous minimum.
    /// @param current The new minimum.
    event MinStakeUpdated(uint256 previous, uint256 current);

    /// @notice The audit window changed.
    /// @param previous The previous window, in seconds.
    /// @param current The new window, in seconds.
    event AuditWindowUpdated(uint64 previous, uint64 current);

    /// @notice The unbonding delay changed (applies to later unbonds).
    /// @param previous The previous delay, in seconds.
    /// @param current The new delay, in seconds.
    event UnbondingDelayUpdated(uint64 previous, uint64 current);

    /// @notice The challenger share of slashes changed.
    /// @param previous The previous share, in basis points.
    /// @param current The new share, in basis points.
    event ChallengerShareUpdated(uint16 previous, uint16 current);

    /// @notice The compute reservoir receiving slashed NEU changed.
    /// @param previous The previous reservoir.
    /// @param current The new reservoir.
    event ReservoirUpdated(address indexed previous, address indexed current);

    /*//////////////////////////////////////////////////////////////
                                 NODES
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers the caller as a node, pulling `amount` NEU from it as stake.
    /// @dev A node that fully exited (Exiting, nothing bonded or unbonding) may register again, e.g. to
    ///      change operator. Requires NEU approval.
    /// @param operator Receives withdrawals and may unbond/withdraw for the node; non-zero.
    /// @param metadataHash Hash of the node's off-chain metadata.
    /// @param amount Initial stake (>= `minStake`).
    function register(address operator, bytes32 metadataHash, uint256 amount) external;

    /// @notice Adds stake to a node, pulling `amount` NEU from the caller (anyone may top up).
    /// @dev An Exiting node whose stake reaches `minStake` becomes Active; a Jailed node stays Jailed.
    /// @param node The node.
    /// @param amount Amount to add (> 0).
    function addStake(address node, uint256 amount) external;

    /// @notice Changes the caller node's metadata hash.
    /// @param metadataHash The new hash.
    function updateMetadata(bytes32 metadataHash) external;

    /// @notice Starts unbonding `amount` of a node's stake; by the node or its operator.
    /// @dev The remaining stake must be 0 (an Active node becomes Exiting) or >= `minStake`. Resets
    ///      `unbondingEnd` to now + `unbondingDelay` for everything unbonding.
    /// @param node The node.
    /// @param amount Amount to unbond (> 0, <= stake).
    function unbond(address node, uint256 amount) external;

    /// @notice Pays all of a node's unbonded NEU to its operator once the delay has elapsed.
    /// @param node The node.
    /// @return amount The amount paid.
    function withdraw(address node) external returns (uint256 amount);

    /*//////////////////////////////////////////////////////////////
                               VALIDATION
    //////////////////////////////////////////////////////////////*/

    /// @notice Slashes `fractionWad` of a node's stake plus unbonding and jails it. Only SLASHER_ROLE.
    /// @dev Takes from unbonding first, then bonded stake. `challengerShareBps` of the slashed amount goes to
    ///      `challenger` if non-zero; the rest goes to the reservoir. A zero fraction jails without slashing.
    /// @param node The node.
    /// @param fractionWad Fraction in 1e18 units (<= 1e18).
    /// @param evidenceHash Hash of the evidence.
    /// @param challenger Who reported the fault, or zero.
    /// @return slashed The amount taken.
    function slash(address node, uint256 fractionWad, bytes32 evidenceHash, address challenger)
        external
        returns (uint256 slashed);

    /*//////////////////////////////////////////////////////////////
                               GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    /// @notice Releases a jailed node: Active if its stake is >= `minStake`, else Exiting. Only governance.
    /// @param node The node.
    function unjail(address node) external;

    /// @notice Sets the minimum stake (> 0). Only governance. Nodes below it stop being `isActive`.
    /// @param minStake The new minimum stake.
    function setMinStake(uint256 minStake) external;

    /// @notice Sets the audit window (> 0 and < `unbondingDelay`). Only governance.
    /// @param auditWindow The new audit window, in seconds.
    function setAuditWindow(uint64 auditWindow) external;

    /// @notice Sets the unbonding delay (> `auditWindow`, <= `MAX_UNBONDING_DELAY`). Only governance.
    /// @dev Applies to unbonds started afterwards.
    /// @param unbondingDelay The new unbonding delay, in seconds.
    function setUnbondingDelay(uint64 unbondingDelay) external;

    /// @notice Sets the challenger share of slashes (<= `MAX_CHALLENGER_SHARE_BPS`). Only governance.
    /// @param challengerShareBps The new share, in basis points.
    function setChallengerShareBps(uint16 challengerShareBps) external;

    /// @notice Sets the compute reservoir that receives slashed NEU (non-zero). Only governance.
    /// @param reservoir The new reservoir.
    function setReservoir(address reservoir) external;

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The NEU token staked here.
    function neu() external view returns (IERC20);

    /// @notice The compute reservoir receiving slashed NEU.
    function reservoir() external view returns (address);

    /// @notice A node's full record (zeroed if never registered).
    /// @param node The node.
    function nodeInfo(address node) external view returns (Node memory);

    /// @notice Whether a node may serve jobs: Active with stake >= `minStake`.
    /// @param node The node.
    function isActive(address node) external view returns (bool);

    /// @notice A node's bonded stake (not counting unbonding).
    /// @param node The node.
    function stakeOf(address node) external view returns (uint256);

    /// @notice Minimum bonded stake of an active node.
    function minStake() external view returns (uint256);

    /// @notice Time within which validators audit a job after it settles.
    function auditWindow() external view returns (uint64);

    /// @notice Time unbonding stake waits (and stays slashable) before withdrawal.
    function unbondingDelay() external view returns (uint64);

    /// @notice Share of each slash paid to the challenger, in basis points.
    function challengerShareBps() external view returns (uint16);

    /// @notice Sum of stake + unbonding over all nodes; equals the NEU this contract holds for nodes.
    function totalStaked() external view returns (uint256);
}
