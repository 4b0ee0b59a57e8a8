// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {StdInvariant} from "forge-std/StdInvariant.sol";
import {Test} from "forge-std/Test.sol";

import {EmissionVault} from "../../src/EmissionVault.sol";
import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";
import {EmissionVaultHandler} from "./handlers/EmissionVaultHandler.sol";

contract EmissionVaultInvariantTest is StdInvariant, Test {
    uint256 internal constant EMISSION = 500_000_000e18;

    NeurinoToken internal neu;
    EmissionVault internal vault;
    EmissionVaultHandler internal handler;
    address internal governance = makeAddr("governance");
    address internal emitter = makeAddr("emitter");
    address internal donor = makeAddr("donor");

    function setUp() public {
        vault = new EmissionVault(
            NeurinoToken(vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1)), governance
        );
        neu = new NeurinoToken(
            INeurinoToken.Allocation({
                earlyCommunity: donor,
                initialLiquidity: donor,
                marketing: donor,
                privateSale: donor,
                teamAndAdvisors: donor,
                treasury: donor,
                emission: address(vault)
            })
        );
        bytes32 role = vault.EMITTER_ROLE();
        vm.prank(governance);
        vault.grantRole(role, emitter);

        address[] memory recipients = new address[](3);
        recipients[0] = makeAddr("node");
        recipients[1] = makeAddr("voter");
        recipients[2] = makeAddr("reservoir");
        handler = new EmissionVaultHandler(neu, vault, emitter, donor, recipients);
        targetContract(address(handler));
    }

    /// What is left plus what was released is exactly the emission allocation plus extra NEU sent in.
    function invariant_remainingPlusReleasedIsConserved() public view {
        assertEq(vault.remaining() + vault.totalReleased(), EMISSION + handler.ghost_donated());
    }

    /// The vault's released counter matches the sum of successful releases, and the recipients hold it all.
    function invariant_releasedMatchesRecipients() public view {
        assertEq(vault.totalReleased(), handler.ghost_released());
        address[] memory recipients = handler.recipients();
        uint256 sum;
        for (uint256 i; i < recipients.length; ++i) {
            sum += neu.balanceOf(recipients[i]);
        }
        assertEq(sum, vault.totalReleased());
    }

    /// Only the emitter ever released NEU.
    function invariant_onlyEmitterReleases() public view {
        assertEq(handler.ghost_unauthorizedReleases(), 0);
    }
}
