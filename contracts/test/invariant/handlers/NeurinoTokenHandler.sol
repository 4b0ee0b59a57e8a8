// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

import {NeurinoToken} from "../../../src/NeurinoToken.sol";

/// @notice Moves NEU between a set of actors by every public path (transfer, approve + transferFrom,
/// permit + transferFrom) and also tries the selectors a mintable or burnable token would have.
contract NeurinoTokenHandler is CommonBase, StdCheats, StdUtils {
    NeurinoToken public immutable neu;
    address[] internal _actors;
    uint256[] internal _keys;

    uint256 public ghost_transfers;
    uint256 public ghost_supplyCallsSucceeded; // mint/burn-like calls that did not revert

    constructor(NeurinoToken neu_, address[] memory actors_, uint256[] memory keys_) {
        neu = neu_;
        _actors = actors_;
        _keys = keys_;
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = _actors[fromSeed % _actors.length];
        amount = _bound(amount, 0, neu.balanceOf(from));
        vm.prank(from);
        require(neu.transfer(_actors[toSeed % _actors.length], amount), "handler: transfer");
        ++ghost_transfers;
    }

    function approveAndTransferFrom(uint256 ownerSeed, uint256 spenderSeed, uint256 toSeed, uint256 amount) external {
        address owner = _actors[ownerSeed % _actors.length];
        address spender = _actors[spenderSeed % _actors.length];
        amount = _bound(amount, 0, neu.balanceOf(owner));
        vm.prank(owner);
        neu.approve(spender, amount);
        vm.prank(spender);
        require(neu.transferFrom(owner, _actors[toSeed % _actors.length], amount), "handler: transferFrom");
        ++ghost_transfers;
    }

    function permitAndTransferFrom(uint256 ownerSeed, uint256 spenderSeed, uint256 amount) external {
        uint256 i = ownerSeed % _actors.length;
        address owner = _actors[i];
        address spender = _actors[spenderSeed % _actors.length];
        amount = _bound(amount, 0, neu.balanceOf(owner));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                spender,
                amount,
                neu.nonces(owner),
                deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(_keys[i], keccak256(abi.encodePacked("\x19\x01", neu.DOMAIN_SEPARATOR(), structHash)));
        neu.permit(owner, spender, amount, deadline, v, r, s);
        vm.prank(spender);
        require(neu.transferFrom(owner, spender, amount), "handler: permit transferFrom");
        ++ghost_transfers;
    }

    function tryMintOrBurn(uint256 selectorSeed, uint256 amount) external {
        bytes4[4] memory selectors = [
            bytes4(keccak256("mint(address,uint256)")),
            bytes4(keccak256("burn(uint256)")),
            bytes4(keccak256("burnFrom(address,uint256)")),
            bytes4(keccak256("burn(address,uint256)"))
        ];
        address actor = _actors[amount % _actors.length];
        vm.prank(actor);
        (bool ok,) = address(neu).call(abi.encodeWithSelector(selectors[selectorSeed % 4], actor, amount));
        if (ok) ++ghost_supplyCallsSucceeded;
    }

    function actors() external view returns (address[] memory) {
        return _actors;
    }
}
