// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Batch} from "../types/SettlementTypes.sol";
import {IComputeCredits} from "./IComputeCredits.sol";
import {IPodRegistry} from "./IPodRegistry.sol";
import {IStakedNeurino} from "./IStakedNeurino.sol";

/// @title Batched settlement with revenue split
/// @notice A router settles the jobs it metered in batches: one transaction per batch debits the payers'
/// compute credits, splits each line's payment between the compute node, the pod deployer, the frontend and
/// a buyback share that goes to stNEU stakers as rewards, and records the Merkle root of the batch's
/// receipts. Batches carry a per-router sequence number, so resubmitting a settled batch is a no-op.
/// Parties collect what they earned from a ledger with claim().
interface ISettlement {
    // --- errors ---

    /// @notice A zero address was given where an account or contract is required.
    error ZeroAddress();

    /// @notice A fee of `bps` basis points exceeds the cap of `maxBps`.
    error FeeTooHigh(uint16 bps, uint16 maxBps);

    /// @notice The batch's sequence number `got` skips ahead of the router's next sequence `expected`.
    error SequenceGap(uint64 expected, uint64 got);

    /// @notice The batch has no debits or no lines.
    error EmptyBatch();

    /// @notice Line `index` of the batch names no compute node.
    error ZeroNode(uint256 index);

    /// @notice The batch debits `debited` NEU from payers but credits `credited` NEU to parties.
    error UnbalancedBatch(uint256 debited, uint256 credited);

    /// @notice `account` has no earnings to claim.
    error NothingToClaim(address account);

    // --- events ---

    /// @notice `router` applied batch `sequence`: `total` NEU debited and split, `buyback` of it sent to stNEU.
    event BatchSettled(
        address indexed router,
        uint64 indexed sequence,
        bytes32 receiptsRoot,
        uint32 receiptCount,
        uint256 total,
        uint256 buyback
    );

    /// @notice `router` resubmitted batch `sequence`, which was already applied; nothing changed.
    event BatchAlreadySettled(address indexed router, uint64 indexed sequence);

    /// @notice `account` claimed `amount` NEU of earnings, paid to `to`.
    event Claimed(address indexed account, address indexed to, uint256 amount);

    /// @notice Governance changed the buyback share from `previousBps` to `newBps`.
    event BuybackBpsUpdated(uint16 previousBps, uint16 newBps);

    /// @notice Governance changed the frontend share from `previousBps` to `newBps`.
    event FrontendBpsUpdated(uint16 previousBps, uint16 newBps);

    // --- router ---

    /// @notice Applies a batch of metered jobs, exactly once per (router, sequence).
    /// @dev Only ROUTER_ROLE; sequences are counted per calling router. `batch.sequence` below the router's
    /// next sequence: returns false and changes nothing (a batch resubmitted after a crash). Above: reverts
    /// SequenceGap. Equal: debits `batch.debits` from ComputeCredits (reverts InsufficientCredits), splits
    /// each line (deployer = amount * deployerShareBps / 10_000 from PodRegistry.revenueTerms, frontend =
    /// amount * frontendBps / 10_000 when a frontend is named, buyback = amount * buybackBps / 10_000, the
    /// node takes the exact remainder), credits the earnings ledger, sends the summed buyback to stNEU via
    /// addRewards, stores the receipts root and returns true. The debits must sum to the lines' amounts.
    /// Sort lines by pod: pod terms are read once per run of equal pod ids.
    /// @param batch The batch: sequence, receipts root and count, debits and lines.
    /// @return applied Whether the batch was applied now (false if it had been applied before).
    function settle(Batch calldata batch) external returns (bool applied);

    // --- parties ---

    /// @notice Pays the caller all its earnings.
    /// @return amount The NEU paid.
    function claim() external returns (uint256 amount);

    /// @notice Pays all the caller's earnings to `to`.
    /// @param to Receives the NEU; non-zero (e.g. a node key paying its operator).
    /// @return amount The NEU paid.
    function claimTo(address to) external returns (uint256 amount);

    // --- governance ---

    /// @notice Sets the share of each payment sent to stNEU as buyback rewards (at most MAX_FEE_BPS).
    /// @dev Only DEFAULT_ADMIN_ROLE. Applies to batches settled from now on.
    /// @param newBps The share in basis points.
    function setBuybackBps(uint16 newBps) external;

    /// @notice Sets the share of each payment paid to the frontend it came through (at most MAX_FEE_BPS).
    /// @dev Only DEFAULT_ADMIN_ROLE. Applies to batches settled from now on.
    /// @param newBps The share in basis points.
    function setFrontendBps(uint16 newBps) external;

    // --- views ---

    /// @notice Role of the routers allowed to settle batches.
    function ROUTER_ROLE() external view returns (bytes32);

    /// @notice Upper bound of the buyback and frontend shares, in basis points (2_000).
    function MAX_FEE_BPS() external view returns (uint16);

    /// @notice The next sequence number `router` must settle (0 before its first batch).
    /// @param router The router.
    /// @return The sequence its next batch must carry.
    function nextSequence(address router) external view returns (uint64);

    /// @notice The receipts root of `router`'s batch `sequence` (zero if not applied).
    /// @param router The router.
    /// @param sequence The batch's sequence number.
    /// @return The Merkle root of the batch's receipts.
    function batchRoot(address router, uint64 sequence) external view returns (bytes32);

    /// @notice Unclaimed earnings of `account` (node, pod deployer or frontend), in NEU wei.
    /// @param account The account.
    /// @return The NEU claim() would pay it.
    function earningsOf(address account) external view returns (uint256);

    /// @notice Sum of all unclaimed earnings; equals the NEU this contract holds (donations aside).
    function totalUnclaimed() external view returns (uint256);

    /// @notice Share of each payment sent to stNEU, in basis points.
    function buybackBps() external view returns (uint16);

    /// @notice Share of each payment paid to its frontend, in basis points.
    function frontendBps() external view returns (uint16);

    /// @notice The NEU token.
    function neu() external view returns (IERC20);

    /// @notice The compute credits this contract debits.
    function credits() external view returns (IComputeCredits);

    /// @notice The pod registry that gives each pod's deployer and share.
    function pods() external view returns (IPodRegistry);

    /// @notice The stNEU vault that receives the buyback share.
    function stakedNeu() external view returns (IStakedNeurino);
}
