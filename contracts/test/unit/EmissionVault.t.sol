// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {EmissionVault} from "../../src/EmissionVault.sol";
import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {IEmissionVault} from "../../src/interfaces/IEmissionVault.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";

contract EmissionVaultTest is Test {
    address internal governance = makeAddr("governance");
    address internal emitter = makeAddr("emitter");
    address internal other = makeAddr("other");
    address internal node = makeAddr("node");

    EmissionVault internal vault;
    NeurinoToken internal neu;

    function setUp() public {
        // Deploy the vault against the token's predicted address, as the deploy routine does.
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        vault = new EmissionVault(IERC20(predicted), governance);
        neu = new NeurinoToken(
            INeurinoToken.Allocation({
                earlyCommunity: other,
                initialLiquidity: other,
                marketing: other,
                privateSale: other,
                teamAndAdvisors: other,
                treasury: other,
                emission: address(vault)
            })
        );
        assertEq(address(neu), predicted);
        bytes32 role = vault.EMITTER_ROLE();
        vm.prank(governance);
        vault.grantRole(role, emitter);
    }

    function test_constructor_setsState() public view {
        assertEq(address(vault.neu()), address(neu));
        assertTrue(vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), governance));
        assertEq(vault.EMITTER_ROLE(), keccak256("EMITTER_ROLE"));
        assertEq(vault.remaining(), 500_000_000e18);
        assertEq(vault.totalReleased(), 0);
    }

    function test_constructor_failsIfZeroNeu() public {
        vm.expectRevert(IEmissionVault.ZeroAddress.selector);
        new EmissionVault(IERC20(address(0)), governance);
    }

    function test_constructor_failsIfZeroGovernance() public {
        vm.expectRevert(IEmissionVault.ZeroAddress.selector);
        new EmissionVault(neu, address(0));
    }

    function test_release_sendsAndTracks() public {
        vm.expectEmit(address(vault));
        emit IEmissionVault.Released(emitter, node, 1_000e18, 1_000e18);
        vm.prank(emitter);
        vault.release(node, 1_000e18);
        assertEq(neu.balanceOf(node), 1_000e18);
        assertEq(vault.remaining(), 500_000_000e18 - 1_000e18);
        assertEq(vault.totalReleased(), 1_000e18);

        vm.prank(emitter);
        vault.release(node, 500e18);
        assertEq(vault.totalReleased(), 1_500e18);
    }

    function test_release_allOfIt() public {
        vm.prank(emitter);
        vault.release(node, 500_000_000e18);
        assertEq(vault.remaining(), 0);
    }

    function test_release_failsIfNotEmitter() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, governance, vault.EMITTER_ROLE()
            )
        );
        vm.prank(governance);
        vault.release(node, 1);
    }

    function test_release_failsAfterRoleRevoked() public {
        bytes32 role = vault.EMITTER_ROLE();
        vm.prank(governance);
        vault.revokeRole(role, emitter);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, emitter, role)
        );
        vm.prank(emitter);
        vault.release(node, 1);
    }

    function test_release_failsIfZeroAddress() public {
        vm.expectRevert(IEmissionVault.ZeroAddress.selector);
        vm.prank(emitter);
        vault.release(address(0), 1);
    }

    function test_release_failsIfZeroAmount() public {
        vm.expectRevert(IEmissionVault.ZeroAmount.selector);
        vm.prank(emitter);
        vault.release(node, 0);
    }

    function test_release_failsIfInsufficientBalance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IEmissionVault.InsufficientBalance.selector, 500_000_000e18 + 1, 500_000_000e18)
        );
        vm.prank(emitter);
        vault.release(node, 500_000_000e18 + 1);
    }

    function test_grantRole_failsIfNotAdmin() public {
        bytes32 role = vault.EMITTER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, other, vault.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(other);
        vault.grantRole(role, other);
    }

    function test_fuzz_release_conservesTotal(uint256 a, uint256 b) public {
        a = bound(a, 1, 500_000_000e18 - 1);
        b = bound(b, 1, 500_000_000e18 - a);
        vm.startPrank(emitter);
        vault.release(node, a);
        vault.release(other, b);
        vm.stopPrank();
        assertEq(vault.remaining() + vault.totalReleased(), 500_000_000e18);
    }
}
