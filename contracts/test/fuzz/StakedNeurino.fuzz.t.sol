// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {StakedNeurino} from "../../src/StakedNeurino.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";

/// @notice Property fuzz tests of the stNEU vault's rounding and exchange rate.
contract StakedNeurinoFuzzTest is Test {
    uint256 internal constant V = 1e6; // virtual shares
    uint256 internal constant MAX = 100_000_000e18; // per-actor NEU budget

    address internal governance = makeAddr("governance");
    address internal holder = makeAddr("holder");
    address internal rewarder = makeAddr("rewarder");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    NeurinoToken internal neu;
    StakedNeurino internal vault;

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
        vault = new StakedNeurino(neu, governance);
        bytes32 role = vault.REWARDER_ROLE();
        vm.prank(governance);
        vault.grantRole(role, rewarder);
        address[3] memory accounts = [alice, bob, rewarder];
        for (uint256 i; i < accounts.length; ++i) {
            vm.prank(holder);
            require(neu.transfer(accounts[i], MAX * 3));
            vm.prank(accounts[i]);
            neu.approve(address(vault), type(uint256).max);
        }
    }

    // --- helpers ---

    /// @dev Puts the vault in a state with Bob's stake and some rewards (both may be zero).
    function _seed(uint256 bobAssets, uint256 rewards) internal {
        bobAssets = bound(bobAssets, 0, MAX);
        rewards = bound(rewards, 0, MAX);
        if (bobAssets > 0) {
            vm.prank(bob);
            vault.deposit(bobAssets, bob);
        }
        if (rewards > 0) {
            vm.prank(rewarder);
            vault.addRewards(rewards);
        }
    }

    /// @dev The exchange rate as a fraction (numerator, denominator) = (totalAssets + 1, totalSupply + 10**6).
    function _rate() internal view returns (uint256 num, uint256 den) {
        return (vault.totalAssets() + 1, vault.totalSupply() + V);
    }

    function _rateNotBelow(uint256 num0, uint256 den0) internal view returns (bool) {
        (uint256 num1, uint256 den1) = _rate();
        return num1 * den0 >= num0 * den1;
    }

    function _sharePriceCeil() internal view returns (uint256) {
        (uint256 num, uint256 den) = _rate();
        return Math.ceilDiv(num, den);
    }

    // --- deposit / mint / previews ---

    function test_fuzz_deposit_roundsInVaultsFavour(uint256 bobAssets, uint256 rewards, uint256 assets) public {
        _seed(bobAssets, rewards);
        assets = bound(assets, 1, MAX);
        uint256 preview = vault.previewDeposit(assets);
        vm.assume(preview > 0);
        (uint256 num0, uint256 den0) = _rate();

        vm.prank(alice);
        uint256 shares = vault.deposit(assets, alice);

        assertEq(shares, preview, "deposit == previewDeposit");
        assertLe(vault.convertToAssets(shares), assets, "shares never worth more than paid");
        assertLe(shares * num0, assets * den0, "shares rounded down at the old rate");
        assertTrue(_rateNotBelow(num0, den0), "rate did not fall");
    }

    function test_fuzz_mint_roundsInVaultsFavour(uint256 bobAssets, uint256 rewards, uint256 shares) public {
        _seed(bobAssets, rewards);
        shares = bound(shares, 1, vault.convertToShares(MAX));
        vm.assume(shares > 0);
        uint256 preview = vault.previewMint(shares);
        (uint256 num0, uint256 den0) = _rate();

        vm.prank(alice);
        uint256 assets = vault.mint(shares, alice);

        assertEq(assets, preview, "mint == previewMint");
        assertGe(assets * den0, shares * num0, "assets rounded up at the old rate");
        assertLe(vault.convertToAssets(shares), assets, "minted shares never worth more than paid");
        assertTrue(_rateNotBelow(num0, den0), "rate did not fall");
    }

    function test_fuzz_previews_roundInVaultsFavour(uint256 bobAssets, uint256 rewards, uint256 amount) public {
        _seed(bobAssets, rewards);
        amount = bound(amount, 0, MAX * 1e6);
        assertLe(vault.previewDeposit(amount), vault.convertToShares(amount));
        assertGe(vault.previewMint(amount), vault.convertToAssets(amount));
        assertGe(vault.previewWithdraw(amount), vault.convertToShares(amount));
        assertLe(vault.previewRedeem(amount), vault.convertToAssets(amount));
        // Buying shares and valuing them back never shows a profit.
        assertLe(vault.convertToAssets(vault.previewDeposit(amount)), amount);
        assertGe(vault.previewMint(vault.convertToShares(amount)), vault.convertToAssets(vault.convertToShares(amount)));
    }

    // --- withdrawal queue ---

    function test_fuzz_depositThenClaim_noRoundTripProfit(uint256 bobAssets, uint256 rewards, uint256 assets)
        public
    {
        _seed(bobAssets, rewards);
        assets = bound(assets, 1, MAX);
        vm.assume(vault.previewDeposit(assets) > 0);
        uint256 before = neu.balanceOf(alice);

        vm.startPrank(alice);
        uint256 shares = vault.deposit(assets, alice);
        vm.assume(vault.previewRedeem(shares) > 0);
        uint256 id = vault.requestRedeem(shares);
        vm.warp(block.timestamp + 365 days);
        uint256 paid = vault.claim(id);
        vm.stopPrank();

        assertLe(paid, assets, "no deposit -> redeem profit");
        assertLe(neu.balanceOf(alice), before, "alice ends with no more NEU");
        // The rounding loss is at most one share's price plus one wei.
        assertGe(paid + _sharePriceCeil() + 1, assets, "loss bounded by rounding");
    }

    function test_fuzz_requestClaim_neverPaysMoreThanDepositPlusRewardShare(
        uint256 bobAssets,
        uint256 assets,
        uint256 rewardBefore,
        uint256 rewardAfter,
        uint256 fraction
    ) public {
        _seed(bobAssets, 0);
        assets = bound(assets, 1, MAX);
        rewardBefore = bound(rewardBefore, 0, MAX);
        rewardAfter = bound(rewardAfter, 0, MAX);
        fraction = bound(fraction, 1, 10_000);
        vm.assume(vault.previewDeposit(assets) > 0);

        vm.prank(alice);
        uint256 shares = vault.deposit(assets, alice);
        // Alice's share of a reward is at most reward * shares / (supply + virtual shares), rounded up.
        uint256 rewardShare;
        if (rewardBefore > 0) {
            rewardShare = Math.mulDiv(rewardBefore, shares, vault.totalSupply() + V, Math.Rounding.Ceil);
            vm.prank(rewarder);
            vault.addRewards(rewardBefore);
        }
        uint256 requested = Math.mulDiv(shares, fraction, 10_000);
        vm.assume(requested > 0 && vault.previewRedeem(requested) > 0);
        uint256 entitled = Math.mulDiv(assets + rewardShare, requested, shares, Math.Rounding.Ceil);

        vm.prank(alice);
        uint256 id = vault.requestRedeem(requested);
        // Rewards after the request do not raise what the request pays.
        if (rewardAfter > 0) {
            vm.prank(rewarder);
            vault.addRewards(rewardAfter);
        }
        vm.warp(block.timestamp + 365 days);
        vm.prank(alice);
        uint256 paid = vault.claim(id);

        assertLe(paid, entitled, "paid <= deposit + reward share, pro rata");
        assertEq(paid, vault.withdrawalRequest(id).assetsAtRequest, "paid the value fixed at request");
        assertLe(vault.convertToAssets(vault.totalSupply()), vault.totalAssets(), "remaining shares covered");
        assertGe(neu.balanceOf(address(vault)), vault.totalAssets(), "balance covers assets");
    }

    // --- exchange rate ---

    function test_fuzz_rate_risesWithRewards(uint256 bobAssets, uint256 rewards, uint256 reward) public {
        _seed(bobAssets, rewards);
        reward = bound(reward, 1, MAX);
        (uint256 num0, uint256 den0) = _rate();
        vm.prank(rewarder);
        vault.addRewards(reward);
        (uint256 num1, uint256 den1) = _rate();
        assertEq(den1, den0, "rewards mint no shares");
        assertEq(num1, num0 + reward, "rewards add exactly to the assets");
        assertGt(num1 * den0, num0 * den1, "rate strictly up");
    }

    function test_fuzz_rate_neverFallsOverOperations(uint256 seed, uint256[8] memory amounts) public {
        _seed(seed, 0);
        for (uint256 i; i < amounts.length; ++i) {
            (uint256 num0, uint256 den0) = _rate();
            uint256 op = uint256(keccak256(abi.encode(seed, i))) % 5;
            uint256 amount = bound(amounts[i], 1, MAX / 8);
            if (op == 0 && vault.previewDeposit(amount) > 0) {
                vm.prank(alice);
                vault.deposit(amount, alice);
            } else if (op == 1) {
                uint256 shares = bound(amounts[i], 1, vault.convertToShares(MAX / 8) + 1);
                vm.prank(alice);
                vault.mint(shares, alice);
            } else if (op == 2) {
                uint256 balance = vault.balanceOf(alice);
                uint256 shares = balance == 0 ? 0 : bound(amounts[i], 1, balance);
                if (shares > 0 && vault.previewRedeem(shares) > 0) {
                    vm.prank(alice);
                    vault.requestRedeem(shares);
                }
            } else if (op == 3) {
                uint256 id = vault.nextRequestId() - 1;
                vm.warp(block.timestamp + 365 days);
                if (id > 0 && !vault.withdrawalRequest(id).claimed) {
                    vm.prank(alice);
                    vault.claim(id);
                }
            } else {
                // A donation: the balance grows, the rate does not move.
                vm.prank(bob);
                require(neu.transfer(address(vault), amount));
                (uint256 num1, uint256 den1) = _rate();
                assertEq(num1, num0);
                assertEq(den1, den0);
            }
            assertTrue(_rateNotBelow(num0, den0), "rate never falls");
            assertLe(vault.convertToAssets(vault.totalSupply()), vault.totalAssets(), "shares covered");
        }
    }
}
