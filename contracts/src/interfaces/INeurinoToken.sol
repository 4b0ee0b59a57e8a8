// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title NEU, the Neurino token
/// @notice A fixed-supply ERC-20 (with ERC-2612 permit) of 1,000,000,000 NEU, minted once at deployment to
/// the allocation of whitepaper 3.4.2. There is no mint function: the supply never changes.
interface INeurinoToken {
    /// @notice Recipients of the initial allocation (each must be non-zero; one address may take several).
    /// @param earlyCommunity 7 %: testnet miners, NFT holders, ecosystem grants.
    /// @param initialLiquidity 2.8 %: exchange liquidity.
    /// @param marketing 2.5 %: marketing reserve.
    /// @param privateSale 6 %: angels and venture funds (a NeurinoVesting wallet).
    /// @param teamAndAdvisors 15 %: core team and advisors (a NeurinoVesting wallet).
    /// @param treasury 16.7 %: protocol treasury.
    /// @param emission 50 %: protocol emission (the EmissionVault).
    struct Allocation {
        address earlyCommunity;
        address initialLiquidity;
        address marketing;
        address privateSale;
        address teamAndAdvisors;
        address treasury;
        address emission;
    }

    /// @notice The recipient of allocation bucket `bucket` is the zero address.
    error ZeroRecipient(bytes32 bucket);

    /// @notice `amount` NEU of allocation bucket `bucket` were minted to `recipient`.
    event Allocated(bytes32 indexed bucket, address indexed recipient, uint256 amount);

    /// @notice The total and only supply: 1,000,000,000 NEU (1e27 wei).
    function TOTAL_SUPPLY() external view returns (uint256);

    /// @notice 70,000,000 NEU (7 %).
    function EARLY_COMMUNITY_AMOUNT() external view returns (uint256);

    /// @notice 28,000,000 NEU (2.8 %).
    function INITIAL_LIQUIDITY_AMOUNT() external view returns (uint256);

    /// @notice 25,000,000 NEU (2.5 %).
    function MARKETING_AMOUNT() external view returns (uint256);

    /// @notice 60,000,000 NEU (6 %).
    function PRIVATE_SALE_AMOUNT() external view returns (uint256);

    /// @notice 150,000,000 NEU (15 %).
    function TEAM_AND_ADVISORS_AMOUNT() external view returns (uint256);

    /// @notice 167,000,000 NEU (16.7 %).
    function TREASURY_AMOUNT() external view returns (uint256);

    /// @notice 500,000,000 NEU (50 %).
    function EMISSION_AMOUNT() external view returns (uint256);
}
