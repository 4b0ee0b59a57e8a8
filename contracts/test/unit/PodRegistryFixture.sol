// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {PodRegistry} from "../../src/PodRegistry.sol";
import {PodParams, Runtime, ValidationMethod} from "../../src/types/PodTypes.sol";

/// @notice Shared fixture: a pod registry with a 20 % share cap and a price cap of 1e18 per unit.
abstract contract PodRegistryFixture is Test {
    uint16 internal constant SHARE_CAP = 2_000;
    uint128 internal constant PRICE_CAP = 1e18;
    bytes32 internal constant POD_ID = keccak256("pod-spec-digest");

    PodRegistry internal registry;
    address internal governance = makeAddr("governance");
    address internal deployer = makeAddr("deployer");
    address internal stranger = makeAddr("stranger");

    function setUp() public virtual {
        registry = new PodRegistry(governance, SHARE_CAP, PRICE_CAP);
    }

    function _params() internal pure returns (PodParams memory) {
        return PodParams({
            runtime: Runtime.LlamaCpp,
            validation: ValidationMethod.StatisticalLLM,
            deterministic: false,
            minVramMiB: 8_192,
            deployerShareBps: 1_000,
            minReplicas: 0,
            maxReplicas: 8,
            pricePerUnit: 1e12
        });
    }

    function _register(PodParams memory params) internal {
        vm.prank(deployer);
        registry.register(POD_ID, params);
    }
}
