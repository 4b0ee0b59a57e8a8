// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {StakedNeurino} from "../../src/StakedNeurino.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";
import {IStakedNeurino} from "../../src/interfaces/IStakedNeurino.sol";

contract StakedNeurinoTest is Test {
    uint256 internal constant V = 1e6; // virtual shares (10 ** decimals offset)

    address internal governance = makeAddr("governance");
    address internal holder = makeAddr("holder");
    address internal rewarder = makeAddr("rewarder");
    address internal alice;
    uint256 internal aliceKey;
    address internal bob = makeAddr("bob");

    NeurinoToken internal neu;
    StakedNeurino internal vault;

    function setUp() public {
        (alice, aliceKey) = makeAddrAndKey("alice");
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

        _fund(alice, 1_000_000e18);
        _fund(bob, 1_000_000e18);
        _fund(rewarder, 1_000_000e18);
        vm.prank(alice);
        neu.approve(address(vault), type(uint256).max);
        vm.prank(bob);
        neu.approve(address(vault), type(uint256).max);
        vm.prank(rewarder);
        neu.approve(address(vault), type(uint256).max);
    }

    function _fund(address to, uint256 amount) internal {
        vm.prank(holder);
        require(neu.transfer(to, amount));
    }

    function _deposit(address who, uint256 assets) internal returns (uint256 shares) {
        vm.prank(who);
        shares = vault.deposit(assets, who);
    }

    function _request(address who, uint256 shares) internal returns (uint256 id) {
        vm.prank(who);
        id = vault.requestRedeem(shares);
    }

    // --- constructor and metadata ---

    function test_constructor_setsState() public view {
        assertEq(vault.name(), "Staked Neurino");
        assertEq(vault.symbol(), "stNEU");
        assertEq(vault.decimals(), 24);
        assertEq(vault.asset(), address(neu));
        assertTrue(vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), governance));
        assertEq(vault.REWARDER_ROLE(), keccak256("REWARDER_ROLE"));
        assertEq(vault.LOCK_DURATION(), 365 days);
        assertEq(vault.totalAssets(), 0);
        assertEq(vault.totalSupply(), 0);
        assertEq(vault.pendingShares(), 0);
        assertEq(vault.nextRequestId(), 1);
    }

    function test_constructor_failsIfZeroNeu() public {
        vm.expectRevert(IStakedNeurino.ZeroAddress.selector);
        new StakedNeurino(IERC20(address(0)), governance);
    }

    function test_constructor_failsIfZeroGovernance() public {
        vm.expectRevert(IStakedNeurino.ZeroAddress.selector);
        new StakedNeurino(neu, address(0));
    }

    function test_supportsInterface_accessControl() public view {
        assertTrue(vault.supportsInterface(type(IAccessControl).interfaceId));
    }

    // --- deposit / mint ---

    function test_deposit_mintsSharesAndCountsAssets() public {
        vm.expectEmit(address(vault));
        emit IERC4626.Deposit(alice, alice, 100e18, 100e18 * V);
        uint256 shares = _deposit(alice, 100e18);
        assertEq(shares, 100e18 * V);
        assertEq(vault.balanceOf(alice), shares);
        assertEq(vault.totalAssets(), 100e18);
        assertEq(neu.balanceOf(address(vault)), 100e18);
    }

    function test_deposit_toOtherReceiver() public {
        vm.prank(alice);
        uint256 shares = vault.deposit(1e18, bob);
        assertEq(vault.balanceOf(bob), shares);
        assertEq(vault.balanceOf(alice), 0);
    }

    function test_deposit_failsIfTooSmall() public {
        // Rewards with no stakers back only the virtual shares: 1 wei now buys less than one share.
        vm.prank(rewarder);
        vault.addRewards(1e7);
        vm.expectRevert(abi.encodeWithSelector(IStakedNeurino.DepositTooSmall.selector, 1));
        _deposit(alice, 1);
    }

    function test_deposit_failsIfReceiverIsVault() public {
        vm.expectRevert(IStakedNeurino.TransferToVault.selector);
        vm.prank(alice);
        vault.deposit(1e18, address(vault));
    }

    function test_mint_failsIfReceiverIsVault() public {
        vm.expectRevert(IStakedNeurino.TransferToVault.selector);
        vm.prank(alice);
        vault.mint(1e24, address(vault));
    }

    function test_deposit_zeroIsNoop() public {
        assertEq(_deposit(alice, 0), 0);
        assertEq(vault.totalAssets(), 0);
    }

    function test_mint_pullsRoundedUpAssets() public {
        _deposit(bob, 10e18);
        vm.prank(rewarder);
        vault.addRewards(3e18);
        uint256 preview = vault.previewMint(7);
        vm.prank(alice);
        uint256 assets = vault.mint(7, alice);
        assertEq(assets, preview);
        assertGe(assets * (vault.totalSupply() - 7 + V), 7 * (vault.totalAssets() - assets + 1));
        assertEq(vault.balanceOf(alice), 7);
        assertEq(vault.totalAssets(), 13e18 + assets);
    }

    function test_previews_roundInVaultsFavour() public {
        _deposit(bob, 10e18);
        vm.prank(rewarder);
        vault.addRewards(1e18 + 7);
        uint256 shares = vault.previewDeposit(12_345);
        assertLe(vault.convertToAssets(shares), 12_345);
        assertGe(vault.previewMint(shares), vault.convertToAssets(shares));
        assertEq(vault.previewRedeem(shares), vault.convertToAssets(shares));
        assertGe(vault.previewWithdraw(12_345), vault.convertToShares(12_345));
    }

    // --- addRewards ---

    function test_addRewards_raisesRate() public {
        _deposit(alice, 100e18);
        uint256 before = vault.convertToAssets(1e24);
        vm.expectEmit(address(vault));
        emit IStakedNeurino.RewardsAdded(rewarder, 10e18, 110e18);
        vm.prank(rewarder);
        vault.addRewards(10e18);
        assertEq(vault.totalAssets(), 110e18);
        assertGt(vault.convertToAssets(1e24), before);
        assertApproxEqAbs(vault.convertToAssets(vault.balanceOf(alice)), 110e18, 1);
        assertEq(neu.balanceOf(address(vault)), 110e18);
    }

    function test_addRewards_allowedWithNoSupply() public {
        vm.prank(rewarder);
        vault.addRewards(5e18);
        assertEq(vault.totalAssets(), 5e18);
        assertEq(vault.totalSupply(), 0);
        // A later depositor gains nothing: the reward backs the virtual shares. Rounding down the shares
        // costs it at most the price of one share, (totalAssets + 1) / 10**6 = 5e12 wei here.
        uint256 shares = _deposit(alice, 1e18);
        assertLe(vault.convertToAssets(shares), 1e18);
        assertGe(vault.convertToAssets(shares) + 5e12 + 1, 1e18);
    }

    function test_addRewards_failsIfNotRewarder() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, alice, vault.REWARDER_ROLE()
            )
        );
        vm.prank(alice);
        vault.addRewards(1e18);
    }

    function test_addRewards_failsIfZero() public {
        vm.expectRevert(IStakedNeurino.ZeroAssets.selector);
        vm.prank(rewarder);
        vault.addRewards(0);
    }

    function test_addRewards_failsWithoutAllowance() public {
        address other = makeAddr("otherRewarder");
        bytes32 role = vault.REWARDER_ROLE();
        vm.prank(governance);
        vault.grantRole(role, other);
        _fund(other, 1e18);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, 1e18)
        );
        vm.prank(other);
        vault.addRewards(1e18);
    }

    // --- donations ---

    function test_donation_doesNotChangeRate() public {
        _deposit(alice, 100e18);
        uint256 before = vault.convertToAssets(1e24);
        vm.prank(bob);
        require(neu.transfer(address(vault), 50e18));
        assertEq(vault.totalAssets(), 100e18);
        assertEq(vault.convertToAssets(1e24), before);
        assertEq(neu.balanceOf(address(vault)), 150e18);
    }

    // --- withdraw / redeem disabled ---

    function test_maxWithdraw_isZero() public {
        _deposit(alice, 1e18);
        assertEq(vault.maxWithdraw(alice), 0);
    }

    function test_maxRedeem_isZero() public {
        _deposit(alice, 1e18);
        assertEq(vault.maxRedeem(alice), 0);
    }

    function test_withdraw_failsUseWithdrawalQueue() public {
        _deposit(alice, 1e18);
        vm.expectRevert(IStakedNeurino.UseWithdrawalQueue.selector);
        vm.prank(alice);
        vault.withdraw(1, alice, alice);
    }

    function test_redeem_failsUseWithdrawalQueue() public {
        uint256 shares = _deposit(alice, 1e18);
        vm.expectRevert(IStakedNeurino.UseWithdrawalQueue.selector);
        vm.prank(alice);
        vault.redeem(shares, alice, alice);
    }

    // --- requestRedeem ---

    function test_requestRedeem_escrowsShares() public {
        uint256 shares = _deposit(alice, 100e18);
        uint256 half = shares / 2;
        uint256 expectedAssets = vault.previewRedeem(half);
        uint64 claimableAt = uint64(block.timestamp + 365 days);
        vm.expectEmit(address(vault));
        emit IStakedNeurino.RedeemRequested(1, alice, half, expectedAssets, claimableAt);
        uint256 id = _request(alice, half);

        assertEq(id, 1);
        assertEq(vault.nextRequestId(), 2);
        assertEq(vault.balanceOf(alice), shares - half);
        assertEq(vault.balanceOf(address(vault)), half);
        assertEq(vault.pendingShares(), half);
        assertEq(vault.totalSupply(), shares);
        IStakedNeurino.WithdrawalRequest memory r = vault.withdrawalRequest(id);
        assertEq(r.owner, alice);
        assertEq(r.shares, half);
        assertEq(r.assetsAtRequest, expectedAssets);
        assertEq(r.claimableAt, claimableAt);
        assertFalse(r.claimed);
    }

    function test_requestRedeem_idsCountUp() public {
        _deposit(alice, 100e18);
        assertEq(_request(alice, 1e24), 1);
        assertEq(_request(alice, 1e24), 2);
        assertEq(vault.pendingShares(), 2e24);
    }

    function test_requestRedeem_removesVotes() public {
        uint256 shares = _deposit(alice, 100e18);
        vm.prank(alice);
        vault.delegate(alice);
        assertEq(vault.getVotes(alice), shares);
        _request(alice, shares / 4);
        assertEq(vault.getVotes(alice), shares - shares / 4);
        assertEq(vault.getVotes(address(vault)), 0);
        assertEq(vault.delegates(address(vault)), address(0));
    }

    function test_requestRedeem_failsIfZeroShares() public {
        vm.expectRevert(IStakedNeurino.ZeroShares.selector);
        _request(alice, 0);
    }

    function test_requestRedeem_failsIfInsufficientShares() public {
        uint256 shares = _deposit(alice, 1e18);
        vm.expectRevert(abi.encodeWithSelector(IStakedNeurino.InsufficientShares.selector, alice, shares, shares + 1));
        _request(alice, shares + 1);
    }

    function test_requestRedeem_failsIfRedeemTooSmall() public {
        _deposit(alice, 1e18);
        // One share is worth ~1e-6 wei.
        vm.expectRevert(abi.encodeWithSelector(IStakedNeurino.RedeemTooSmall.selector, 1));
        _request(alice, 1);
    }

    function test_withdrawalRequest_unknownIsZero() public view {
        IStakedNeurino.WithdrawalRequest memory r = vault.withdrawalRequest(42);
        assertEq(r.owner, address(0));
        assertEq(r.shares, 0);
        assertEq(r.assetsAtRequest, 0);
        assertEq(r.claimableAt, 0);
        assertFalse(r.claimed);
    }

    // --- claim ---

    function test_claim_paysAfterLock() public {
        uint256 shares = _deposit(alice, 100e18);
        uint256 id = _request(alice, shares);
        uint256 expected = vault.withdrawalRequest(id).assetsAtRequest;
        uint256 balanceBefore = neu.balanceOf(alice);

        vm.warp(block.timestamp + 365 days);
        vm.expectEmit(address(vault));
        emit IStakedNeurino.RedeemClaimed(id, alice, shares, expected);
        vm.prank(alice);
        uint256 paid = vault.claim(id);

        assertEq(paid, expected);
        assertLe(paid, 100e18);
        assertApproxEqAbs(paid, 100e18, 1);
        assertEq(neu.balanceOf(alice), balanceBefore + paid);
        assertEq(vault.totalSupply(), 0);
        assertEq(vault.pendingShares(), 0);
        assertEq(vault.balanceOf(address(vault)), 0);
        assertEq(vault.totalAssets(), 100e18 - paid);
        assertTrue(vault.withdrawalRequest(id).claimed);
    }

    function test_claim_rewardsAfterRequestStayWithStakers() public {
        uint256 aliceShares = _deposit(alice, 100e18);
        uint256 bobShares = _deposit(bob, 100e18);
        uint256 id = _request(alice, aliceShares);
        uint256 fixedValue = vault.withdrawalRequest(id).assetsAtRequest;

        vm.prank(rewarder);
        vault.addRewards(100e18);
        vm.warp(block.timestamp + 365 days);
        vm.prank(alice);
        uint256 paid = vault.claim(id);

        assertEq(paid, fixedValue);
        // Bob keeps his 100 NEU, the whole reward, and the reward Alice's escrowed shares earned.
        assertApproxEqAbs(vault.convertToAssets(bobShares), 200e18, 1e6);
        assertEq(vault.totalAssets(), 300e18 - paid);
    }

    function test_claim_failsIfUnknownRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IStakedNeurino.UnknownRequest.selector, 7));
        vm.prank(alice);
        vault.claim(7);
    }

    function test_claim_failsIfNotOwner() public {
        uint256 id = _request(alice, _deposit(alice, 1e18));
        vm.warp(block.timestamp + 365 days);
        vm.expectRevert(abi.encodeWithSelector(IStakedNeurino.NotRequestOwner.selector, id, bob, alice));
        vm.prank(bob);
        vault.claim(id);
    }

    function test_claim_failsIfAlreadyClaimed() public {
        uint256 id = _request(alice, _deposit(alice, 1e18));
        vm.warp(block.timestamp + 365 days);
        vm.prank(alice);
        vault.claim(id);
        uint256 balanceAfterFirst = neu.balanceOf(alice);

        vm.expectRevert(abi.encodeWithSelector(IStakedNeurino.AlreadyClaimed.selector, id));
        vm.prank(alice);
        vault.claim(id);
        assertEq(neu.balanceOf(alice), balanceAfterFirst);
    }

    function test_claim_failsIfNotYetClaimable() public {
        uint256 id = _request(alice, _deposit(alice, 1e18));
        uint256 claimableAt = block.timestamp + 365 days;
        vm.warp(claimableAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IStakedNeurino.NotYetClaimable.selector, id, claimableAt, claimableAt - 1)
        );
        vm.prank(alice);
        vault.claim(id);
    }

    function test_claim_failsBeforeLockEvenWithRewards() public {
        uint256 id = _request(alice, _deposit(alice, 1e18));
        vm.prank(rewarder);
        vault.addRewards(1e18);
        vm.warp(block.timestamp + 364 days);
        vm.expectRevert();
        vm.prank(alice);
        vault.claim(id);
    }

    // --- skim ---

    function test_skim_sendsOnlyDonations() public {
        _deposit(alice, 100e18);
        vm.prank(bob);
        require(neu.transfer(address(vault), 7e18));
        address to = makeAddr("reservoir");
        vm.expectEmit(address(vault));
        emit IStakedNeurino.Skimmed(to, 7e18);
        vm.prank(governance);
        uint256 amount = vault.skim(to);
        assertEq(amount, 7e18);
        assertEq(neu.balanceOf(to), 7e18);
        assertEq(neu.balanceOf(address(vault)), vault.totalAssets());
    }

    function test_skim_failsIfNotAdmin() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, alice, vault.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(alice);
        vault.skim(alice);
    }

    function test_skim_failsIfZeroAddress() public {
        vm.expectRevert(IStakedNeurino.ZeroAddress.selector);
        vm.prank(governance);
        vault.skim(address(0));
    }

    function test_skim_failsIfNothingToSkim() public {
        _deposit(alice, 1e18);
        vm.expectRevert(IStakedNeurino.NothingToSkim.selector);
        vm.prank(governance);
        vault.skim(governance);
    }

    // --- transfers ---

    function test_transfer_movesSharesAndVotes() public {
        uint256 shares = _deposit(alice, 1e18);
        vm.prank(alice);
        vault.delegate(alice);
        vm.prank(bob);
        vault.delegate(bob);
        vm.prank(alice);
        assertTrue(vault.transfer(bob, shares / 2));
        assertEq(vault.balanceOf(bob), shares / 2);
        assertEq(vault.getVotes(alice), shares - shares / 2);
        assertEq(vault.getVotes(bob), shares / 2);
    }

    function test_transfer_failsIfToVault() public {
        uint256 shares = _deposit(alice, 1e18);
        vm.expectRevert(IStakedNeurino.TransferToVault.selector);
        vm.prank(alice);
        // forge-lint: disable-next-line(erc20-unchecked-transfer)
        vault.transfer(address(vault), shares);
    }

    function test_transferFrom_movesShares() public {
        uint256 shares = _deposit(alice, 1e18);
        vm.prank(alice);
        vault.approve(bob, shares);
        vm.prank(bob);
        assertTrue(vault.transferFrom(alice, bob, shares));
        assertEq(vault.balanceOf(bob), shares);
    }

    function test_transferFrom_failsIfToVault() public {
        uint256 shares = _deposit(alice, 1e18);
        vm.prank(alice);
        vault.approve(bob, shares);
        vm.expectRevert(IStakedNeurino.TransferToVault.selector);
        vm.prank(bob);
        // forge-lint: disable-next-line(erc20-unchecked-transfer)
        vault.transferFrom(alice, address(vault), shares);
    }

    // --- votes and clock ---

    function test_clock_isTimestamp() public {
        vm.warp(1_700_000_000);
        assertEq(vault.clock(), 1_700_000_000);
        assertEq(vault.CLOCK_MODE(), "mode=timestamp");
    }

    function test_getPastVotes_byTimestamp() public {
        vm.warp(1_000_000);
        uint256 shares = _deposit(alice, 1e18);
        vm.prank(alice);
        vault.delegate(alice);
        vm.warp(1_000_100);
        _request(alice, shares);
        vm.warp(1_000_200);
        assertEq(vault.getPastVotes(alice, 1_000_050), shares);
        assertEq(vault.getPastVotes(alice, 1_000_150), 0);
        assertEq(vault.getPastTotalSupply(1_000_150), shares);
    }

    // --- permit ---

    function test_permit_setsAllowance() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                alice,
                bob,
                123,
                vault.nonces(alice),
                deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(aliceKey, keccak256(abi.encodePacked("\x19\x01", vault.DOMAIN_SEPARATOR(), structHash)));
        vault.permit(alice, bob, 123, deadline, v, r, s);
        assertEq(vault.allowance(alice, bob), 123);
        assertEq(vault.nonces(alice), 1);
    }

    // --- inflation / donation attack ---

    function test_inflationAttack_donationDoesNotHurtVictim() public {
        address attacker = makeAddr("attacker");
        address victim = makeAddr("victim");
        _fund(attacker, 10_000e18 + 1);
        _fund(victim, 1_000e18);
        uint256 attackerStart = neu.balanceOf(attacker);

        // 1. The attacker is the first staker, with 1 wei.
        vm.startPrank(attacker);
        neu.approve(address(vault), type(uint256).max);
        uint256 attackerShares = vault.deposit(1, attacker);
        // 2. The attacker donates a large amount directly, hoping to inflate the share price.
        require(neu.transfer(address(vault), 10_000e18));
        vm.stopPrank();

        // 3. The victim deposits less than the donation.
        vm.startPrank(victim);
        neu.approve(address(vault), type(uint256).max);
        uint256 victimShares = vault.deposit(1_000e18, victim);
        vm.stopPrank();

        // The victim's shares are worth what was deposited (within rounding in the vault's favour).
        assertGt(victimShares, 0);
        assertApproxEqAbs(vault.convertToAssets(victimShares), 1_000e18, 1);
        assertLe(vault.convertToAssets(victimShares), 1_000e18);
        assertLe(vault.convertToAssets(attackerShares), 1);

        // Both leave through the queue; the victim gets back its deposit, the attacker 1 wei at most.
        vm.prank(victim);
        uint256 victimId = vault.requestRedeem(victimShares);
        vm.warp(block.timestamp + 365 days);
        vm.prank(victim);
        uint256 victimPaid = vault.claim(victimId);
        assertApproxEqAbs(victimPaid, 1_000e18, 1);
        assertEq(neu.balanceOf(victim), victimPaid);

        if (vault.previewRedeem(attackerShares) > 0) {
            vm.prank(attacker);
            uint256 attackerId = vault.requestRedeem(attackerShares);
            vm.warp(block.timestamp + 365 days);
            vm.prank(attacker);
            vault.claim(attackerId);
        }
        // The attacker ends worse off by the whole donation.
        assertLe(neu.balanceOf(attacker) + 10_000e18, attackerStart);
        // The donation stays in the vault, outside the stakers' accounting, until governance skims it.
        assertGe(neu.balanceOf(address(vault)), vault.totalAssets() + 10_000e18);
    }
}
