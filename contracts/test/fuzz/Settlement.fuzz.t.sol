// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ISettlement} from "../../src/interfaces/ISettlement.sol";
import {Batch, Debit, Line} from "../../src/types/SettlementTypes.sol";
import {NeurinoFixture} from "../utils/NeurinoFixture.sol";

contract SettlementFuzzTest is NeurinoFixture {
    uint256 internal constant CREDITS = 1e26;
    bytes32[3] internal podIds = [keccak256("pod0"), keccak256("pod1"), keccak256("pod2")];
    address[3] internal deployers = [makeAddr("deployer0"), makeAddr("deployer1"), makeAddr("deployer2")];
    address[4] internal nodeKeys = [makeAddr("node0"), makeAddr("node1"), makeAddr("node2"), makeAddr("node3")];
    address[3] internal frontends = [makeAddr("frontend0"), makeAddr("frontend1"), address(0)];
    address[3] internal payers = [makeAddr("payer0"), makeAddr("payer1"), makeAddr("payer2")];
    address internal lonePod = makeAddr("lonePodDeployer");

    function setUp() public override {
        _deployNeurino();
        vm.prank(governance);
        pods.setMaxDeployerShareBps(5_000);
        for (uint256 i; i < 3; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            _registerPod(deployers[i], podIds[i], uint16(i * 2_500)); // 0 %, 25 %, 50 %
            _depositCredits(payers[i], CREDITS / 3);
        }
    }

    /// @dev Sum of the earnings of every party the fuzzed batches can pay.
    function _allEarnings() internal view returns (uint256 sum) {
        for (uint256 i; i < 3; ++i) {
            sum += settlement.earningsOf(deployers[i]) + settlement.earningsOf(frontends[i]);
        }
        for (uint256 i; i < 4; ++i) {
            sum += settlement.earningsOf(nodeKeys[i]);
        }
        sum += settlement.earningsOf(lonePod);
    }

    function test_fuzz_split_balancesExactly(
        uint256 amount,
        uint16 deployerBps,
        uint16 buybackBps,
        uint16 frontendBps,
        bool withFrontend
    ) public {
        amount = bound(amount, 0, CREDITS / 3);
        deployerBps = uint16(bound(deployerBps, 0, 5_000));
        buybackBps = uint16(bound(buybackBps, 0, 2_000));
        frontendBps = uint16(bound(frontendBps, 0, 2_000));
        bytes32 podId = keccak256("lone");
        _registerPod(lonePod, podId, deployerBps);
        vm.startPrank(governance);
        settlement.setBuybackBps(buybackBps);
        settlement.setFrontendBps(frontendBps);
        vm.stopPrank();
        address frontend = withFrontend ? frontends[0] : address(0);
        uint256 stakedBefore = stakedNeu.totalAssets();

        vm.prank(router);
        settlement.settle(_batch1(0, payers[0], podId, nodeKeys[0], frontend, amount));

        uint256 toDeployer = amount * deployerBps / 10_000;
        uint256 toFrontend = withFrontend ? amount * frontendBps / 10_000 : 0;
        uint256 toBuyback = amount * buybackBps / 10_000;
        assertEq(settlement.earningsOf(lonePod), toDeployer);
        assertEq(settlement.earningsOf(frontends[0]), toFrontend);
        assertEq(stakedNeu.totalAssets() - stakedBefore, toBuyback);
        assertEq(settlement.earningsOf(nodeKeys[0]), amount - toDeployer - toFrontend - toBuyback);
        assertEq(_allEarnings() + toBuyback, amount, "split does not add up");
        assertEq(neu.balanceOf(address(settlement)), amount - toBuyback);
    }

    function test_fuzz_settle_randomBatchConservesNeu(uint256 seed, uint8 lineCount, uint8 debitCount) public {
        Batch memory batch = _randomBatch(seed, bound(lineCount, 1, 12), bound(debitCount, 1, 3));
        uint256 total;
        for (uint256 i; i < batch.debits.length; ++i) {
            total += batch.debits[i].amount;
        }
        uint256 creditsBefore = credits.totalCredits();
        uint256 stakedBefore = neu.balanceOf(address(stakedNeu));

        vm.prank(router);
        assertTrue(settlement.settle(batch));

        uint256 buyback = neu.balanceOf(address(stakedNeu)) - stakedBefore;
        assertEq(creditsBefore - credits.totalCredits(), total, "debited");
        assertEq(_allEarnings() + buyback, total, "credited");
        assertEq(settlement.totalUnclaimed(), total - buyback);
        assertEq(neu.balanceOf(address(settlement)), settlement.totalUnclaimed());
        assertEq(neu.balanceOf(address(credits)), credits.totalCredits());
        uint256 expectedBuyback;
        for (uint256 i; i < batch.lines.length; ++i) {
            expectedBuyback += batch.lines[i].amount * BUYBACK_BPS / 10_000;
        }
        assertEq(buyback, expectedBuyback);

        // The same batch again is a no-op.
        vm.prank(router);
        assertFalse(settlement.settle(batch));
        assertEq(creditsBefore - credits.totalCredits(), total);
    }

    function test_fuzz_settle_unbalancedBatchReverts(uint256 seed, uint8 lineCount, uint256 delta, bool more) public {
        Batch memory batch = _randomBatch(seed, bound(lineCount, 1, 12), 2);
        uint256 debited = batch.debits[0].amount + batch.debits[1].amount;
        delta = bound(delta, 1, 1e24);
        uint256 last = batch.lines.length - 1;
        if (!more && batch.lines[last].amount < delta) delta = batch.lines[last].amount;
        vm.assume(delta > 0);
        batch.lines[last].amount = more ? batch.lines[last].amount + delta : batch.lines[last].amount - delta;
        uint256 credited = more ? debited + delta : debited - delta;

        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(ISettlement.UnbalancedBatch.selector, debited, credited));
        settlement.settle(batch);
    }

    function test_fuzz_settle_sequenceRules(uint64 applied, uint64 submitted) public {
        applied = uint64(bound(applied, 1, 5));
        for (uint64 s; s < applied; ++s) {
            vm.prank(router);
            settlement.settle(_batch1(s, payers[0], podIds[1], nodeKeys[1], address(0), 1e18));
        }
        uint256 before = credits.balanceOf(payers[0]);
        Batch memory batch = _batch1(submitted, payers[0], podIds[1], nodeKeys[1], address(0), 1e18);
        vm.prank(router);
        if (submitted < applied) {
            assertFalse(settlement.settle(batch));
            assertEq(credits.balanceOf(payers[0]), before);
        } else if (submitted > applied) {
            vm.expectRevert(abi.encodeWithSelector(ISettlement.SequenceGap.selector, applied, submitted));
            settlement.settle(batch);
        } else {
            assertTrue(settlement.settle(batch));
            assertEq(credits.balanceOf(payers[0]), before - 1e18);
        }
    }

    /// @dev A balanced batch with `debitCount` payers and `lineCount` lines over random pods, nodes and
    /// frontends; amounts up to 1e24 per payer, split at random points across the lines.
    function _randomBatch(uint256 seed, uint256 lineCount, uint256 debitCount)
        internal
        view
        returns (Batch memory batch)
    {
        batch.receiptsRoot = keccak256(abi.encode(seed));
        batch.receiptCount = uint32(lineCount); // forge-lint: disable-line(unsafe-typecast)
        batch.debits = new Debit[](debitCount);
        uint256 total;
        for (uint256 i; i < debitCount; ++i) {
            uint256 amount = uint256(keccak256(abi.encode(seed, "debit", i))) % 1e24;
            batch.debits[i] = Debit({payer: payers[i], amount: amount});
            total += amount;
        }
        batch.lines = new Line[](lineCount);
        uint256 left = total;
        for (uint256 i; i < lineCount; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, "line", i)));
            uint256 amount = i == lineCount - 1 ? left : (left == 0 ? 0 : r % (left + 1));
            left -= amount;
            batch.lines[i] = _line(podIds[r % 3], nodeKeys[(r >> 8) % 4], frontends[(r >> 16) % 3], amount);
        }
    }
}
