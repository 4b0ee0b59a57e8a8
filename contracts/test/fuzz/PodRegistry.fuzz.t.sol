// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IPodRegistry} from "../../src/interfaces/IPodRegistry.sol";
import {Pod, PodParams, Runtime, ValidationMethod} from "../../src/types/PodTypes.sol";
import {PodRegistryFixture} from "../unit/PodRegistryFixture.sol";

/// @notice Property-based tests of pod parameters within and outside the governance caps.
contract PodRegistryFuzzTest is PodRegistryFixture {
    function _fuzzParams(
        uint8 runtime,
        uint8 validation,
        bool deterministic,
        uint32 minVramMiB,
        uint16 share,
        uint16 minReplicas,
        uint16 maxReplicas,
        uint128 price
    ) internal pure returns (PodParams memory) {
        return PodParams({
            runtime: Runtime(runtime % 4),
            validation: ValidationMethod(validation % 5),
            deterministic: deterministic,
            minVramMiB: minVramMiB,
            deployerShareBps: share,
            minReplicas: minReplicas,
            maxReplicas: maxReplicas,
            pricePerUnit: price
        });
    }

    function test_fuzz_register_withinCapsStoresParams(
        bytes32 podId,
        uint8 runtime,
        uint8 validation,
        uint32 minVramMiB,
        uint16 share,
        uint16 minReplicas,
        uint16 maxReplicas,
        uint128 price
    ) public {
        vm.assume(podId != bytes32(0));
        share = uint16(bound(share, 0, SHARE_CAP));
        price = uint128(bound(price, 0, PRICE_CAP));
        maxReplicas = uint16(bound(maxReplicas, 1, type(uint16).max));
        minReplicas = uint16(bound(minReplicas, 0, maxReplicas));
        PodParams memory params =
            _fuzzParams(runtime, validation, true, minVramMiB, share, minReplicas, maxReplicas, price);

        vm.prank(deployer);
        registry.register(podId, params);

        Pod memory p = registry.pod(podId);
        assertEq(keccak256(abi.encode(p.params)), keccak256(abi.encode(params)));
        (address who, uint16 terms) = registry.revenueTerms(podId);
        assertEq(who, deployer);
        assertEq(terms, share);
        assertTrue(registry.isServable(podId));
    }

    function test_fuzz_register_outsideCapsReverts(
        uint16 share,
        uint16 minReplicas,
        uint16 maxReplicas,
        uint128 price,
        uint8 validation,
        bool deterministic
    ) public {
        PodParams memory params = _fuzzParams(0, validation, deterministic, 0, share, minReplicas, maxReplicas, price);
        bytes memory expected;
        if (params.deployerShareBps > SHARE_CAP) {
            expected = abi.encodeWithSelector(IPodRegistry.DeployerShareAboveCap.selector, share, SHARE_CAP);
        } else if (params.pricePerUnit > PRICE_CAP) {
            expected = abi.encodeWithSelector(IPodRegistry.PriceAboveCap.selector, price, PRICE_CAP);
        } else if (maxReplicas == 0 || minReplicas > maxReplicas) {
            expected = abi.encodeWithSelector(IPodRegistry.InvalidReplicaBounds.selector, minReplicas, maxReplicas);
        } else if (params.validation == ValidationMethod.Reexecution && !deterministic) {
            expected =
                abi.encodeWithSelector(IPodRegistry.ValidationNeedsDeterminism.selector, ValidationMethod.Reexecution);
        }
        if (expected.length != 0) vm.expectRevert(expected);
        _register(params);
        assertEq(registry.exists(POD_ID), expected.length == 0);
    }

    function test_fuzz_updateTerms_respectsCaps(uint128 price, uint16 share) public {
        _register(_params());
        bool ok = share <= SHARE_CAP && price <= PRICE_CAP;
        if (share > SHARE_CAP) {
            vm.expectRevert(abi.encodeWithSelector(IPodRegistry.DeployerShareAboveCap.selector, share, SHARE_CAP));
        } else if (price > PRICE_CAP) {
            vm.expectRevert(abi.encodeWithSelector(IPodRegistry.PriceAboveCap.selector, price, PRICE_CAP));
        }
        vm.prank(deployer);
        registry.updateTerms(POD_ID, price, share);
        Pod memory p = registry.pod(POD_ID);
        assertEq(p.params.pricePerUnit, ok ? price : _params().pricePerUnit);
        assertEq(p.params.deployerShareBps, ok ? share : _params().deployerShareBps);
    }

    function test_fuzz_updateScaling_requiresValidBounds(uint16 minReplicas, uint16 maxReplicas) public {
        _register(_params());
        bool ok = maxReplicas != 0 && minReplicas <= maxReplicas;
        if (!ok) {
            vm.expectRevert(
                abi.encodeWithSelector(IPodRegistry.InvalidReplicaBounds.selector, minReplicas, maxReplicas)
            );
        }
        vm.prank(deployer);
        registry.updateScaling(POD_ID, minReplicas, maxReplicas);
        if (ok) {
            assertEq(registry.pod(POD_ID).params.minReplicas, minReplicas);
            assertEq(registry.pod(POD_ID).params.maxReplicas, maxReplicas);
        }
    }

    function test_fuzz_setMaxDeployerShareBps_neverAboveLimit(uint16 cap) public {
        if (cap > 5_000) {
            vm.expectRevert(abi.encodeWithSelector(IPodRegistry.DeployerShareCapTooHigh.selector, cap, 5_000));
        }
        vm.prank(governance);
        registry.setMaxDeployerShareBps(cap);
        assertLe(registry.maxDeployerShareBps(), 5_000);
    }

    function test_fuzz_onlyDeployerMutates(address caller) public {
        vm.assume(caller != deployer);
        _register(_params());
        vm.startPrank(caller);
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.NotPodDeployer.selector, POD_ID, caller));
        registry.updateTerms(POD_ID, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.NotPodDeployer.selector, POD_ID, caller));
        registry.retire(POD_ID);
        vm.stopPrank();
        assertTrue(registry.isServable(POD_ID));
    }
}
