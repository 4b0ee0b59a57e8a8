// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title stNEU, the NEU staking vault
/// @notice NEU staked here becomes stNEU, an ERC-4626 share with ERC-20 votes (timestamp clock). Rewards
/// (compute-payment buybacks, reservoir allocations) raise the exchange rate. Leaving goes through a
/// withdrawal queue: requestRedeem() escrows the shares and fixes their value, claim() pays it after the
/// one-year lock (whitepaper 3.4.3). The standard ERC-4626 withdraw/redeem are disabled.
/// @dev Assets are accounted internally: a plain NEU transfer to the vault (a donation) never changes the
/// exchange rate. Shares have 24 decimals (18 of NEU + a decimals offset of 6 virtual-share digits).
interface IStakedNeurino {
    /// @notice A queued exit from the vault.
    /// @param owner Who requested it and may claim it (zero for an unknown request).
    /// @param claimableAt Timestamp from which it can be claimed (request time + LOCK_DURATION).
    /// @param claimed Whether it has been claimed.
    /// @param shares stNEU escrowed in the vault by the request (burned when claimed).
    /// @param assetsAtRequest NEU value of the shares at request time, the most the claim pays.
    struct WithdrawalRequest {
        address owner;
        uint64 claimableAt;
        bool claimed;
        uint256 shares;
        uint256 assetsAtRequest;
    }

    // --- errors ---

    /// @notice A zero address was given where an account or contract is required.
    error ZeroAddress();

    /// @notice An amount of zero assets was given where a positive one is required.
    error ZeroAssets();

    /// @notice A request for zero shares.
    error ZeroShares();

    /// @notice Depositing `assets` NEU would mint no shares: the caller would lose them.
    error DepositTooSmall(uint256 assets);

    /// @notice Redeeming `shares` would pay no NEU at the current rate.
    error RedeemTooSmall(uint256 shares);

    /// @notice `owner` holds `balance` stNEU, less than the `shares` requested.
    error InsufficientShares(address owner, uint256 balance, uint256 shares);

    /// @notice The standard ERC-4626 withdraw/redeem are disabled: use requestRedeem() and claim().
    error UseWithdrawalQueue();

    /// @notice stNEU cannot be transferred or minted to the vault itself (it would be locked forever).
    error TransferToVault();

    /// @notice No withdrawal request has id `requestId`.
    error UnknownRequest(uint256 requestId);

    /// @notice `caller` is not `owner`, the owner of request `requestId`.
    error NotRequestOwner(uint256 requestId, address caller, address owner);

    /// @notice Request `requestId` has already been claimed.
    error AlreadyClaimed(uint256 requestId);

    /// @notice Request `requestId` can be claimed from `claimableAt`; it is now `currentTime`.
    error NotYetClaimable(uint256 requestId, uint256 claimableAt, uint256 currentTime);

    /// @notice The vault holds no NEU beyond its accounted assets.
    error NothingToSkim();

    // --- events ---

    /// @notice `rewarder` added `assets` NEU of rewards; the vault now accounts `totalAssets` NEU.
    event RewardsAdded(address indexed rewarder, uint256 assets, uint256 totalAssets);

    /// @notice `owner` escrowed `shares` stNEU worth `assets` NEU in request `requestId`, claimable at
    /// `claimableAt`.
    event RedeemRequested(
        uint256 indexed requestId, address indexed owner, uint256 shares, uint256 assets, uint64 claimableAt
    );

    /// @notice `owner` claimed request `requestId`: `shares` stNEU burned, `assets` NEU paid.
    event RedeemClaimed(uint256 indexed requestId, address indexed owner, uint256 shares, uint256 assets);

    /// @notice Governance sent `amount` NEU held beyond the accounted assets (donations) to `to`.
    event Skimmed(address indexed to, uint256 amount);

    // --- rewards ---

    /// @notice Adds `assets` NEU of rewards to the stakers: pulls them from the caller (who must have
    /// approved the vault) and raises the exchange rate.
    /// @dev Only REWARDER_ROLE. Allowed when no stNEU exists: the NEU then backs the virtual shares and
    /// stays in the vault. Reverts ZeroAssets on zero.
    /// @param assets NEU to add.
    function addRewards(uint256 assets) external;

    // --- withdrawal queue ---

    /// @notice Starts leaving the vault: moves `shares` stNEU of the caller into escrow (they stop voting
    /// and stop earning) and fixes their NEU value, claimable after LOCK_DURATION.
    /// @dev Reverts ZeroShares, InsufficientShares, or RedeemTooSmall when the shares are worth no NEU.
    /// @param shares stNEU to redeem.
    /// @return requestId Id of the new request (ids count up from 1).
    function requestRedeem(uint256 shares) external returns (uint256 requestId);

    /// @notice Completes request `requestId`: burns its escrowed shares and pays its owner the smaller of
    /// the value fixed at request time and the shares' value now. Any rewards the escrowed shares earned
    /// in between stay with the remaining stakers.
    /// @dev Only the request's owner, once, from its claimableAt. Reverts UnknownRequest, NotRequestOwner,
    /// AlreadyClaimed or NotYetClaimable.
    /// @param requestId The request to claim.
    /// @return assets NEU paid to the owner.
    function claim(uint256 requestId) external returns (uint256 assets);

    // --- governance ---

    /// @notice Sends the NEU held beyond the accounted assets (plain transfers to the vault) to `to`.
    /// @dev Only DEFAULT_ADMIN_ROLE. Never touches the stakers' assets. Reverts ZeroAddress, NothingToSkim.
    /// @param to Recipient, e.g. the compute reservoir.
    /// @return amount NEU sent.
    function skim(address to) external returns (uint256 amount);

    // --- views ---

    /// @notice The lock between a redeem request and its claim: 365 days.
    function LOCK_DURATION() external view returns (uint64);

    /// @notice Role allowed to call addRewards().
    function REWARDER_ROLE() external view returns (bytes32);

    /// @notice Request `requestId` (all fields zero if unknown).
    function withdrawalRequest(uint256 requestId) external view returns (WithdrawalRequest memory);

    /// @notice stNEU escrowed by requests not yet claimed.
    function pendingShares() external view returns (uint256);

    /// @notice Id the next request will get.
    function nextRequestId() external view returns (uint256);
}
