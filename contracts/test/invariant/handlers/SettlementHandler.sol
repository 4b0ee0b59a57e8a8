// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

import {ComputeCredits} from "../../../src/ComputeCredits.sol";
import {NeurinoToken} from "../../../src/NeurinoToken.sol";
import {Settlement} from "../../../src/Settlement.sol";
import {ISettlement} from "../../../src/interfaces/ISettlement.sol";
import {Batch, Debit, Line} from "../../../src/types/SettlementTypes.sol";

/// @notice Drives ComputeCredits and Settlement the way payers, routers and earners do: deposits, withdrawal
/// requests, time, withdrawals, balanced batches from two routers (plus resubmitted old batches and batches
/// with a sequence gap), claims and share changes by governance. Tracks ghost sums of every NEU flow.
contract SettlementHandler is CommonBase, StdCheats, StdUtils {
    NeurinoToken internal immutable _neu;
    ComputeCredits internal immutable _credits;
    Settlement internal immutable _settlement;
    address internal immutable _governance;
    address internal immutable _funder;

    address[] internal _payers;
    address[] internal _routers;
    bytes32[] internal _podIds;
    address[] internal _nodes;
    address[] internal _frontends; // includes address(0): lines without a frontend
    address[] internal _earners; // nodes, deployers and real frontends

    // --- ghosts ---
    uint256 public ghost_deposited;
    uint256 public ghost_withdrawn;
    uint256 public ghost_debited;
    uint256 public ghost_buyback;
    uint256 public ghost_claimed;
    uint256 public ghost_batchesApplied;
    uint256 public ghost_validBatchesRefused;
    uint256 public ghost_replays;
    uint256 public ghost_gapAttempts;
    uint256 public ghost_gapsRejected;
    uint256 public ghost_replayChangedSomething;
    uint256 public ghost_withdrawals;
    uint256 public ghost_earlyWithdrawals;
    uint256 public ghost_overpaidWithdrawals;
    mapping(address router => mapping(uint64 sequence => uint256)) public ghost_appliedCount;
    mapping(address router => mapping(uint64 sequence => bytes)) internal _settledBatches;

    constructor(
        NeurinoToken neu_,
        ComputeCredits credits_,
        Settlement settlement_,
        address governance,
        address funder,
        address[] memory payers_,
        address[] memory routers_,
        bytes32[] memory podIds_,
        address[] memory nodes_,
        address[] memory frontends_,
        address[] memory earners_
    ) {
        _neu = neu_;
        _credits = credits_;
        _settlement = settlement_;
        _governance = governance;
        _funder = funder;
        _payers = payers_;
        _routers = routers_;
        _podIds = podIds_;
        _nodes = nodes_;
        _frontends = frontends_;
        _earners = earners_;
    }

    // --- payers ---

    function deposit(uint256 payerSeed, uint256 amount) external {
        address payer = _payers[payerSeed % _payers.length];
        amount = bound(amount, 1, 1e24);
        vm.prank(_funder);
        require(_neu.transfer(payer, amount), "SettlementHandler: transfer failed");
        vm.startPrank(payer);
        _neu.approve(address(_credits), amount);
        _credits.deposit(amount);
        vm.stopPrank();
        ghost_deposited += amount;
    }

    function requestWithdrawal(uint256 payerSeed, uint256 amount) external {
        address payer = _payers[payerSeed % _payers.length];
        uint256 balance = _credits.balanceOf(payer);
        if (balance == 0) return;
        amount = bound(amount, 1, balance);
        vm.prank(payer);
        _credits.requestWithdrawal(amount);
    }

    function cancelWithdrawal(uint256 payerSeed) external {
        (address payer, uint256 pending,) = _payerWithRequest(payerSeed);
        if (pending == 0) return;
        vm.prank(payer);
        _credits.cancelWithdrawal();
    }

    function warp(uint256 seconds_) external {
        skip(bound(seconds_, 1, 2 days));
    }

    /// @dev Withdraws a pending request, ready or not: an early attempt must revert.
    function withdraw(uint256 payerSeed) external {
        (address payer, uint256 pending, uint64 availableAt) = _payerWithRequest(payerSeed);
        if (pending == 0) return;
        // Half the time wait until the request opens (the other half exercises early attempts).
        // forge-lint: disable-next-line(block-timestamp)
        if ((payerSeed >> 128) % 2 == 0 && block.timestamp < availableAt) vm.warp(availableAt);
        vm.prank(payer);
        try _credits.withdraw() returns (uint256 paid) {
            ghost_withdrawn += paid;
            ghost_withdrawals++;
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < availableAt) ghost_earlyWithdrawals++;
            if (paid > pending) ghost_overpaidWithdrawals++;
        } catch {}
    }

    /// @dev The first payer from `seed` on with a pending withdrawal (or zeroes).
    function _payerWithRequest(uint256 seed)
        internal
        view
        returns (address payer, uint256 pending, uint64 availableAt)
    {
        uint256 first = seed % _payers.length;
        for (uint256 i; i < _payers.length; ++i) {
            payer = _payers[(first + i) % _payers.length];
            (pending, availableAt) = _credits.pendingWithdrawal(payer);
            if (pending != 0) return (payer, pending, availableAt);
        }
    }

    // --- routers ---

    /// @dev Settles a random balanced batch at the router's next sequence.
    function settle(uint256 routerSeed, uint256 seed, uint256 lineCount, uint256 debitCount) external {
        address router = _routers[routerSeed % _routers.length];
        Batch memory batch = _randomBatch(seed, bound(lineCount, 1, 6), bound(debitCount, 1, _payers.length));
        batch.sequence = _settlement.nextSequence(router);
        uint256 total;
        for (uint256 i; i < batch.debits.length; ++i) {
            total += batch.debits[i].amount;
        }
        uint256 stakedBefore = _neu.balanceOf(address(_settlement.stakedNeu()));

        vm.prank(router);
        try _settlement.settle(batch) returns (bool applied) {
            if (!applied) {
                ghost_validBatchesRefused++;
                return;
            }
        } catch {
            ghost_validBatchesRefused++;
            return;
        }

        ghost_appliedCount[router][batch.sequence]++;
        _settledBatches[router][batch.sequence] = abi.encode(batch);
        ghost_batchesApplied++;
        ghost_debited += total;
        ghost_buyback += _neu.balanceOf(address(_settlement.stakedNeu())) - stakedBefore;
    }

    /// @dev Resubmits an already applied batch of a router: must return false and change nothing.
    function resubmit(uint256 routerSeed, uint256 sequenceSeed) external {
        address router = _routers[routerSeed % _routers.length];
        uint64 next = _settlement.nextSequence(router);
        if (next == 0) return;
        uint64 sequence = uint64(sequenceSeed % next); // forge-lint: disable-line(unsafe-typecast)
        Batch memory batch = abi.decode(_settledBatches[router][sequence], (Batch));
        uint256 creditsBefore = _credits.totalCredits();
        uint256 unclaimedBefore = _settlement.totalUnclaimed();

        vm.prank(router);
        bool applied = _settlement.settle(batch);

        ghost_replays++;
        if (
            applied || _credits.totalCredits() != creditsBefore || _settlement.totalUnclaimed() != unclaimedBefore
                || _settlement.nextSequence(router) != next
        ) ghost_replayChangedSomething++;
    }

    /// @dev Submits a batch that skips sequences: must revert with SequenceGap.
    function settleWithGap(uint256 routerSeed, uint256 seed, uint256 gap) external {
        address router = _routers[routerSeed % _routers.length];
        Batch memory batch = _randomBatch(seed, 2, 1);
        uint64 next = _settlement.nextSequence(router);
        batch.sequence = next + uint64(bound(gap, 1, 1_000));
        ghost_gapAttempts++;
        vm.prank(router);
        try _settlement.settle(batch) {
            ghost_appliedCount[router][batch.sequence]++; // would break the at-most-once invariant
        } catch (bytes memory reason) {
            bytes memory expected = abi.encodeWithSelector(ISettlement.SequenceGap.selector, next, batch.sequence);
            if (keccak256(reason) == keccak256(expected)) ghost_gapsRejected++;
        }
    }

    // --- earners ---

    function claim(uint256 earnerSeed) external {
        address earner = _earners[earnerSeed % _earners.length];
        if (_settlement.earningsOf(earner) == 0) return;
        vm.prank(earner);
        ghost_claimed += _settlement.claim();
    }

    function claimTo(uint256 earnerSeed, uint256 recipientSeed) external {
        address earner = _earners[earnerSeed % _earners.length];
        if (_settlement.earningsOf(earner) == 0) return;
        address to = _earners[recipientSeed % _earners.length];
        vm.prank(earner);
        ghost_claimed += _settlement.claimTo(to);
    }

    // --- governance ---

    function setShares(uint16 buybackBps, uint16 frontendBps) external {
        vm.startPrank(_governance);
        _settlement.setBuybackBps(uint16(bound(buybackBps, 0, 2_000)));
        _settlement.setFrontendBps(uint16(bound(frontendBps, 0, 2_000)));
        vm.stopPrank();
    }

    // --- views for the invariants ---

    function payers() external view returns (address[] memory) {
        return _payers;
    }

    function routers() external view returns (address[] memory) {
        return _routers;
    }

    function earners() external view returns (address[] memory) {
        return _earners;
    }

    // --- batch building ---

    /// @dev A balanced batch: `debitCount` distinct payers each debited up to their whole balance (credits
    /// pending withdrawal included: they stay debitable), the total split at random points over `lineCount`
    /// lines with random pods, nodes and frontends.
    function _randomBatch(uint256 seed, uint256 lineCount, uint256 debitCount)
        internal
        view
        returns (Batch memory batch)
    {
        batch.receiptsRoot = keccak256(abi.encode(seed, block.timestamp));
        batch.receiptCount = uint32(lineCount); // forge-lint: disable-line(unsafe-typecast)
        batch.debits = new Debit[](debitCount);
        uint256 first = seed % _payers.length;
        uint256 total;
        for (uint256 i; i < debitCount; ++i) {
            address payer = _payers[(first + i) % _payers.length];
            uint256 balance = _credits.balanceOf(payer);
            uint256 amount = balance == 0 ? 0 : uint256(keccak256(abi.encode(seed, "debit", i))) % (balance + 1);
            batch.debits[i] = Debit({payer: payer, amount: amount});
            total += amount;
        }
        batch.lines = new Line[](lineCount);
        uint256 left = total;
        for (uint256 i; i < lineCount; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, "line", i)));
            uint256 amount = i == lineCount - 1 ? left : (left == 0 ? 0 : r % (left + 1));
            left -= amount;
            batch.lines[i] = Line({
                podId: _podIds[r % _podIds.length],
                node: _nodes[(r >> 8) % _nodes.length],
                frontend: _frontends[(r >> 16) % _frontends.length],
                amount: amount,
                computeUnits: amount / 1e9
            });
        }
    }
}
