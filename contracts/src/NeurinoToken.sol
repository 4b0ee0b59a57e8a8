// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {INeurinoToken} from "./interfaces/INeurinoToken.sol";

/// @title NeurinoToken (NEU)
/// @notice The Neurino token: 1,000,000,000 NEU minted once, in the constructor, to the whitepaper 3.4.2
/// allocation. ERC-20 with ERC-2612 permit, 18 decimals.
/// @dev Invariants:
///  - totalSupply() == TOTAL_SUPPLY forever: _mint is called only by the constructor and nothing burns.
///  - The seven allocation amounts sum to TOTAL_SUPPLY (70 + 28 + 25 + 60 + 150 + 167 + 500 = 1,000 million).
contract NeurinoToken is INeurinoToken, ERC20, ERC20Permit {
    /// @inheritdoc INeurinoToken
    uint256 public constant TOTAL_SUPPLY = 1_000_000_000 ether;
    /// @inheritdoc INeurinoToken
    uint256 public constant EARLY_COMMUNITY_AMOUNT = 70_000_000 ether;
    /// @inheritdoc INeurinoToken
    uint256 public constant INITIAL_LIQUIDITY_AMOUNT = 28_000_000 ether;
    /// @inheritdoc INeurinoToken
    uint256 public constant MARKETING_AMOUNT = 25_000_000 ether;
    /// @inheritdoc INeurinoToken
    uint256 public constant PRIVATE_SALE_AMOUNT = 60_000_000 ether;
    /// @inheritdoc INeurinoToken
    uint256 public constant TEAM_AND_ADVISORS_AMOUNT = 150_000_000 ether;
    /// @inheritdoc INeurinoToken
    uint256 public constant TREASURY_AMOUNT = 167_000_000 ether;
    /// @inheritdoc INeurinoToken
    uint256 public constant EMISSION_AMOUNT = 500_000_000 ether;

    /// @notice Bucket names used in Allocated and ZeroRecipient (ASCII, right-padded to 32 bytes).
    bytes32 public constant EARLY_COMMUNITY = "EARLY_COMMUNITY";
    bytes32 public constant INITIAL_LIQUIDITY = "INITIAL_LIQUIDITY";
    bytes32 public constant MARKETING = "MARKETING";
    bytes32 public constant PRIVATE_SALE = "PRIVATE_SALE";
    bytes32 public constant TEAM_AND_ADVISORS = "TEAM_AND_ADVISORS";
    bytes32 public constant TREASURY = "TREASURY";
    bytes32 public constant EMISSION = "EMISSION";

    /// @param allocation Recipients of the seven buckets; reverts ZeroRecipient naming the first zero one.
    constructor(Allocation memory allocation) ERC20("Neurino", "NEU") ERC20Permit("Neurino") {
        _allocate(EARLY_COMMUNITY, allocation.earlyCommunity, EARLY_COMMUNITY_AMOUNT);
        _allocate(INITIAL_LIQUIDITY, allocation.initialLiquidity, INITIAL_LIQUIDITY_AMOUNT);
        _allocate(MARKETING, allocation.marketing, MARKETING_AMOUNT);
        _allocate(PRIVATE_SALE, allocation.privateSale, PRIVATE_SALE_AMOUNT);
        _allocate(TEAM_AND_ADVISORS, allocation.teamAndAdvisors, TEAM_AND_ADVISORS_AMOUNT);
        _allocate(TREASURY, allocation.treasury, TREASURY_AMOUNT);
        _allocate(EMISSION, allocation.emission, EMISSION_AMOUNT);
    }

    function _allocate(bytes32 bucket, address recipient, uint256 amount) private {
        if (recipient == address(0)) revert ZeroRecipient(bucket);
        _mint(recipient, amount);
        emit Allocated(bucket, recipient, amount);
    }
}
