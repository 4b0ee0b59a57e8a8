// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {INodeRegistry} from "./interfaces/INodeRegistry.sol";

/// @title NodeRegistry
/// @notice Compute nodes' NEU collateral: register, add stake, unbond, withdraw, slash and jail.
/// @dev Invariants:
///      - sum over nodes of (stake + unbonding) == `totalStaked` == NEU balance held by this contract
///        (the balance can only be larger if someone transfers NEU here directly).
///      - NEU only leaves through `withdraw` (to the node's operator, never before `unbondingEnd`) and
///        `slash` (to the challenger and the reservoir); nothing is minted or lost.
///      - An Active node has stake >= `minStake`, unless governance raised `minStake` afterwards
///        (`isActive` checks the current minimum, so such a node is not served).
///      - A node's stake is 0 or >= `minStake` after every `unbond` (at the minimum in force then).
///      - `0 < auditWindow < unbondingDelay <= MAX_UNBONDING_DELAY`: unbonding stake stays slashable for
///        longer than the audit window, so a fault found in time can always be punished.
///      - `challengerShareBps <= MAX_CHALLENGER_SHARE_BPS`; `minStake > 0`; `reservoir != 0`.
///      - Only governance takes a node out of Jailed.
contract NodeRegistry is INodeRegistry, AccessControl {
    using SafeERC20 for IERC20;

    /// @notice Role of the validation system, allowed to slash and jail nodes.
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice Hard cap on the challenger share of a slash: 50 %.
    uint16 public constant MAX_CHALLENGER_SHARE_BPS = 5_000;
    /// @notice Challenger share in force at deployment: 10 %.
    uint16 public constant INITIAL_CHALLENGER_SHARE_BPS = 1_000;
    /// @notice Hard cap on the unbonding delay.
    uint64 public constant MAX_UNBONDING_DELAY = 365 days;
    uint256 private constant _BPS = 10_000;
    uint256 private constant _WAD = 1e18;

    IERC20 private immutable _neu;
    address private _reservoir;
    uint256 private _minStake;
    uint64 private _auditWindow;
    uint64 private _unbondingDelay;
    uint16 private _challengerShareBps;
    uint256 private _totalStaked;
    mapping(address node => Node) private _nodes;

    /// @param neu_ The NEU token.
    /// @param reservoir_ The compute reservoir receiving slashed NEU.
    /// @param governance Holder of DEFAULT_ADMIN_ROLE (parameters, unjailing, granting SLASHER_ROLE).
    /// @param minStake_ Minimum stake of an active node (> 0).
    /// @param auditWindow_ Audit window (> 0).
    /// @param unbondingDelay_ Unbonding delay (> auditWindow_, <= MAX_UNBONDING_DELAY).
    constructor(
        IERC20 neu_,
        address reservoir_,
        address governance,
        uint256 minStake_,
        uint64 auditWindow_,
        uint64 unbondingDelay_
    ) {
        if (address(neu_) == address(0) || reservoir_ == address(0) || governance == address(0)) {
            revert ZeroAddress();
        }
        if (minStake_ == 0) revert InvalidMinStake(minStake_);
        if (auditWindow_ == 0) revert InvalidAuditWindow(auditWindow_);
        if (unbondingDelay_ <= auditWindow_) revert UnbondingDelayTooShort(unbondingDelay_, auditWindow_);
        if (unbondingDelay_ > MAX_UNBONDING_DELAY) revert UnbondingDelayTooLong(unbondingDelay_, MAX_UNBONDING_DELAY);

        _neu = neu_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _reservoir = reservoir_;
        emit ReservoirUpdated(address(0), reservoir_);
        _minStake = minStake_;
        emit MinStakeUpdated(0, minStake_);
        _auditWindow = auditWindow_;
        emit AuditWindowUpdated(0, auditWindow_);
        _unbondingDelay = unbondingDelay_;
        emit UnbondingDelayUpdated(0, unbondingDelay_);
        _challengerShareBps = INITIAL_CHALLENGER_SHARE_BPS;
        emit ChallengerShareUpdated(0, INITIAL_CHALLENGER_SHARE_BPS);
    }

    /*//////////////////////////////////////////////////////////////
                                 NODES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function register(address operator, bytes32 metadataHash, uint256 amount) external {
        if (operator == address(0)) revert ZeroAddress();
        Node storage n = _nodes[msg.sender];
        NodeStatus previous = n.status;
        bool fullyExited = previous == NodeStatus.Exiting && n.stake == 0 && n.unbonding == 0;
        if (previous != NodeStatus.None && !fullyExited) revert NodeAlreadyRegistered(msg.sender);
        if (amount < _minStake) revert StakeBelowMinimum(amount, _minStake);

        n.operator = operator;
        n.status = NodeStatus.Active;
        n.stake = amount;
        n.unbondingEnd = 0;
        n.registeredAt = uint64(block.timestamp);
        n.metadataHash = metadataHash;
        _totalStaked += amount;
        emit NodeRegistered(msg.sender, operator, amount, metadataHash);
        emit NodeStatusChanged(msg.sender, previous, NodeStatus.Active);

        _neu.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc INodeRegistry
    function addStake(address node, uint256 amount) external {
        Node storage n = _registered(node);
        if (amount == 0) revert ZeroAmount();

        uint256 stake = n.stake + amount;
        n.stake = stake;
        _totalStaked += amount;
        emit StakeAdded(node, msg.sender, amount, stake);
        if (n.status == NodeStatus.Exiting && stake >= _minStake) {
            n.status = NodeStatus.Active;
            emit NodeStatusChanged(node, NodeStatus.Exiting, NodeStatus.Active);
        }

        _neu.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc INodeRegistry
    function updateMetadata(bytes32 metadataHash) external {
        Node storage n = _registered(msg.sender);
        n.metadataHash = metadataHash;
        emit NodeMetadataUpdated(msg.sender, metadataHash);
    }

    /// @inheritdoc INodeRegistry
    function unbond(address node, uint256 amount) external {
        Node storage n = _controlled(node);
        if (amount == 0) revert ZeroAmount();
        uint256 stake = n.stake;
        if (amount > stake) revert InsufficientStake(node, stake, amount);
        // Cannot underflow: amount <= stake was checked above.
        unchecked {
            stake -= amount;
        }
        if (stake != 0 && stake < _minStake) revert StakeBelowMinimum(stake, _minStake);

        uint256 unbonding = n.unbonding + amount;
        uint64 end = uint64(block.timestamp) + _unbondingDelay;
        n.stake = stake;
        n.unbonding = unbonding;
        n.unbondingEnd = end;
        emit UnbondingStarted(node, amount, stake, unbonding, end);
        if (stake == 0 && n.status == NodeStatus.Active) {
            n.status = NodeStatus.Exiting;
            emit NodeStatusChanged(node, NodeStatus.Active, NodeStatus.Exiting);
        }
    }

    /// @inheritdoc INodeRegistry
    function withdraw(address node) external returns (uint256 amount) {
        Node storage n = _controlled(node);
        amount = n.unbonding;
        if (amount == 0) revert NothingToWithdraw(node);
        // Day-scale delays: a few seconds of block-time skew do not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < n.unbondingEnd) revert UnbondingNotFinished(node, n.unbondingEnd);

        n.unbonding = 0;
        _totalStaked -= amount;
        address operator = n.operator;
        emit Withdrawn(node, operator, amount);

        _neu.safeTransfer(operator, amount);
    }

    /*//////////////////////////////////////////////////////////////
                               VALIDATION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function slash(address node, uint256 fractionWad, bytes32 evidenceHash, address challenger)
        external
        onlyRole(SLASHER_ROLE)
        returns (uint256 slashed)
    {
        Node storage n = _registered(node);
        if (fractionWad > _WAD) revert InvalidSlashFraction(fractionWad);

        uint256 unbonding = n.unbonding;
        uint256 stake = n.stake;
        slashed = Math.mulDiv(stake + unbonding, fractionWad, _WAD);
        // Unbonding stake is taken first: what stays is bonded and must unbond again to leave.
        uint256 fromUnbonding = Math.min(slashed, unbonding);
        // Cannot underflow: fromUnbonding <= unbonding, and slashed - fromUnbonding <= stake because
        // slashed <= stake + unbonding (fractionWad <= 1e18, rounded down).
        unchecked {
            n.unbonding = unbonding - fromUnbonding;
            n.stake = stake - (slashed - fromUnbonding);
        }
        _totalStaked -= slashed;

        uint256 toChallenger = challenger == address(0) ? 0 : Math.mulDiv(slashed, _challengerShareBps, _BPS);
        NodeStatus previous = n.status;
        n.status = NodeStatus.Jailed;
        emit NodeSlashed(node, slashed, toChallenger, evidenceHash, challenger);
        if (previous != NodeStatus.Jailed) emit NodeStatusChanged(node, previous, NodeStatus.Jailed);

        if (toChallenger != 0) _neu.safeTransfer(challenger, toChallenger);
        // Cannot underflow: toChallenger <= slashed (challengerShareBps <= 10_000).
        unchecked {
            if (slashed - toChallenger != 0) _neu.safeTransfer(_reservoir, slashed - toChallenger);
        }
    }

    /*//////////////////////////////////////////////////////////////
                               GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function unjail(address node) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Node storage n = _nodes[node];
        if (n.status != NodeStatus.Jailed) revert NodeNotJailed(node);
        NodeStatus status = n.stake >= _minStake ? NodeStatus.Active : NodeStatus.Exiting;
        n.status = status;
        emit NodeUnjailed(node, status);
        emit NodeStatusChanged(node, NodeStatus.Jailed, status);
    }

    /// @inheritdoc INodeRegistry
    function setMinStake(uint256 minStake_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (minStake_ == 0) revert InvalidMinStake(minStake_);
        uint256 previous = _minStake;
        _minStake = minStake_;
        emit MinStakeUpdated(previous, minStake_);
    }

    /// @inheritdoc INodeRegistry
    function setAuditWindow(uint64 auditWindow_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (auditWindow_ == 0) revert InvalidAuditWindow(auditWindow_);
        if (_unbondingDelay <= auditWindow_) revert UnbondingDelayTooShort(_unbondingDelay, auditWindow_);
        uint64 previous = _auditWindow;
        _auditWindow = auditWindow_;
        emit AuditWindowUpdated(previous, auditWindow_);
    }

    /// @inheritdoc INodeRegistry
    function setUnbondingDelay(uint64 unbondingDelay_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (unbondingDelay_ <= _auditWindow) revert UnbondingDelayTooShort(unbondingDelay_, _auditWindow);
        if (unbondingDelay_ > MAX_UNBONDING_DELAY) revert UnbondingDelayTooLong(unbondingDelay_, MAX_UNBONDING_DELAY);
        uint64 previous = _unbondingDelay;
        _unbondingDelay = unbondingDelay_;
        emit UnbondingDelayUpdated(previous, unbondingDelay_);
    }

    /// @inheritdoc INodeRegistry
    function setChallengerShareBps(uint16 challengerShareBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (challengerShareBps_ > MAX_CHALLENGER_SHARE_BPS) {
            revert ChallengerShareTooHigh(challengerShareBps_, MAX_CHALLENGER_SHARE_BPS);
        }
        uint16 previous = _challengerShareBps;
        _challengerShareBps = challengerShareBps_;
        emit ChallengerShareUpdated(previous, challengerShareBps_);
    }

    /// @inheritdoc INodeRegistry
    function setReservoir(address reservoir_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (reservoir_ == address(0)) revert ZeroAddress();
        address previous = _reservoir;
        _reservoir = reservoir_;
        emit ReservoirUpdated(previous, reservoir_);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function neu() external view returns (IERC20) {
        return _neu;
    }

    /// @inheritdoc INodeRegistry
    function reservoir() external view returns (address) {
        return _reservoir;
    }

    /// @inheritdoc INodeRegistry
    function nodeInfo(address node) external view returns (Node memory) {
        return _nodes[node];
    }

    /// @inheritdoc INodeRegistry
    function isActive(address node) external view returns (bool) {
        Node storage n = _nodes[node];
        return n.status == NodeStatus.Active && n.stake >= _minStake;
    }

    /// @inheritdoc INodeRegistry
    function stakeOf(address node) external view returns (uint256) {
        return _nodes[node].stake;
    }

    /// @inheritdoc INodeRegistry
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc INodeRegistry
    function auditWindow() external view returns (uint64) {
        return _auditWindow;
    }

    /// @inheritdoc INodeRegistry
    function unbondingDelay() external view returns (uint64) {
        return _unbondingDelay;
    }

    /// @inheritdoc INodeRegistry
    function challengerShareBps() external view returns (uint16) {
        return _challengerShareBps;
    }

    /// @inheritdoc INodeRegistry
    function totalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _registered(address node) private view returns (Node storage n) {
        n = _nodes[node];
        if (n.status == NodeStatus.None) revert NodeNotRegistered(node);
    }

    /// @dev A registered node, called by itself or its operator.
    function _controlled(address node) private view returns (Node storage n) {
        n = _registered(node);
        if (msg.sender != node && msg.sender != n.operator) revert NotNodeOrOperator(msg.sender, node);
    }
}
