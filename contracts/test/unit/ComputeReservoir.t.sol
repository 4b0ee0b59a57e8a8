// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ComputeReservoir} from "../../src/ComputeReservoir.sol";
import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {StakedNeurino} from "../../src/StakedNeurino.sol";
import {IComputeReservoir} from "../../src/interfaces/IComputeReservoir.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";
import {IStakedNeurino} from "../../src/interfaces/IStakedNeurino.sol";

contract ComputeReservoirTest is Test {
    bytes32 internal constant GRANT = "GRANT";

    address internal governance = makeAddr("governance");
    address internal holder = makeAddr("holder");
    address internal grantee = makeAddr("grantee");
    address internal alice = makeAddr("alice");

    ComputeReservoir internal reservoir;
    NeurinoToken internal neu;
    StakedNeurino internal staked;

    function setUp() public {
        neu = new NeurinoToken(
            INeurinoToken.Allocation({
                earlyCommunity: holder,
                initialLiquidity: holder,
                marketing: holder,
                privateSale: holder,
                teamAndAdvisors: holder,
                treasury: holder,
                emission: holder
            })
        );
        reservoir = new ComputeReservoir(neu, governance);
        staked = new StakedNeurino(neu, governance);
        // Unemitted NEU and slashed stake arrive by plain transfers.
        vm.prank(holder);
        require(neu.transfer(address(reservoir), 1_000e18));
    }

    function test_constructor_setsState() public view {
        assertEq(address(reservoir.neu()), address(neu));
        assertTrue(reservoir.hasRole(reservoir.DEFAULT_ADMIN_ROLE(), governance));
        assertEq(reservoir.balance(), 1_000e18);
        assertEq(reservoir.totalSpent(), 0);
    }

    function test_constructor_failsIfZeroNeu() public {
        vm.expectRevert(IComputeReservoir.ZeroAddress.selector);
        new ComputeReservoir(IERC20(address(0)), governance);
    }

    function test_constructor_failsIfZeroGovernance() public {
        vm.expectRevert(IComputeReservoir.ZeroAddress.selector);
        new ComputeReservoir(neu, address(0));
    }

    function test_receive_byPlainTransfer() public {
        vm.prank(holder);
        require(neu.transfer(address(reservoir), 5e18));
        assertEq(reservoir.balance(), 1_005e18);
    }

    // --- spend ---

    function test_spend_sendsAndTracks() public {
        vm.expectEmit(address(reservoir));
        emit IComputeReservoir.Spent(grantee, 100e18, GRANT);
        vm.prank(governance);
        reservoir.spend(grantee, 100e18, GRANT);
        assertEq(neu.balanceOf(grantee), 100e18);
        assertEq(reservoir.balance(), 900e18);
        assertEq(reservoir.totalSpent(), 100e18);
    }

    function test_spend_failsIfNotGovernance() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, alice, reservoir.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(alice);
        reservoir.spend(alice, 1, GRANT);
    }

    function test_spend_failsIfZeroAddress() public {
        vm.expectRevert(IComputeReservoir.ZeroAddress.selector);
        vm.prank(governance);
        reservoir.spend(address(0), 1, GRANT);
    }

    function test_spend_failsIfZeroAmount() public {
        vm.expectRevert(IComputeReservoir.ZeroAmount.selector);
        vm.prank(governance);
        reservoir.spend(grantee, 0, GRANT);
    }

    function test_spend_failsIfInsufficientBalance() public {
        vm.expectRevert(abi.encodeWithSelector(IComputeReservoir.InsufficientBalance.selector, 1_001e18, 1_000e18));
        vm.prank(governance);
        reservoir.spend(grantee, 1_001e18, GRANT);
    }

    // --- rewardStakers ---

    function test_rewardStakers_raisesStakedRate() public {
        bytes32 role = staked.REWARDER_ROLE();
        vm.prank(governance);
        staked.grantRole(role, address(reservoir));
        vm.startPrank(holder);
        neu.approve(address(staked), 100e18);
        uint256 shares = staked.deposit(100e18, holder);
        vm.stopPrank();

        vm.expectEmit(address(reservoir));
        emit IComputeReservoir.StakersRewarded(address(staked), 50e18);
        vm.prank(governance);
        reservoir.rewardStakers(IStakedNeurino(address(staked)), 50e18);

        assertEq(staked.totalAssets(), 150e18);
        assertApproxEqAbs(staked.convertToAssets(shares), 150e18, 1);
        assertEq(reservoir.balance(), 950e18);
        assertEq(reservoir.totalSpent(), 50e18);
        assertEq(neu.allowance(address(reservoir), address(staked)), 0);
    }

    function test_rewardStakers_failsIfNotGovernance() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, alice, reservoir.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(alice);
        reservoir.rewardStakers(IStakedNeurino(address(staked)), 1);
    }

    function test_rewardStakers_failsIfZeroAddress() public {
        vm.expectRevert(IComputeReservoir.ZeroAddress.selector);
        vm.prank(governance);
        reservoir.rewardStakers(IStakedNeurino(address(0)), 1);
    }

    function test_rewardStakers_failsIfZeroAmount() public {
        vm.expectRevert(IComputeReservoir.ZeroAmount.selector);
        vm.prank(governance);
        reservoir.rewardStakers(IStakedNeurino(address(staked)), 0);
    }

    function test_rewardStakers_failsIfInsufficientBalance() public {
        vm.expectRevert(abi.encodeWithSelector(IComputeReservoir.InsufficientBalance.selector, 1_001e18, 1_000e18));
        vm.prank(governance);
        reservoir.rewardStakers(IStakedNeurino(address(staked)), 1_001e18);
    }

    function test_rewardStakers_failsIfReservoirNotRewarder() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, address(reservoir), staked.REWARDER_ROLE()
            )
        );
        vm.prank(governance);
        reservoir.rewardStakers(IStakedNeurino(address(staked)), 1e18);
    }

    function test_fuzz_spend_conservesTotal(uint256 amount) public {
        amount = bound(amount, 1, 1_000e18);
        vm.prank(governance);
        reservoir.spend(grantee, amount, GRANT);
        assertEq(reservoir.balance() + reservoir.totalSpent(), 1_000e18);
    }
}
