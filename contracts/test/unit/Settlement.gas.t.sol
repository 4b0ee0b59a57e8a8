// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Batch, Debit, Line} from "../../src/types/SettlementTypes.sol";
import {NeurinoFixture} from "../utils/NeurinoFixture.sol";

/// @notice Gas of settle() as the router uses it, written to snapshots/Settlement.json.
/// The measured batch is the second of its router (steady state: nodes, deployers and frontends already have
/// unclaimed earnings; payers keep a balance), so no storage slot goes from zero to non-zero except the
/// batch's own root and sequence.
contract SettlementGasTest is NeurinoFixture {
    uint256 internal constant JOBS = 1_000;
    uint256 internal constant PAYERS = 100;
    uint256 internal constant NODES = 20;
    uint256 internal constant PODS = 5;
    uint256 internal constant FRONTENDS = 2;

    address[PAYERS] internal payerList;
    address[NODES] internal nodeList;
    bytes32[PODS] internal podList;
    address[FRONTENDS] internal frontendList;

    function setUp() public override {
        _deployNeurino();
        for (uint256 i; i < PAYERS; ++i) {
            payerList[i] = makeAddr(string.concat("payer", vm.toString(i)));
            _depositCredits(payerList[i], 1_000e18);
        }
        for (uint256 i; i < NODES; ++i) {
            nodeList[i] = makeAddr(string.concat("node", vm.toString(i)));
        }
        for (uint256 i; i < PODS; ++i) {
            podList[i] = keccak256(abi.encode("pod", i));
            // forge-lint: disable-next-line(unsafe-typecast)
            _registerPod(makeAddr(string.concat("deployer", vm.toString(i))), podList[i], uint16(500 * i));
        }
        for (uint256 i; i < FRONTENDS; ++i) {
            frontendList[i] = makeAddr(string.concat("frontend", vm.toString(i)));
        }
    }

    /// @dev 1,000 jobs: job j is paid by payer j % 100, runs pod j % 5 on node (j / 5) % 20 through frontend
    /// (j / 100) % 2 at a price that varies per job. The router aggregates them per payer (100 debits) and
    /// per (pod, node, frontend) (200 lines of 5 jobs each, sorted by pod).
    function _bigBatch(uint64 sequence) internal view returns (Batch memory batch) {
        uint256[PAYERS] memory debited;
        uint256[PODS][NODES][FRONTENDS] memory lineAmounts;
        for (uint256 j; j < JOBS; ++j) {
            uint256 price = 1e15 + j * 1e12 + sequence;
            debited[j % PAYERS] += price;
            lineAmounts[(j / 100) % FRONTENDS][(j / 5) % NODES][j % PODS] += price;
        }
        batch.sequence = sequence;
        batch.receiptsRoot = keccak256(abi.encode("receipts", sequence));
        batch.receiptCount = uint32(JOBS); // forge-lint: disable-line(unsafe-typecast)
        batch.debits = new Debit[](PAYERS);
        for (uint256 i; i < PAYERS; ++i) {
            batch.debits[i] = Debit({payer: payerList[i], amount: debited[i]});
        }
        batch.lines = new Line[](PODS * NODES * FRONTENDS);
        uint256 k;
        for (uint256 p; p < PODS; ++p) {
            for (uint256 n; n < NODES; ++n) {
                for (uint256 f; f < FRONTENDS; ++f) {
                    uint256 amount = lineAmounts[f][n][p];
                    batch.lines[k++] = Line({
                        podId: podList[p],
                        node: nodeList[n],
                        frontend: frontendList[f],
                        amount: amount,
                        computeUnits: amount / 1e9
                    });
                }
            }
        }
    }

    function test_gas_settle1000Jobs() public {
        Batch memory warmUp = _bigBatch(0);
        Batch memory batch = _bigBatch(1);
        vm.startPrank(router);
        settlement.settle(warmUp);
        assertTrue(settlement.settle(batch));
        vm.snapshotGasLastCall("Settlement", "settle_1000_jobs");
        vm.stopPrank();
        assertEq(settlement.nextSequence(router), 2);
    }

    function test_gas_settle1000JobsFirstBatch() public {
        Batch memory batch = _bigBatch(0);
        vm.prank(router);
        assertTrue(settlement.settle(batch));
        vm.snapshotGasLastCall("Settlement", "settle_1000_jobs_first_batch");
    }

    function test_gas_settle1Job() public {
        Batch memory warmUp = _batch1(0, payerList[0], podList[1], nodeList[0], frontendList[0], 1e15);
        Batch memory batch = _batch1(1, payerList[0], podList[1], nodeList[0], frontendList[0], 2e15);
        vm.startPrank(router);
        settlement.settle(warmUp);
        assertTrue(settlement.settle(batch));
        vm.snapshotGasLastCall("Settlement", "settle_1_job");
        vm.stopPrank();
    }
}
