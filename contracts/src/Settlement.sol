// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IComputeCredits} from "./interfaces/IComputeCredits.sol";
import {IPodRegistry} from "./interfaces/IPodRegistry.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";
import {IStakedNeurino} from "./interfaces/IStakedNeurino.sol";
import {Batch, Line} from "./types/SettlementTypes.sol";

/// @title Settlement
/// @notice Applies routers' batches of metered jobs: debits payers' compute credits, splits each payment
/// between node, pod deployer, frontend and stNEU buyback, and keeps an earnings ledger parties claim from.
/// @dev Invariants:
///  - NEU balance of this contract == sum of unclaimed earnings == totalUnclaimed() (donations aside: a plain
///    NEU transfer to the contract only makes the balance larger).
///  - Each applied batch moves exactly its debited total out of ComputeCredits, and
///    total == node + deployer + frontend + buyback shares, to the wei (the node takes the exact remainder).
///  - Per router, sequences apply in order 0, 1, 2, ... and each at most once; an older sequence is a no-op.
///  - A line's cuts never exceed its amount: deployer share <= PodRegistry's 5_000 bps limit, buyback and
///    frontend shares <= MAX_FEE_BPS each, so they sum to at most 9_000 bps (and the node's remainder is
///    computed with checked arithmetic).
///  - NEU leaves only through claim()/claimTo() (an account's own earnings) and addRewards (the buyback).
contract Settlement is ISettlement, AccessControl {
    using SafeERC20 for IERC20;

    /// @inheritdoc ISettlement
    bytes32 public constant ROUTER_ROLE = keccak256("ROUTER_ROLE");

    /// @inheritdoc ISettlement
    uint16 public constant MAX_FEE_BPS = 2_000;

    uint256 private constant _BPS = 10_000;

    IERC20 private immutable _neu;
    IComputeCredits private immutable _credits;
    IPodRegistry private immutable _pods;
    IStakedNeurino private immutable _stakedNeu;

    mapping(address router => uint64) private _nextSequence;
    mapping(address router => mapping(uint64 sequence => bytes32)) private _batchRoots;
    mapping(address account => uint256) private _earnings;
    uint256 private _totalUnclaimed;
    uint16 private _buybackBps;
    uint16 private _frontendBps;

    /// @param neu_ The NEU token.
    /// @param credits_ The compute credits to debit (grant this contract its SETTLEMENT_ROLE).
    /// @param pods_ The pod registry giving each pod's deployer and share.
    /// @param stakedNeu_ The stNEU vault receiving the buyback (grant this contract its REWARDER_ROLE).
    /// @param governance Receives DEFAULT_ADMIN_ROLE (sets shares, grants ROUTER_ROLE).
    /// @param buybackBps_ Share of each payment sent to stNEU (<= MAX_FEE_BPS).
    /// @param frontendBps_ Share of each payment paid to its frontend (<= MAX_FEE_BPS).
    constructor(
        IERC20 neu_,
        IComputeCredits credits_,
        IPodRegistry pods_,
        IStakedNeurino stakedNeu_,
        address governance,
        uint16 buybackBps_,
        uint16 frontendBps_
    ) {
        if (
            address(neu_) == address(0) || address(credits_) == address(0) || address(pods_) == address(0)
                || address(stakedNeu_) == address(0) || governance == address(0)
        ) revert ZeroAddress();
        _checkFee(buybackBps_);
        _checkFee(frontendBps_);
        _neu = neu_;
        _credits = credits_;
        _pods = pods_;
        _stakedNeu = stakedNeu_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _buybackBps = buybackBps_;
        emit BuybackBpsUpdated(0, buybackBps_);
        _frontendBps = frontendBps_;
        emit FrontendBpsUpdated(0, frontendBps_);
        neu_.forceApprove(address(stakedNeu_), type(uint256).max);
    }

    // --- router ---

    /// @inheritdoc ISettlement
    function settle(Batch calldata batch) external onlyRole(ROUTER_ROLE) returns (bool applied) {
        uint64 sequence = batch.sequence;
        uint64 expected = _nextSequence[msg.sender];
        if (sequence < expected) {
            emit BatchAlreadySettled(msg.sender, sequence);
            return false;
        }
        if (sequence > expected) revert SequenceGap(expected, sequence);
        if (batch.lines.length == 0 || batch.debits.length == 0) revert EmptyBatch();

        _nextSequence[msg.sender] = sequence + 1;
        _batchRoots[msg.sender][sequence] = batch.receiptsRoot;

        uint256 total = _credits.debitBatch(batch.debits);
        uint256 buyback = _splitLines(batch.lines, total);
        unchecked {
            // buyback is a sum of per-line cuts, each at most its line's amount, so buyback <= total.
            _totalUnclaimed += total - buyback;
        }
        if (buyback != 0) _stakedNeu.addRewards(buyback);
        emit BatchSettled(msg.sender, sequence, batch.receiptsRoot, batch.receiptCount, total, buyback);
        return true;
    }

    // --- parties ---

    /// @inheritdoc ISettlement
    function claim() external returns (uint256 amount) {
        return _claim(msg.sender);
    }

    /// @inheritdoc ISettlement
    function claimTo(address to) external returns (uint256 amount) {
        if (to == address(0)) revert ZeroAddress();
        return _claim(to);
    }

    // --- governance ---

    /// @inheritdoc ISettlement
    function setBuybackBps(uint16 newBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkFee(newBps);
        uint16 previousBps = _buybackBps;
        _buybackBps = newBps;
        emit BuybackBpsUpdated(previousBps, newBps);
    }

    /// @inheritdoc ISettlement
    function setFrontendBps(uint16 newBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkFee(newBps);
        uint16 previousBps = _frontendBps;
        _frontendBps = newBps;
        emit FrontendBpsUpdated(previousBps, newBps);
    }

    // --- views ---

    /// @inheritdoc ISettlement
    function nextSequence(address router) external view returns (uint64) {
        return _nextSequence[router];
    }

    /// @inheritdoc ISettlement
    function batchRoot(address router, uint64 sequence) external view returns (bytes32) {
        return _batchRoots[router][sequence];
    }

    /// @inheritdoc ISettlement
    function earningsOf(address account) external view returns (uint256) {
        return _earnings[account];
    }

    /// @inheritdoc ISettlement
    function totalUnclaimed() external view returns (uint256) {
        return _totalUnclaimed;
    }

    /// @inheritdoc ISettlement
    function buybackBps() external view returns (uint16) {
        return _buybackBps;
    }

    /// @inheritdoc ISettlement
    function frontendBps() external view returns (uint16) {
        return _frontendBps;
    }

    /// @inheritdoc ISettlement
    function neu() external view returns (IERC20) {
        return _neu;
    }

    /// @inheritdoc ISettlement
    function credits() external view returns (IComputeCredits) {
        return _credits;
    }

    /// @inheritdoc ISettlement
    function pods() external view returns (IPodRegistry) {
        return _pods;
    }

    /// @inheritdoc ISettlement
    function stakedNeu() external view returns (IStakedNeurino) {
        return _stakedNeu;
    }

    // --- internals ---

    /// @dev Credits every line's node, deployer and frontend; returns the summed buyback. Reverts
    /// UnbalancedBatch unless the lines' amounts sum to exactly `debited` (checked line by line against what
    /// is left, which also bounds every amount for the unchecked arithmetic). Pod terms are read once per run
    /// of equal pod ids and the deployer's cut of a run is credited once.
    function _splitLines(Line[] calldata lines, uint256 debited) private returns (uint256 buyback) {
        // Both shares in one word (buyback in bits 16..31, frontend in bits 0..15) to spare a stack slot.
        uint256 fees = (uint256(_buybackBps) << 16) | _frontendBps;
        bytes32 podId = lines[0].podId;
        (address deployer, uint256 deployerBps) = _pods.revenueTerms(podId);
        uint256 deployerRun;
        uint256 remaining = debited;
        uint256 count = lines.length;
        for (uint256 i; i < count;) {
            Line calldata line = lines[i];
            if (line.podId != podId) {
                if (deployerRun != 0) _credit(deployer, deployerRun);
                podId = line.podId;
                (deployer, deployerBps) = _pods.revenueTerms(podId);
                deployerRun = 0;
            }
            uint256 amount = line.amount;
            if (amount > remaining) revert UnbalancedBatch(debited, _sumAmounts(lines));
            uint256 toDeployer;
            uint256 toBuyback;
            uint256 toFrontend;
            address frontend = line.frontend;
            unchecked {
                // amount <= remaining <= debited, NEU that ComputeCredits actually sent, so amount <= NEU's
                // total supply (1e27 < 2**90) and each product is < 2**106; deployerRun and buyback sum cuts
                // of amounts that together are at most `debited`; remaining decreases by amount <= remaining.
                remaining -= amount;
                toDeployer = amount * deployerBps / _BPS;
                toBuyback = amount * (fees >> 16) / _BPS;
                if (frontend != address(0)) toFrontend = amount * (fees & 0xffff) / _BPS;
                deployerRun += toDeployer;
                buyback += toBuyback;
            }
            address node = line.node;
            if (node == address(0)) revert ZeroNode(i);
            // Checked: the shares sum to at most 9_000 bps (see the header), so this never underflows.
            uint256 toNode = amount - toDeployer - toBuyback - toFrontend;
            if (toFrontend != 0) _credit(frontend, toFrontend);
            _credit(node, toNode);
            unchecked {
                // i < count <= calldata length.
                ++i;
            }
        }
        if (remaining != 0) revert UnbalancedBatch(debited, debited - remaining);
        if (deployerRun != 0) _credit(deployer, deployerRun);
    }

    /// @dev Adds `amount` to the earnings of `account`.
    function _credit(address account, uint256 amount) private {
        unchecked {
            // Earnings are NEU this contract holds or is receiving in this batch: far below 2**256.
            _earnings[account] += amount;
        }
    }

    /// @dev Sum of the lines' amounts, for the UnbalancedBatch error (reverts on overflow).
    function _sumAmounts(Line[] calldata lines) private pure returns (uint256 total) {
        for (uint256 i; i < lines.length; ++i) {
            total += lines[i].amount;
        }
    }

    function _claim(address to) private returns (uint256 amount) {
        amount = _earnings[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        _earnings[msg.sender] = 0;
        unchecked {
            // Every account's earnings are part of _totalUnclaimed.
            _totalUnclaimed -= amount;
        }
        emit Claimed(msg.sender, to, amount);
        _neu.safeTransfer(to, amount);
    }

    function _checkFee(uint16 bps) private pure {
        if (bps > MAX_FEE_BPS) revert FeeTooHigh(bps, MAX_FEE_BPS);
    }
}
