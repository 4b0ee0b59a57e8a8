// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

import {IStakedNeurino} from "./interfaces/IStakedNeurino.sol";

/// @title StakedNeurino (stNEU)
/// @notice The NEU staking vault: ERC-4626 shares with ERC-20 votes on a timestamp clock, rewards that
/// raise the exchange rate, and a one-year withdrawal queue instead of instant withdrawals.
/// @dev Invariants:
///  - NEU balance of the vault >= totalAssets(): assets are accounted in `_totalAssets`, which grows only by
///    deposits/mints and addRewards() and shrinks only by claims; a donation (plain transfer) raises the
///    balance alone, and skim() only ever sends balance - totalAssets().
///  - totalAssets() covers every share, escrowed ones included: totalSupply() <= 10**6 * totalAssets(), so
///    convertToAssets(totalSupply()) <= totalAssets(), and each queued claim pays at most its shares' value.
///  - The exchange rate (totalAssets() + 1) / (totalSupply() + 10**6) never decreases: deposits round shares
///    down, mints round assets up, claims pay at most the shares' current value, rewards only add assets.
///    Hence no deposit -> redeem round trip pays back more than was put in.
///  - pendingShares() == balanceOf(address(this)) == the shares of all unclaimed requests; escrowed shares
///    are delegated to no one, so they never vote. Nobody else can send stNEU to the vault.
///  - A request is paid at most once, only to its owner, never before its claimableAt.
contract StakedNeurino is IStakedNeurino, ERC4626, ERC20Permit, ERC20Votes, AccessControl {
    using SafeERC20 for IERC20;

    /// @inheritdoc IStakedNeurino
    bytes32 public constant REWARDER_ROLE = keccak256("REWARDER_ROLE");

    /// @inheritdoc IStakedNeurino
    uint64 public constant LOCK_DURATION = 365 days;

    /// @dev Virtual share digits (10**6 virtual shares) against the share-inflation attack.
    uint8 private constant _DECIMALS_OFFSET = 6;

    uint256 private _totalAssets;
    uint256 private _pendingShares;
    uint256 private _nextRequestId = 1;
    mapping(uint256 requestId => WithdrawalRequest) private _requests;

    /// @param neu The NEU token, the vault's asset.
    /// @param governance Receives DEFAULT_ADMIN_ROLE (grants REWARDER_ROLE, skims donations).
    constructor(IERC20 neu, address governance)
        ERC20("Staked Neurino", "stNEU")
        ERC4626(neu)
        ERC20Permit("Staked Neurino")
    {
        if (address(neu) == address(0) || governance == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
    }

    // --- rewards ---

    /// @inheritdoc IStakedNeurino
    function addRewards(uint256 assets) external onlyRole(REWARDER_ROLE) {
        if (assets == 0) revert ZeroAssets();
        IERC20(asset()).safeTransferFrom(msg.sender, address(this), assets);
        uint256 newTotal = _totalAssets + assets;
        _totalAssets = newTotal;
        emit RewardsAdded(msg.sender, assets, newTotal);
    }

    // --- withdrawal queue ---

    /// @inheritdoc IStakedNeurino
    function requestRedeem(uint256 shares) external returns (uint256 requestId) {
        if (shares == 0) revert ZeroShares();
        uint256 balance = balanceOf(msg.sender);
        if (shares > balance) revert InsufficientShares(msg.sender, balance, shares);
        uint256 assets = previewRedeem(shares);
        if (assets == 0) revert RedeemTooSmall(shares);

        requestId = _nextRequestId++;
        uint64 claimableAt = uint64(block.timestamp) + LOCK_DURATION;
        _requests[requestId] = WithdrawalRequest({
            owner: msg.sender,
            claimableAt: claimableAt,
            claimed: false,
            shares: shares,
            assetsAtRequest: assets
        });
        _pendingShares += shares;
        // Escrow: the vault never delegates, so the moved shares stop voting.
        _transfer(msg.sender, address(this), shares);
        emit RedeemRequested(requestId, msg.sender, shares, assets, claimableAt);
    }

    /// @inheritdoc IStakedNeurino
    function claim(uint256 requestId) external returns (uint256 assets) {
        WithdrawalRequest storage request = _requests[requestId];
        address owner = request.owner;
        if (owner == address(0)) revert UnknownRequest(requestId);
        if (owner != msg.sender) revert NotRequestOwner(requestId, msg.sender, owner);
        if (request.claimed) revert AlreadyClaimed(requestId);
        // A validator can shift the timestamp by seconds, which is immaterial against a one-year lock.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < request.claimableAt) {
            revert NotYetClaimable(requestId, request.claimableAt, block.timestamp);
        }

        uint256 shares = request.shares;
        uint256 valueNow = convertToAssets(shares);
        uint256 atRequest = request.assetsAtRequest;
        assets = valueNow < atRequest ? valueNow : atRequest;

        request.claimed = true;
        // The request's shares are part of _pendingShares, so this cannot underflow.
        _pendingShares -= shares;
        _burn(address(this), shares);
        // assets <= convertToAssets(shares) <= convertToAssets(totalSupply()) <= _totalAssets (see header).
        _totalAssets -= assets;
        emit RedeemClaimed(requestId, owner, shares, assets);
        IERC20(asset()).safeTransfer(owner, assets);
    }

    // --- governance ---

    /// @inheritdoc IStakedNeurino
    function skim(address to) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 amount) {
        if (to == address(0)) revert ZeroAddress();
        uint256 balance = IERC20(asset()).balanceOf(address(this));
        if (balance <= _totalAssets) revert NothingToSkim();
        // Checked just above: balance > _totalAssets.
        unchecked {
            amount = balance - _totalAssets;
        }
        IERC20(asset()).safeTransfer(to, amount);
        emit Skimmed(to, amount);
    }

    // --- views ---

    /// @inheritdoc IStakedNeurino
    function withdrawalRequest(uint256 requestId) external view returns (WithdrawalRequest memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IStakedNeurino
    function pendingShares() external view returns (uint256) {
        return _pendingShares;
    }

    /// @inheritdoc IStakedNeurino
    function nextRequestId() external view returns (uint256) {
        return _nextRequestId;
    }

    /// @notice NEU accounted to the stakers (excludes donations).
    function totalAssets() public view override returns (uint256) {
        return _totalAssets;
    }

    /// @notice Always 0: leave through requestRedeem() and claim().
    function maxWithdraw(address) public pure override returns (uint256) {
        return 0;
    }

    /// @notice Always 0: leave through requestRedeem() and claim().
    function maxRedeem(address) public pure override returns (uint256) {
        return 0;
    }

    /// @notice Disabled: reverts UseWithdrawalQueue.
    function withdraw(uint256, address, address) public pure override returns (uint256) {
        revert UseWithdrawalQueue();
    }

    /// @notice Disabled: reverts UseWithdrawalQueue.
    function redeem(uint256, address, address) public pure override returns (uint256) {
        revert UseWithdrawalQueue();
    }

    /// @notice Votes are checkpointed by timestamp (ERC-6372).
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @notice ERC-6372 clock description: timestamps.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    // --- transfers ---

    /// @notice ERC-20 transfer; reverts TransferToVault for `to` == the vault.
    function transfer(address to, uint256 value) public override(ERC20, IERC20) returns (bool) {
        if (to == address(this)) revert TransferToVault();
        return super.transfer(to, value);
    }

    /// @notice ERC-20 transferFrom; reverts TransferToVault for `to` == the vault.
    function transferFrom(address from, address to, uint256 value) public override(ERC20, IERC20) returns (bool) {
        if (to == address(this)) revert TransferToVault();
        return super.transferFrom(from, to, value);
    }

    // --- overrides ---

    /// @inheritdoc ERC4626
    function decimals() public view override(ERC20, ERC4626) returns (uint8) {
        return super.decimals();
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @dev Deposit/mint: counts the assets in `_totalAssets` before the transfer in and the mint. Shares
    /// are never minted to the vault itself (only escrow may hold them there).
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        if (receiver == address(this)) revert TransferToVault();
        if (shares == 0 && assets != 0) revert DepositTooSmall(assets);
        _totalAssets += assets;
        super._deposit(caller, receiver, assets, shares);
    }

    /// @dev Moves votes with the balances (ERC20Votes).
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    /// @inheritdoc ERC4626
    function _decimalsOffset() internal pure override returns (uint8) {
        return _DECIMALS_OFFSET;
    }
}
