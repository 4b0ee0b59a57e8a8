// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

import {EmissionVault} from "../../../src/EmissionVault.sol";
import {NeurinoToken} from "../../../src/NeurinoToken.sol";

/// @notice Releases emission to a set of recipients as the emitter, lets outsiders try to release, and
/// sends extra NEU to the vault by plain transfers.
contract EmissionVaultHandler is CommonBase, StdCheats, StdUtils {
    NeurinoToken public immutable neu;
    EmissionVault public immutable vault;
    address public immutable emitter;
    address public immutable donor;
    address[] internal _recipients;

    uint256 public ghost_released;
    uint256 public ghost_donated;
    uint256 public ghost_unauthorizedReleases; // releases by non-emitters that succeeded

    constructor(NeurinoToken neu_, EmissionVault vault_, address emitter_, address donor_, address[] memory recipients_) {
        neu = neu_;
        vault = vault_;
        emitter = emitter_;
        donor = donor_;
        _recipients = recipients_;
    }

    function release(uint256 toSeed, uint256 amount) external {
        uint256 remaining = vault.remaining();
        if (remaining == 0) return;
        // Mostly small epochs, sometimes a large part of what is left.
        amount = _bound(amount, 1, amount % 4 == 0 ? remaining : remaining / 1_000 + 1);
        vm.prank(emitter);
        vault.release(_recipients[toSeed % _recipients.length], amount);
        ghost_released += amount;
    }

    function releaseAsOutsider(uint256 who, uint256 amount) external {
        address outsider = _recipients[who % _recipients.length];
        vm.prank(outsider);
        try vault.release(outsider, _bound(amount, 1, 1e24)) {
            ++ghost_unauthorizedReleases;
        } catch {}
    }

    function donate(uint256 amount) external {
        uint256 balance = neu.balanceOf(donor);
        if (balance == 0) return;
        amount = _bound(amount, 1, balance / 100 + 1);
        vm.prank(donor);
        require(neu.transfer(address(vault), amount), "handler: donate");
        ghost_donated += amount;
    }

    function recipients() external view returns (address[] memory) {
        return _recipients;
    }
}
