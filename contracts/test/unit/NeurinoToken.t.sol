// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";

contract NeurinoTokenTest is Test {
    address internal earlyCommunity = makeAddr("earlyCommunity");
    address internal initialLiquidity = makeAddr("initialLiquidity");
    address internal marketing = makeAddr("marketing");
    address internal privateSale = makeAddr("privateSale");
    address internal teamAndAdvisors = makeAddr("teamAndAdvisors");
    address internal treasury = makeAddr("treasury");
    address internal emission = makeAddr("emission");

    NeurinoToken internal neu;

    function setUp() public {
        neu = new NeurinoToken(_allocation());
    }

    function _allocation() internal view returns (INeurinoToken.Allocation memory) {
        return INeurinoToken.Allocation({
            earlyCommunity: earlyCommunity,
            initialLiquidity: initialLiquidity,
            marketing: marketing,
            privateSale: privateSale,
            teamAndAdvisors: teamAndAdvisors,
            treasury: treasury,
            emission: emission
        });
    }

    // --- constructor ---

    function test_constructor_metadata() public view {
        assertEq(neu.name(), "Neurino");
        assertEq(neu.symbol(), "NEU");
        assertEq(neu.decimals(), 18);
    }

    function test_constructor_mintsWhitepaperAllocation() public view {
        assertEq(neu.totalSupply(), 1e27);
        assertEq(neu.TOTAL_SUPPLY(), 1e27);
        assertEq(neu.balanceOf(earlyCommunity), 70_000_000e18);
        assertEq(neu.balanceOf(initialLiquidity), 28_000_000e18);
        assertEq(neu.balanceOf(marketing), 25_000_000e18);
        assertEq(neu.balanceOf(privateSale), 60_000_000e18);
        assertEq(neu.balanceOf(teamAndAdvisors), 150_000_000e18);
        assertEq(neu.balanceOf(treasury), 167_000_000e18);
        assertEq(neu.balanceOf(emission), 500_000_000e18);
    }

    function test_constants_sumToTotalSupply() public view {
        uint256 sum = neu.EARLY_COMMUNITY_AMOUNT() + neu.INITIAL_LIQUIDITY_AMOUNT() + neu.MARKETING_AMOUNT()
            + neu.PRIVATE_SALE_AMOUNT() + neu.TEAM_AND_ADVISORS_AMOUNT() + neu.TREASURY_AMOUNT() + neu.EMISSION_AMOUNT();
        assertEq(sum, neu.TOTAL_SUPPLY());
        // Percentages of whitepaper 3.4.2, in basis points of the total supply.
        assertEq(neu.EARLY_COMMUNITY_AMOUNT() * 10_000 / 1e27, 700);
        assertEq(neu.INITIAL_LIQUIDITY_AMOUNT() * 10_000 / 1e27, 280);
        assertEq(neu.MARKETING_AMOUNT() * 10_000 / 1e27, 250);
        assertEq(neu.PRIVATE_SALE_AMOUNT() * 10_000 / 1e27, 600);
        assertEq(neu.TEAM_AND_ADVISORS_AMOUNT() * 10_000 / 1e27, 1_500);
        assertEq(neu.TREASURY_AMOUNT() * 10_000 / 1e27, 1_670);
        assertEq(neu.EMISSION_AMOUNT() * 10_000 / 1e27, 5_000);
    }

    function test_constructor_emitsAllocatedPerBucket() public {
        vm.expectEmit();
        emit INeurinoToken.Allocated("EARLY_COMMUNITY", earlyCommunity, 70_000_000e18);
        vm.expectEmit();
        emit INeurinoToken.Allocated("INITIAL_LIQUIDITY", initialLiquidity, 28_000_000e18);
        vm.expectEmit();
        emit INeurinoToken.Allocated("MARKETING", marketing, 25_000_000e18);
        vm.expectEmit();
        emit INeurinoToken.Allocated("PRIVATE_SALE", privateSale, 60_000_000e18);
        vm.expectEmit();
        emit INeurinoToken.Allocated("TEAM_AND_ADVISORS", teamAndAdvisors, 150_000_000e18);
        vm.expectEmit();
        emit INeurinoToken.Allocated("TREASURY", treasury, 167_000_000e18);
        vm.expectEmit();
        emit INeurinoToken.Allocated("EMISSION", emission, 500_000_000e18);
        new NeurinoToken(_allocation());
    }

    function test_constructor_sameRecipientForSeveralBuckets() public {
        address one = makeAddr("one");
        NeurinoToken token = new NeurinoToken(
            INeurinoToken.Allocation({
                earlyCommunity: one,
                initialLiquidity: one,
                marketing: one,
                privateSale: one,
                teamAndAdvisors: one,
                treasury: one,
                emission: one
            })
        );
        assertEq(token.balanceOf(one), 1e27);
    }

    // forge-lint: disable-start(unsafe-typecast)
    function test_constructor_bucketNames() public view {
        assertEq(neu.EARLY_COMMUNITY(), bytes32("EARLY_COMMUNITY"));
        assertEq(neu.INITIAL_LIQUIDITY(), bytes32("INITIAL_LIQUIDITY"));
        assertEq(neu.MARKETING(), bytes32("MARKETING"));
        assertEq(neu.PRIVATE_SALE(), bytes32("PRIVATE_SALE"));
        assertEq(neu.TEAM_AND_ADVISORS(), bytes32("TEAM_AND_ADVISORS"));
        assertEq(neu.TREASURY(), bytes32("TREASURY"));
        assertEq(neu.EMISSION(), bytes32("EMISSION"));
    }

    /// @dev One custom error, ZeroRecipient: checked for every bucket, each naming its own.
    function test_constructor_failsIfZeroRecipient() public {
        bytes32[7] memory buckets = [
            bytes32("EARLY_COMMUNITY"),
            "INITIAL_LIQUIDITY",
            "MARKETING",
            "PRIVATE_SALE",
            "TEAM_AND_ADVISORS",
            "TREASURY",
            "EMISSION"
        ];
        for (uint256 i; i < 7; ++i) {
            INeurinoToken.Allocation memory a = _allocation();
            if (i == 0) a.earlyCommunity = address(0);
            if (i == 1) a.initialLiquidity = address(0);
            if (i == 2) a.marketing = address(0);
            if (i == 3) a.privateSale = address(0);
            if (i == 4) a.teamAndAdvisors = address(0);
            if (i == 5) a.treasury = address(0);
            if (i == 6) a.emission = address(0);
            vm.expectRevert(abi.encodeWithSelector(INeurinoToken.ZeroRecipient.selector, buckets[i]));
            new NeurinoToken(a);
        }
    }
    // forge-lint: disable-end(unsafe-typecast)

    // --- ERC-20 ---

    function test_transfer_keepsSupply() public {
        address bob = makeAddr("bob");
        vm.prank(treasury);
        assertTrue(neu.transfer(bob, 1e18));
        assertEq(neu.balanceOf(bob), 1e18);
        assertEq(neu.totalSupply(), 1e27);
    }

    function test_noMintOrBurnSelector() public {
        // The deployed code exposes no way to create or destroy tokens.
        bytes4[4] memory selectors = [
            bytes4(keccak256("mint(address,uint256)")),
            bytes4(keccak256("burn(uint256)")),
            bytes4(keccak256("burnFrom(address,uint256)")),
            bytes4(keccak256("mint(uint256)"))
        ];
        for (uint256 i; i < selectors.length; ++i) {
            (bool ok,) = address(neu).call(abi.encodeWithSelector(selectors[i], address(this), 1));
            assertFalse(ok);
        }
        assertEq(neu.totalSupply(), 1e27);
    }

    // --- permit ---

    function test_permit_setsAllowanceAndSpends() public {
        (address owner, uint256 key) = makeAddrAndKey("owner");
        address spender = makeAddr("spender");
        vm.prank(treasury);
        assertTrue(neu.transfer(owner, 10e18));

        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                spender,
                4e18,
                neu.nonces(owner),
                deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", neu.DOMAIN_SEPARATOR(), structHash)));
        neu.permit(owner, spender, 4e18, deadline, v, r, s);
        assertEq(neu.allowance(owner, spender), 4e18);
        assertEq(neu.nonces(owner), 1);

        vm.prank(spender);
        assertTrue(neu.transferFrom(owner, spender, 4e18));
        assertEq(neu.balanceOf(spender), 4e18);

        // Replaying the same signature fails: the nonce moved on.
        vm.expectRevert();
        neu.permit(owner, spender, 4e18, deadline, v, r, s);
    }

    function test_permit_failsIfExpired() public {
        (address owner, uint256 key) = makeAddrAndKey("owner");
        uint256 deadline = block.timestamp;
        vm.warp(deadline + 1);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                address(this),
                1,
                0,
                deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", neu.DOMAIN_SEPARATOR(), structHash)));
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        neu.permit(owner, address(this), 1, deadline, v, r, s);
    }

    function test_fuzz_transfer_neverChangesSupply(uint256 amount, address to) public {
        vm.assume(to != address(0));
        amount = bound(amount, 0, neu.balanceOf(treasury));
        vm.prank(treasury);
        assertTrue(neu.transfer(to, amount));
        assertEq(neu.totalSupply(), 1e27);
    }
}
