// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Debit} from "../../src/types/SettlementTypes.sol";
import {NeurinoFixture} from "../utils/NeurinoFixture.sol";

/// @notice The protocol plus two payers and a `settler` account holding SETTLEMENT_ROLE on ComputeCredits.
abstract contract ComputeCreditsFixture is NeurinoFixture {
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal settler = makeAddr("settler");

    function setUp() public override {
        _deployNeurino();
        bytes32 role = credits.SETTLEMENT_ROLE();
        vm.prank(governance);
        credits.grantRole(role, settler);
    }

    function _debits1(address payer, uint256 amount) internal pure returns (Debit[] memory debits) {
        debits = new Debit[](1);
        debits[0] = Debit({payer: payer, amount: amount});
    }
}
