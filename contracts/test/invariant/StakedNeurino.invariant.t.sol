// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {StdInvariant} from "forge-std/StdInvariant.sol";
import {Test} from "forge-std/Test.sol";
import {console2} from "forge-std/console2.sol";

import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {StakedNeurino} from "../../src/StakedNeurino.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";
import {IStakedNeurino} from "../../src/interfaces/IStakedNeurino.sol";
import {StakedNeurinoHandler} from "./handlers/StakedNeurinoHandler.sol";

contract StakedNeurinoInvariantTest is StdInvariant, Test {
    uint256 internal constant ACTOR_FUNDS = 10_000_000e18;

    NeurinoToken internal neu;
    StakedNeurino internal vault;
    StakedNeurinoHandler internal handler;
    address internal governance = makeAddr("governance");
    address internal holder = makeAddr("holder");
    address internal rewarder = makeAddr("rewarder");

    function setUp() public {
        neu = new NeurinoToken(
            INeurinoToken.Allocation({
                earlyCommunity: holder,
                initialLiquidity: holder,
                marketing: holder,
                privateSale: holder,
                teamAndAdvisors: holder,
                treasury: holder,
                emission: holder
            })
        );
        vault = new StakedNeurino(neu, governance);

        address[] memory actors = new address[](4);
        actors[0] = makeAddr("alice");
        actors[1] = makeAddr("bob");
        actors[2] = makeAddr("carol");
        actors[3] = makeAddr("dave");
        for (uint256 i; i < actors.length; ++i) {
            _fundAndApprove(actors[i], ACTOR_FUNDS);
        }
        _fundAndApprove(rewarder, 100_000_000e18);
        bytes32 role = vault.REWARDER_ROLE();
        vm.prank(governance);
        vault.grantRole(role, rewarder);

        handler = new StakedNeurinoHandler(neu, vault, rewarder, governance, actors);

        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = handler.deposit.selector;
        selectors[1] = handler.mint.selector;
        selectors[2] = handler.transfer.selector;
        selectors[3] = handler.delegate.selector;
        selectors[4] = handler.addRewards.selector;
        selectors[5] = handler.donate.selector;
        selectors[6] = handler.requestRedeem.selector;
        selectors[7] = handler.warp.selector;
        selectors[8] = handler.claim.selector;
        selectors[9] = handler.skim.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    function _fundAndApprove(address who, uint256 amount) internal {
        vm.prank(holder);
        require(neu.transfer(who, amount));
        vm.prank(who);
        neu.approve(address(vault), type(uint256).max);
    }

    /// The vault always holds at least the NEU it accounts to stakers (donations only add to the balance).
    function invariant_balanceCoversTotalAssets() public view {
        assertGe(neu.balanceOf(address(vault)), vault.totalAssets());
    }

    /// The balance is exactly the accounted assets plus donations not yet skimmed: nothing leaks.
    function invariant_balanceIsAssetsPlusDonations() public view {
        assertEq(
            neu.balanceOf(address(vault)),
            vault.totalAssets() + handler.ghost_donated() - handler.ghost_skimmed()
        );
    }

    /// The accounted assets cover every share, escrowed ones included, rounding included: valuing the whole
    /// supply never asks for more NEU than the vault accounts.
    function invariant_assetsCoverAllShares() public view {
        assertLe(vault.convertToAssets(vault.totalSupply()), vault.totalAssets());
    }

    /// The accounted assets cover every free share at today's rate plus what every queued claim will pay.
    function invariant_assetsCoverFreeSharesAndQueuedClaims() public view {
        uint256 freeShares = vault.totalSupply() - vault.pendingShares();
        assertLe(vault.convertToAssets(freeShares) + handler.ghost_pendingAssets(), vault.totalAssets());
    }

    /// NEU is conserved: everything claimed plus what the vault still accounts equals everything deposited
    /// plus every reward. Donations never enter the accounting.
    function invariant_claimsPlusAssetsEqualDepositsPlusRewards() public view {
        assertEq(
            handler.ghost_claimed() + vault.totalAssets(), handler.ghost_deposited() + handler.ghost_rewards()
        );
    }

    /// No actor ever ends with more NEU (claimed, or the value of what it still holds or has queued) than
    /// it put in, plus the value of shares it was given, plus its share of the rewards — minus the value of
    /// shares it gave away. Exact to 1e-18 wei: rounding never profits a staker.
    function invariant_noActorProfitsBeyondRewardShare() public view {
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            address a = actors[i];
            assertLe(handler.measuredWad(a) + handler.ghost_valueOutWad(a), handler.boundWad(a));
        }
    }

    /// The exchange rate never went down, and a donation never moved it.
    function invariant_rateNeverFalls() public view {
        assertFalse(handler.ghost_rateFell());
    }

    /// Escrowed shares are exactly the vault's own stNEU and the shares of the unclaimed requests; all
    /// stNEU is held by the actors or in escrow.
    function invariant_escrowMatchesRequests() public view {
        uint256[] memory ids = handler.requestIds();
        uint256 open;
        for (uint256 i; i < ids.length; ++i) {
            IStakedNeurino.WithdrawalRequest memory r = vault.withdrawalRequest(ids[i]);
            if (!r.claimed) open += r.shares;
        }
        assertEq(vault.pendingShares(), open);
        assertEq(vault.balanceOf(address(vault)), open);

        address[] memory actors = handler.actors();
        uint256 held;
        for (uint256 i; i < actors.length; ++i) {
            held += vault.balanceOf(actors[i]);
        }
        assertEq(held + open, vault.totalSupply());
    }

    /// Votes follow the free shares of those who delegated; escrowed shares carry no vote.
    function invariant_votesMatchDelegatedFreeShares() public view {
        address[] memory actors = handler.actors();
        uint256 votes;
        uint256 delegated;
        for (uint256 i; i < actors.length; ++i) {
            votes += vault.getVotes(actors[i]);
            if (vault.delegates(actors[i]) != address(0)) delegated += vault.balanceOf(actors[i]);
        }
        assertEq(votes, delegated);
        assertEq(vault.getVotes(address(vault)), 0);
    }

    /// Every deposit minted what previewDeposit said, every mint took what previewMint said, and every
    /// claim paid the smaller of the value fixed at request and the shares' value at claim.
    function invariant_resultsMatchPreviews() public view {
        assertEq(handler.ghost_previewMismatches(), 0);
    }

    /// The supply of NEU never changes.
    function invariant_neuSupplyFixed() public view {
        assertEq(neu.totalSupply(), 1e27);
    }

    /// Logs the action mix of the run (visible with -vv), to check that every action gets exercised.
    function afterInvariant() external view {
        console2.log("deposit", handler.calls("deposit"), "mint", handler.calls("mint"));
        console2.log("transfer", handler.calls("transfer"), "delegate", handler.calls("delegate"));
        console2.log("addRewards", handler.calls("addRewards"), "donate", handler.calls("donate"));
        console2.log("requestRedeem", handler.calls("requestRedeem"), "claim", handler.calls("claim"));
        console2.log("warp", handler.calls("warp"), "skim", handler.calls("skim"));
    }
}
