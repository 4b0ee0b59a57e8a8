// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {NeurinoToken} from "../../../src/NeurinoToken.sol";
import {StakedNeurino} from "../../../src/StakedNeurino.sol";
import {IStakedNeurino} from "../../../src/interfaces/IStakedNeurino.sol";

/// @notice Drives the stNEU vault for the invariant suite over a fixed set of actors: deposit, mint,
/// transfer, delegate, addRewards, donate (plain transfer), requestRedeem, warp, claim and skim. Inputs are
/// bounded so that calls succeed; ghost variables record every NEU flow as it actually happened (the handler
/// never reverts on a surprising result, it counts it, so the invariants see it).
/// @dev Fair-value bookkeeping (per actor, in wei * 1e18 so rounding errors far below one wei still show):
/// an actor's measured value is what it was paid by claims + the exact value of its free shares at the
/// current rate + what its open requests will pay. Its bound is what it deposited + the value of shares it
/// received - the value of shares it sent + its share of every rise of the exchange rate it held shares
/// through (rewards, and the rewards escrowed shares leave behind when claimed). Values received are
/// rounded up and values sent rounded down, so the bound is never below the truth if the vault rounds in
/// its own favour.
contract StakedNeurinoHandler is CommonBase, StdCheats, StdUtils {
    using Math for uint256;

    uint256 internal constant V = 1e6; // virtual shares
    uint256 internal constant WAD = 1e18;

    NeurinoToken public immutable neu;
    StakedNeurino public immutable vault;
    address public immutable rewarder;
    address public immutable governance;
    address public immutable sink = address(0x51A4);

    address[] internal _actors;
    uint256[] internal _requestIds;

    // --- ghost sums (wei) ---
    uint256 public ghost_deposited; // NEU paid in by deposit and mint
    uint256 public ghost_rewards; // NEU added by addRewards
    uint256 public ghost_donated; // NEU sent to the vault by plain transfers
    uint256 public ghost_claimed; // NEU paid out by claims
    uint256 public ghost_skimmed; // NEU sent out by skim
    uint256 public ghost_pendingAssets; // assetsAtRequest of unclaimed requests
    bool public ghost_rateFell; // set if the exchange rate ever went down
    uint256 public ghost_previewMismatches; // deposits, mints and claims that differed from their preview

    // --- per-actor fair-value ghosts ---
    mapping(address actor => uint256) public ghost_in; // wei deposited
    mapping(address actor => uint256) public ghost_out; // wei claimed
    mapping(address actor => uint256) public ghost_valueInWad; // value of shares received
    mapping(address actor => uint256) public ghost_valueOutWad; // value of shares sent
    mapping(address actor => uint256) public ghost_rateCreditWad; // share of rate rises

    mapping(bytes32 call => uint256) public calls;

    constructor(NeurinoToken neu_, StakedNeurino vault_, address rewarder_, address governance_, address[] memory actors_) {
        neu = neu_;
        vault = vault_;
        rewarder = rewarder_;
        governance = governance_;
        _actors = actors_;
    }

    // --- actions ---

    function deposit(uint256 actorSeed, uint256 amountSeed) external {
        address actor = _actor(actorSeed);
        uint256 assets = _amount(amountSeed, neu.balanceOf(actor));
        if (assets == 0 || vault.previewDeposit(assets) == 0) return;
        (uint256 num0, uint256 den0, uint256[] memory before) = _snapshot();
        uint256 preview = vault.previewDeposit(assets);
        vm.prank(actor);
        uint256 shares = vault.deposit(assets, actor);
        if (shares != preview) ++ghost_previewMismatches;
        ghost_deposited += assets;
        ghost_in[actor] += assets;
        _creditRateRise(num0, den0, before);
        ++calls["deposit"];
    }

    function mint(uint256 actorSeed, uint256 amountSeed) external {
        address actor = _actor(actorSeed);
        uint256 budget = _amount(amountSeed, neu.balanceOf(actor));
        uint256 shares = vault.convertToShares(budget);
        if (shares == 0) return;
        uint256 assets = vault.previewMint(shares);
        if (assets > neu.balanceOf(actor)) return;
        (uint256 num0, uint256 den0, uint256[] memory before) = _snapshot();
        vm.prank(actor);
        uint256 paid = vault.mint(shares, actor);
        if (paid != assets) ++ghost_previewMismatches;
        ghost_deposited += paid;
        ghost_in[actor] += paid;
        _creditRateRise(num0, den0, before);
        ++calls["mint"];
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amountSeed) external {
        address from = _holder(fromSeed);
        address to = _actor(toSeed);
        uint256 shares = _amount(amountSeed, vault.balanceOf(from));
        if (shares == 0) return;
        (uint256 num, uint256 den) = _rate();
        ghost_valueOutWad[from] += (shares * WAD).mulDiv(num, den, Math.Rounding.Floor);
        ghost_valueInWad[to] += (shares * WAD).mulDiv(num, den, Math.Rounding.Ceil);
        vm.prank(from);
        require(vault.transfer(to, shares), "handler: transfer");
        ++calls["transfer"];
    }

    function delegate(uint256 actorSeed, uint256 delegateeSeed) external {
        address actor = _actor(actorSeed);
        vm.prank(actor);
        vault.delegate(_actor(delegateeSeed));
        ++calls["delegate"];
    }

    function addRewards(uint256 amountSeed) external {
        uint256 assets = _amount(amountSeed, neu.balanceOf(rewarder));
        if (assets == 0) return;
        (uint256 num0, uint256 den0, uint256[] memory before) = _snapshot();
        vm.prank(rewarder);
        vault.addRewards(assets);
        ghost_rewards += assets;
        _creditRateRise(num0, den0, before);
        ++calls["addRewards"];
    }

    function donate(uint256 actorSeed, uint256 amountSeed) external {
        address actor = _actor(actorSeed);
        uint256 assets = _amount(amountSeed, neu.balanceOf(actor));
        if (assets == 0) return;
        (uint256 num0, uint256 den0) = _rate();
        vm.prank(actor);
        require(neu.transfer(address(vault), assets), "handler: donate");
        ghost_donated += assets;
        (uint256 num1, uint256 den1) = _rate();
        if (num1 != num0 || den1 != den0) ghost_rateFell = true; // a donation must not move the rate at all
        ++calls["donate"];
    }

    function requestRedeem(uint256 actorSeed, uint256 amountSeed) external {
        address actor = _holder(actorSeed);
        uint256 shares = _amount(amountSeed, vault.balanceOf(actor));
        if (shares == 0 || vault.previewRedeem(shares) == 0) return;
        vm.prank(actor);
        uint256 id = vault.requestRedeem(shares);
        _requestIds.push(id);
        ghost_pendingAssets += vault.withdrawalRequest(id).assetsAtRequest;
        ++calls["requestRedeem"];
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + _bound(secondsSeed, 1 hours, 400 days));
        ++calls["warp"];
    }

    /// @dev Claims an open request that is due; if none is due yet, it first fast-forwards to the earliest
    /// open request's claimableAt (so that claims happen within a short run; `warp` covers waiting).
    function claim(uint256 requestSeed) external {
        uint256 n = _requestIds.length;
        if (n == 0) return;
        uint256 start = requestSeed % n;
        _warpToFirstClaimable();
        for (uint256 k; k < n; ++k) {
            uint256 id = _requestIds[(start + k) % n];
            IStakedNeurino.WithdrawalRequest memory r = vault.withdrawalRequest(id);
            // forge-lint: disable-next-line(block-timestamp)
            if (r.claimed || r.claimableAt > block.timestamp) continue;
            (uint256 num0, uint256 den0, uint256[] memory before) = _snapshot();
            uint256 expected = Math.min(r.assetsAtRequest, vault.convertToAssets(r.shares));
            vm.prank(r.owner);
            uint256 paid = vault.claim(id);
            if (paid != expected) ++ghost_previewMismatches;
            ghost_claimed += paid;
            ghost_out[r.owner] += paid;
            ghost_pendingAssets -= r.assetsAtRequest;
            _creditRateRise(num0, den0, before);
            ++calls["claim"];
            return;
        }
    }

    function _warpToFirstClaimable() internal {
        uint256 first = type(uint256).max;
        for (uint256 i; i < _requestIds.length; ++i) {
            IStakedNeurino.WithdrawalRequest memory r = vault.withdrawalRequest(_requestIds[i]);
            if (!r.claimed && r.claimableAt < first) first = r.claimableAt;
        }
        // forge-lint: disable-next-line(block-timestamp)
        if (first != type(uint256).max && first > block.timestamp) vm.warp(first);
    }

    function skim() external {
        if (neu.balanceOf(address(vault)) <= vault.totalAssets()) return;
        vm.prank(governance);
        ghost_skimmed += vault.skim(sink);
        ++calls["skim"];
    }

    // --- views for the invariants ---

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function requestIds() external view returns (uint256[] memory) {
        return _requestIds;
    }

    /// @notice The actor's measured value, in wei * 1e18: claims received + exact value of free shares +
    /// what its open requests will pay.
    function measuredWad(address actor) public view returns (uint256 value) {
        (uint256 num, uint256 den) = _rate();
        value = ghost_out[actor] * WAD + (vault.balanceOf(actor) * WAD).mulDiv(num, den, Math.Rounding.Floor);
        for (uint256 i; i < _requestIds.length; ++i) {
            IStakedNeurino.WithdrawalRequest memory r = vault.withdrawalRequest(_requestIds[i]);
            if (r.owner != actor || r.claimed) continue;
            value += Math.min(r.assetsAtRequest, vault.convertToAssets(r.shares)) * WAD;
        }
    }

    /// @notice The actor's fair-value bound, in wei * 1e18, plus the value of shares it sent away (kept on
    /// this side so nothing is subtracted): deposits + value of shares received + share of rate rises.
    function boundWad(address actor) external view returns (uint256) {
        return ghost_in[actor] * WAD + ghost_valueInWad[actor] + ghost_rateCreditWad[actor];
    }

    // --- internals ---

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    /// @dev The first actor from `seed` on that holds stNEU (or the seed's actor if none does).
    function _holder(uint256 seed) internal view returns (address) {
        uint256 n = _actors.length;
        uint256 start = seed % n;
        for (uint256 k; k < n; ++k) {
            address a = _actors[(start + k) % n];
            if (vault.balanceOf(a) > 0) return a;
        }
        return _actor(seed);
    }

    /// @dev An amount in [0, max] drawn from three scales, so that rounding at a few wei gets exercised too.
    function _amount(uint256 seed, uint256 max) internal pure returns (uint256) {
        if (max == 0) return 0;
        uint256 scale = seed % 3;
        uint256 cap = scale == 0 ? 1e6 : scale == 1 ? 1e21 : max;
        if (cap > max) cap = max;
        return _bound(seed / 3, 1, cap);
    }

    function _rate() internal view returns (uint256 num, uint256 den) {
        return (vault.totalAssets() + 1, vault.totalSupply() + V);
    }

    function _snapshot() internal view returns (uint256 num, uint256 den, uint256[] memory balances) {
        (num, den) = _rate();
        balances = new uint256[](_actors.length);
        for (uint256 i; i < _actors.length; ++i) {
            balances[i] = vault.balanceOf(_actors[i]);
        }
    }

    /// @dev Credits every actor with its exact gain from the rate's move, on the shares it held before the
    /// call, rounded up; records a fall of the rate.
    function _creditRateRise(uint256 num0, uint256 den0, uint256[] memory before) internal {
        (uint256 num1, uint256 den1) = _rate();
        uint256 lhs = num1 * den0;
        uint256 rhs = num0 * den1;
        if (lhs < rhs) {
            ghost_rateFell = true;
            return;
        }
        uint256 diff = lhs - rhs;
        if (diff == 0) return;
        uint256 den = den0 * den1;
        for (uint256 i; i < _actors.length; ++i) {
            if (before[i] == 0) continue;
            ghost_rateCreditWad[_actors[i]] += (before[i] * WAD).mulDiv(diff, den, Math.Rounding.Ceil);
        }
    }
}
