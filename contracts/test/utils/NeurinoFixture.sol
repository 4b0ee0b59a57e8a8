// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ComputeCredits} from "../../src/ComputeCredits.sol";
import {ComputeReservoir} from "../../src/ComputeReservoir.sol";
import {EmissionVault} from "../../src/EmissionVault.sol";
import {NeurinoToken} from "../../src/NeurinoToken.sol";
import {NeurinoVesting} from "../../src/NeurinoVesting.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {PodRegistry} from "../../src/PodRegistry.sol";
import {Settlement} from "../../src/Settlement.sol";
import {StakedNeurino} from "../../src/StakedNeurino.sol";
import {INeurinoToken} from "../../src/interfaces/INeurinoToken.sol";
import {IComputeCredits} from "../../src/interfaces/IComputeCredits.sol";
import {IPodRegistry} from "../../src/interfaces/IPodRegistry.sol";
import {IStakedNeurino} from "../../src/interfaces/IStakedNeurino.sol";
import {PodParams, Runtime, ValidationMethod} from "../../src/types/PodTypes.sol";
import {Batch, Debit, Line} from "../../src/types/SettlementTypes.sol";

/// @notice The whole Neurino protocol, deployed and wired the way the TypeScript deploy routine does it:
/// vesting wallets, emission vault (at the token's predicted address), NEU, compute reservoir, stNEU, node and
/// pod registries, compute credits and settlement; then the role grants (Settlement may debit credits and
/// reward stNEU; one router may settle). Team and private-sale allocations go to NeurinoVesting wallets with
/// the vesting contract's documented terms; the treasury and the other buckets are plain accounts here, and
/// governance is a plain account too. Tests inherit it and call `_deployNeurino()` (the default `setUp`
/// does). The parameters below are the devnet defaults.
abstract contract NeurinoFixture is Test {
    // --- devnet parameters ---
    // Vesting terms: NeurinoVesting's documented constants (3-month cliff, 24 months), checked on deploy.
    uint64 internal constant MONTH = 365 days / 12;
    uint64 internal constant TEAM_CLIFF = 3 * MONTH;
    uint64 internal constant TEAM_DURATION = 24 * MONTH;
    uint64 internal constant PRIVATE_SALE_CLIFF = 3 * MONTH;
    uint64 internal constant PRIVATE_SALE_DURATION = 24 * MONTH;
    uint256 internal constant MIN_STAKE = 10_000e18;
    uint64 internal constant AUDIT_WINDOW = 3 days;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    uint16 internal constant MAX_DEPLOYER_SHARE_BPS = 3_000;
    uint256 internal constant MAX_PRICE_PER_UNIT = 1e18;
    uint64 internal constant WITHDRAWAL_DELAY = 1 days;
    uint16 internal constant BUYBACK_BPS = 500;
    uint16 internal constant FRONTEND_BPS = 1_000;

    // --- accounts ---
    address internal governance = makeAddr("governance");
    address internal treasury = makeAddr("treasury");
    address internal earlyCommunity = makeAddr("earlyCommunity");
    address internal initialLiquidity = makeAddr("initialLiquidity");
    address internal marketing = makeAddr("marketing");
    address internal teamBeneficiary = makeAddr("teamBeneficiary");
    address internal privateSaleBeneficiary = makeAddr("privateSaleBeneficiary");
    address internal router = makeAddr("router");

    // --- contracts ---
    NeurinoVesting internal teamVesting;
    NeurinoVesting internal privateSaleVesting;
    EmissionVault internal emissionVault;
    NeurinoToken internal neu;
    ComputeReservoir internal reservoir;
    StakedNeurino internal stakedNeu;
    NodeRegistry internal nodes;
    PodRegistry internal pods;
    ComputeCredits internal credits;
    Settlement internal settlement;

    function setUp() public virtual {
        _deployNeurino();
    }

    function _deployNeurino() internal {
        uint64 start = uint64(block.timestamp);
        teamVesting = new NeurinoVesting(teamBeneficiary, start, TEAM_DURATION, TEAM_CLIFF);
        privateSaleVesting =
            new NeurinoVesting(privateSaleBeneficiary, start, PRIVATE_SALE_DURATION, PRIVATE_SALE_CLIFF);
        require(
            teamVesting.TEAM_CLIFF() == TEAM_CLIFF && teamVesting.TEAM_DURATION() == TEAM_DURATION
                && teamVesting.PRIVATE_SALE_CLIFF() == PRIVATE_SALE_CLIFF
                && teamVesting.PRIVATE_SALE_DURATION() == PRIVATE_SALE_DURATION,
            "NeurinoFixture: vesting terms out of date"
        );

        // The emission vault and the token each need the other's address: deploy the vault against the
        // token's predicted address (the next deployment after the vault).
        address predictedNeu = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        emissionVault = new EmissionVault(IERC20(predictedNeu), governance);
        neu = new NeurinoToken(
            INeurinoToken.Allocation({
                earlyCommunity: earlyCommunity,
                initialLiquidity: initialLiquidity,
                marketing: marketing,
                privateSale: address(privateSaleVesting),
                teamAndAdvisors: address(teamVesting),
                treasury: treasury,
                emission: address(emissionVault)
            })
        );
        require(address(neu) == predictedNeu, "NeurinoFixture: token address mismatch");

        reservoir = new ComputeReservoir(neu, governance);
        stakedNeu = new StakedNeurino(neu, governance);
        nodes = new NodeRegistry(neu, address(reservoir), governance, MIN_STAKE, AUDIT_WINDOW, UNBONDING_DELAY);
        pods = new PodRegistry(governance, MAX_DEPLOYER_SHARE_BPS, MAX_PRICE_PER_UNIT);
        credits = new ComputeCredits(neu, governance, WITHDRAWAL_DELAY);
        settlement = new Settlement(
            neu,
            IComputeCredits(address(credits)),
            IPodRegistry(address(pods)),
            IStakedNeurino(address(stakedNeu)),
            governance,
            BUYBACK_BPS,
            FRONTEND_BPS
        );

        vm.startPrank(governance);
        credits.grantRole(credits.SETTLEMENT_ROLE(), address(settlement));
        stakedNeu.grantRole(stakedNeu.REWARDER_ROLE(), address(settlement));
        settlement.grantRole(settlement.ROUTER_ROLE(), router);
        vm.stopPrank();

        vm.label(address(neu), "NEU");
        vm.label(address(stakedNeu), "stNEU");
        vm.label(address(credits), "ComputeCredits");
        vm.label(address(settlement), "Settlement");
        vm.label(address(pods), "PodRegistry");
        vm.label(address(nodes), "NodeRegistry");
        vm.label(address(reservoir), "ComputeReservoir");
        vm.label(address(emissionVault), "EmissionVault");
    }

    // --- helpers ---

    /// @dev Sends `amount` NEU from the treasury allocation to `to` (keeps the supply unchanged).
    function _fund(address to, uint256 amount) internal {
        vm.prank(treasury);
        require(neu.transfer(to, amount), "NeurinoFixture: transfer failed");
    }

    /// @dev Funds `payer` and deposits `amount` NEU as its compute credits.
    function _depositCredits(address payer, uint256 amount) internal {
        _fund(payer, amount);
        vm.startPrank(payer);
        neu.approve(address(credits), amount);
        credits.deposit(amount);
        vm.stopPrank();
    }

    /// @dev Registers pod `podId` with `deployer` and a deployer share of `shareBps`.
    function _registerPod(address deployer, bytes32 podId, uint16 shareBps) internal {
        vm.prank(deployer);
        pods.register(
            podId,
            PodParams({
                runtime: Runtime.LlamaCpp,
                validation: ValidationMethod.StatisticalLLM,
                deterministic: false,
                minVramMiB: 4_096,
                deployerShareBps: shareBps,
                minReplicas: 0,
                maxReplicas: 8,
                pricePerUnit: 1e9
            })
        );
    }

    /// @dev A settlement line.
    function _line(bytes32 podId, address node, address frontend, uint256 amount) internal pure returns (Line memory) {
        return Line({podId: podId, node: node, frontend: frontend, amount: amount, computeUnits: amount / 1e9});
    }

    /// @dev A batch with one debit and one line.
    function _batch1(uint64 sequence, address payer, bytes32 podId, address node, address frontend, uint256 amount)
        internal
        pure
        returns (Batch memory batch)
    {
        batch.sequence = sequence;
        batch.receiptsRoot = keccak256(abi.encode("receipts", sequence, payer, podId, node, frontend, amount));
        batch.receiptCount = 1;
        batch.debits = new Debit[](1);
        batch.debits[0] = Debit({payer: payer, amount: amount});
        batch.lines = new Line[](1);
        batch.lines[0] = _line(podId, node, frontend, amount);
    }

    /// @dev Registers `node` in NodeRegistry with the minimum stake (operator = node).
    function _registerNode(address node) internal {
        _fund(node, MIN_STAKE);
        vm.startPrank(node);
        neu.approve(address(nodes), MIN_STAKE);
        nodes.register(node, keccak256(abi.encode(node)), MIN_STAKE);
        vm.stopPrank();
    }
}
