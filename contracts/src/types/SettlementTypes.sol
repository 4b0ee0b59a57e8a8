// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice One payer's share of a settlement batch: `amount` NEU of compute credits to debit.
/// @dev The router aggregates a batch's receipts per payer, so a payer appears once per batch.
struct Debit {
    address payer;
    uint256 amount;
}

/// @notice The receipts of one (pod, node, frontend) triple in a batch, aggregated by the router.
/// @param podId The pod that ran the jobs (its PodRegistry id).
/// @param node The compute node that ran them (its key address, never zero).
/// @param frontend The frontend the jobs came through, or zero for none.
/// @param amount NEU charged for these jobs, split between node, deployer, frontend and buyback.
/// @param computeUnits Compute units the jobs used (GPU milliseconds x VRAM GiB); recorded, not priced here.
struct Line {
    bytes32 podId;
    address node;
    address frontend;
    uint256 amount;
    uint256 computeUnits;
}

/// @notice A batch of settled receipts from one router, applied exactly once under its sequence number.
/// @param sequence The router's batch counter, starting at 0 and increasing by one per applied batch.
/// @param receiptsRoot Merkle root of the batch's receipt hashes (validators prove jobs against it).
/// @param receiptCount Number of receipts under `receiptsRoot`.
/// @param debits Who pays: sums to the same total as `lines`.
/// @param lines Who is paid: sorted by pod so that pod terms are read once per pod.
struct Batch {
    uint64 sequence;
    bytes32 receiptsRoot;
    uint32 receiptCount;
    Debit[] debits;
    Line[] lines;
}
