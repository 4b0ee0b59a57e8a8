// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Batch, Debit, Line} from "../../src/types/SettlementTypes.sol";
import {NeurinoFixture} from "../utils/NeurinoFixture.sol";

/// @notice The protocol with three pods (20 %, 5 % and 0 % deployer shares), two registered nodes, a frontend
/// and two payers holding 1,000 NEU of credits each, plus batch helpers for the Settlement unit tests.
abstract contract SettlementFixture is NeurinoFixture {
    bytes32 internal constant POD_A = keccak256("pod-a");
    bytes32 internal constant POD_B = keccak256("pod-b");
    bytes32 internal constant POD_C = keccak256("pod-c");

    address internal deployerA = makeAddr("deployerA");
    address internal deployerB = makeAddr("deployerB");
    address internal node1 = makeAddr("node1");
    address internal node2 = makeAddr("node2");
    address internal frontend1 = makeAddr("frontend1");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal staker = makeAddr("staker");

    function setUp() public override {
        _deployNeurino();
        _registerPod(deployerA, POD_A, 2_000);
        _registerPod(deployerB, POD_B, 500);
        _registerPod(deployerB, POD_C, 0);
        _registerNode(node1);
        _registerNode(node2);
        _depositCredits(alice, 1_000e18);
        _depositCredits(bob, 1_000e18);
    }

    function _settle(Batch memory batch) internal returns (bool) {
        vm.prank(router);
        return settlement.settle(batch);
    }

    /// @dev Three lines over two pods and two nodes paid by two payers (total 300e18).
    function _mixedBatch(uint64 sequence) internal view returns (Batch memory batch) {
        batch.sequence = sequence;
        batch.receiptsRoot = keccak256(abi.encode("mixed", sequence));
        batch.receiptCount = 7;
        batch.debits = new Debit[](2);
        batch.debits[0] = Debit({payer: alice, amount: 120e18});
        batch.debits[1] = Debit({payer: bob, amount: 180e18});
        batch.lines = new Line[](3);
        batch.lines[0] = _line(POD_A, node1, frontend1, 100e18);
        batch.lines[1] = _line(POD_A, node2, address(0), 100e18);
        batch.lines[2] = _line(POD_B, node1, frontend1, 100e18);
    }
}
