// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {VestingWallet} from "@openzeppelin/contracts/finance/VestingWallet.sol";
import {VestingWalletCliff} from "@openzeppelin/contracts/finance/VestingWalletCliff.sol";

import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {NeurinoVesting} from "../../src/NeurinoVesting.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";

contract NeurinoVestingTest is Test {
    uint64 internal constant START = 1_750_000_000;
    uint64 internal constant MONTH = 365 days / 12;

    address internal team = makeAddr("team");
    address internal investors = makeAddr("investors");
    address internal other = makeAddr("other");

    NeurinoVesting internal teamVesting;
    NeurinoVesting internal privateVesting;
    NeurinoToken internal neu;

    function setUp() public {
        vm.warp(START);
        teamVesting = new NeurinoVesting(team, START, 24 * MONTH, 3 * MONTH);
        privateVesting = new NeurinoVesting(investors, START, 24 * MONTH, 3 * MONTH);
        neu = new NeurinoToken(
            INeurinoToken.Allocation({
                earlyCommunity: other,
                initialLiquidity: other,
                marketing: other,
                privateSale: address(privateVesting),
                teamAndAdvisors: address(teamVesting),
                treasury: other,
                emission: other
            })
        );
    }

    // --- constructor and constants ---

    function test_constructor_setsSchedule() public view {
        assertEq(teamVesting.owner(), team);
        assertEq(teamVesting.start(), START);
        assertEq(teamVesting.duration(), 24 * MONTH);
        assertEq(teamVesting.cliff(), START + 3 * MONTH);
        assertEq(teamVesting.end(), START + 24 * MONTH);
        assertEq(neu.balanceOf(address(teamVesting)), 150_000_000e18);
        assertEq(neu.balanceOf(address(privateVesting)), 60_000_000e18);
    }

    function test_constants_documentedTerms() public view {
        assertEq(teamVesting.MONTH(), 2_628_000);
        assertEq(teamVesting.TEAM_CLIFF(), 3 * MONTH);
        assertEq(teamVesting.TEAM_DURATION(), 24 * MONTH);
        assertEq(teamVesting.PRIVATE_SALE_CLIFF(), 3 * MONTH);
        assertEq(teamVesting.PRIVATE_SALE_DURATION(), 24 * MONTH);
        assertEq(teamVesting.TREASURY_CLIFF(), 6 * MONTH);
        assertEq(teamVesting.TREASURY_DURATION(), 48 * MONTH);
    }

    function test_constructor_failsIfCliffLongerThanDuration() public {
        vm.expectRevert(abi.encodeWithSelector(VestingWalletCliff.InvalidCliffDuration.selector, 101, 100));
        new NeurinoVesting(team, START, 100, 101);
    }

    function test_constructor_failsIfZeroBeneficiary() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new NeurinoVesting(address(0), START, 100, 10);
    }

    // --- release ---

    function test_release_nothingBeforeCliff() public {
        vm.warp(START + 3 * MONTH - 1);
        assertEq(teamVesting.vestedAmount(address(neu), uint64(block.timestamp)), 0);
        assertEq(teamVesting.releasable(address(neu)), 0);
        teamVesting.release(address(neu));
        assertEq(neu.balanceOf(team), 0);
    }

    function test_release_atCliffPaysVestedSinceStart() public {
        vm.warp(START + 3 * MONTH);
        // 3 of 24 months: one eighth.
        assertEq(teamVesting.releasable(address(neu)), 150_000_000e18 / 8);
        vm.expectEmit(address(teamVesting));
        emit VestingWallet.ERC20Released(address(neu), 150_000_000e18 / 8);
        teamVesting.release(address(neu));
        assertEq(neu.balanceOf(team), 150_000_000e18 / 8);
        assertEq(teamVesting.released(address(neu)), 150_000_000e18 / 8);
    }

    function test_release_linearAfterCliff() public {
        vm.warp(START + 12 * MONTH);
        privateVesting.release(address(neu));
        assertEq(neu.balanceOf(investors), 30_000_000e18);
        vm.warp(START + 18 * MONTH);
        privateVesting.release(address(neu));
        assertEq(neu.balanceOf(investors), 45_000_000e18);
    }

    function test_release_everythingAtEnd() public {
        vm.warp(START + 24 * MONTH + 1);
        teamVesting.release(address(neu));
        assertEq(neu.balanceOf(team), 150_000_000e18);
        assertEq(neu.balanceOf(address(teamVesting)), 0);
        assertEq(teamVesting.releasable(address(neu)), 0);
    }

    function test_release_anyoneCallsBeneficiaryReceives() public {
        vm.warp(START + 6 * MONTH);
        uint256 callerBefore = neu.balanceOf(other);
        vm.prank(other);
        teamVesting.release(address(neu));
        assertEq(neu.balanceOf(team), 150_000_000e18 / 4);
        assertEq(neu.balanceOf(other), callerBefore);
    }

    function test_release_followsOwnershipTransfer() public {
        address newTeam = makeAddr("newTeam");
        vm.prank(team);
        teamVesting.transferOwnership(newTeam);
        vm.warp(START + 24 * MONTH);
        teamVesting.release(address(neu));
        assertEq(neu.balanceOf(newTeam), 150_000_000e18);
    }

    function test_transferOwnership_failsIfNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, other));
        vm.prank(other);
        teamVesting.transferOwnership(other);
    }

    function test_fuzz_vestedAmount_followsSchedule(uint64 elapsed) public view {
        elapsed = uint64(bound(elapsed, 0, 30 * MONTH));
        uint256 total = 150_000_000e18;
        uint256 vested = teamVesting.vestedAmount(address(neu), START + elapsed);
        if (elapsed < 3 * MONTH) assertEq(vested, 0);
        else if (elapsed >= 24 * MONTH) assertEq(vested, total);
        else assertEq(vested, total * elapsed / (24 * MONTH));
    }
}
