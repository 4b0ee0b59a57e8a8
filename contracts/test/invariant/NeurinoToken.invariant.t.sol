// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {StdInvariant} from "forge-std/StdInvariant.sol";
import {Test} from "forge-std/Test.sol";

import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";
import {NeurinoTokenHandler} from "./handlers/NeurinoTokenHandler.sol";

contract NeurinoTokenInvariantTest is StdInvariant, Test {
    NeurinoToken internal neu;
    NeurinoTokenHandler internal handler;

    function setUp() public {
        address[] memory actors = new address[](4);
        uint256[] memory keys = new uint256[](4);
        string[4] memory names = ["alice", "bob", "carol", "dave"];
        for (uint256 i; i < 4; ++i) {
            (actors[i], keys[i]) = makeAddrAndKey(names[i]);
        }
        // The seven buckets go to the four actors, so every token is held by someone the handler moves.
        neu = new NeurinoToken(
            INeurinoToken.Allocation({
                earlyCommunity: actors[0],
                initialLiquidity: actors[1],
                marketing: actors[2],
                privateSale: actors[3],
                teamAndAdvisors: actors[0],
                treasury: actors[1],
                emission: actors[2]
            })
        );
        handler = new NeurinoTokenHandler(neu, actors, keys);
        targetContract(address(handler));
    }

    /// The total supply is 1,000,000,000 NEU, forever: no call creates or destroys tokens.
    function invariant_supplyNeverChanges() public view {
        assertEq(neu.totalSupply(), 1e27);
        assertEq(neu.totalSupply(), neu.TOTAL_SUPPLY());
    }

    /// Every token is accounted: the actors' balances add up to the supply.
    function invariant_balancesSumToSupply() public view {
        address[] memory actors = handler.actors();
        uint256 sum;
        for (uint256 i; i < actors.length; ++i) {
            sum += neu.balanceOf(actors[i]);
        }
        assertEq(sum, 1e27);
    }

    /// No mint- or burn-like call ever succeeded.
    function invariant_noMintOrBurnPath() public view {
        assertEq(handler.ghost_supplyCallsSucceeded(), 0);
    }
}
