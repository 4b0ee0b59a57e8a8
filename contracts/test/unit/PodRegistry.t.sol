// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {PodRegistry} from "../../src/PodRegistry.sol";
import {IPodRegistry} from "../../src/interfaces/IPodRegistry.sol";
import {Pod, PodParams, Runtime, ValidationMethod} from "../../src/types/PodTypes.sol";
import {PodRegistryFixture} from "./PodRegistryFixture.sol";

/// @notice Unit tests of PodRegistry: one per function and one per custom error.
contract PodRegistryTest is PodRegistryFixture {
    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_constructor_setsCapsAndGovernance() public view {
        assertEq(registry.maxDeployerShareBps(), SHARE_CAP);
        assertEq(registry.maxPricePerUnit(), PRICE_CAP);
        assertEq(registry.DEPLOYER_SHARE_LIMIT_BPS(), 5_000);
        assertEq(registry.podCount(), 0);
        assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), governance));
    }

    function test_constructor_failsIfZeroAddress() public {
        vm.expectRevert(IPodRegistry.ZeroAddress.selector);
        new PodRegistry(address(0), SHARE_CAP, PRICE_CAP);
    }

    function test_constructor_failsIfDeployerShareCapTooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.DeployerShareCapTooHigh.selector, 5_001, 5_000));
        new PodRegistry(governance, 5_001, PRICE_CAP);
    }

    function test_constructor_failsIfInvalidPriceCap() public {
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.InvalidPriceCap.selector, 0));
        new PodRegistry(governance, SHARE_CAP, 0);
    }

    /*//////////////////////////////////////////////////////////////
                                REGISTER
    //////////////////////////////////////////////////////////////*/

    function test_register_storesPod() public {
        vm.warp(5_000);
        PodParams memory params = _params();
        vm.expectEmit(address(registry));
        emit IPodRegistry.PodRegistered(POD_ID, deployer, params);
        _register(params);

        Pod memory p = registry.pod(POD_ID);
        assertEq(p.deployer, deployer);
        assertEq(p.registeredAt, 5_000);
        assertFalse(p.retired);
        assertEq(keccak256(abi.encode(p.params)), keccak256(abi.encode(params)));
        assertTrue(registry.exists(POD_ID));
        assertTrue(registry.isServable(POD_ID));
        assertEq(registry.podCount(), 1);
    }

    function test_register_acceptsValuesAtCaps() public {
        PodParams memory params = _params();
        params.deployerShareBps = SHARE_CAP;
        params.pricePerUnit = PRICE_CAP;
        params.minReplicas = 3;
        params.maxReplicas = 3;
        _register(params);
        (address who, uint16 share) = registry.revenueTerms(POD_ID);
        assertEq(who, deployer);
        assertEq(share, SHARE_CAP);
    }

    function test_register_deterministicReexecutionPod() public {
        PodParams memory params = _params();
        params.runtime = Runtime.Process;
        params.validation = ValidationMethod.Reexecution;
        params.deterministic = true;
        params.minVramMiB = 0;
        _register(params);
        assertEq(uint8(registry.pod(POD_ID).params.validation), uint8(ValidationMethod.Reexecution));
    }

    function test_register_failsIfInvalidPodId() public {
        vm.expectRevert(IPodRegistry.InvalidPodId.selector);
        vm.prank(deployer);
        registry.register(bytes32(0), _params());
    }

    function test_register_failsIfPodAlreadyRegistered() public {
        _register(_params());
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.PodAlreadyRegistered.selector, POD_ID));
        vm.prank(stranger);
        registry.register(POD_ID, _params());
    }

    function test_register_failsIfDeployerShareAboveCap() public {
        PodParams memory params = _params();
        params.deployerShareBps = SHARE_CAP + 1;
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.DeployerShareAboveCap.selector, SHARE_CAP + 1, SHARE_CAP));
        _register(params);
    }

    function test_register_failsIfPriceAboveCap() public {
        PodParams memory params = _params();
        params.pricePerUnit = PRICE_CAP + 1;
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.PriceAboveCap.selector, PRICE_CAP + 1, PRICE_CAP));
        _register(params);
    }

    function test_register_failsIfInvalidReplicaBounds() public {
        PodParams memory params = _params();
        params.minReplicas = 5;
        params.maxReplicas = 4;
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.InvalidReplicaBounds.selector, 5, 4));
        _register(params);
    }

    function test_register_failsIfMaxReplicasZero() public {
        PodParams memory params = _params();
        params.maxReplicas = 0;
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.InvalidReplicaBounds.selector, 0, 0));
        _register(params);
    }

    function test_register_failsIfValidationNeedsDeterminism() public {
        PodParams memory params = _params();
        params.validation = ValidationMethod.Reexecution;
        params.deterministic = false;
        vm.expectRevert(
            abi.encodeWithSelector(IPodRegistry.ValidationNeedsDeterminism.selector, ValidationMethod.Reexecution)
        );
        _register(params);
    }

    /*//////////////////////////////////////////////////////////////
                              UPDATE TERMS
    //////////////////////////////////////////////////////////////*/

    function test_updateTerms_changesPriceAndShare() public {
        _register(_params());
        vm.expectEmit(address(registry));
        emit IPodRegistry.PodTermsUpdated(POD_ID, 2e12, 500);
        vm.prank(deployer);
        registry.updateTerms(POD_ID, 2e12, 500);
        Pod memory p = registry.pod(POD_ID);
        assertEq(p.params.pricePerUnit, 2e12);
        assertEq(p.params.deployerShareBps, 500);
        assertEq(p.params.maxReplicas, 8);
    }

    function test_updateTerms_failsIfUnknownPod() public {
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.UnknownPod.selector, POD_ID));
        vm.prank(deployer);
        registry.updateTerms(POD_ID, 1, 1);
    }

    function test_updateTerms_failsIfNotPodDeployer() public {
        _register(_params());
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.NotPodDeployer.selector, POD_ID, stranger));
        vm.prank(stranger);
        registry.updateTerms(POD_ID, 1, 1);
    }

    function test_updateTerms_failsIfPodIsRetired() public {
        _register(_params());
        vm.prank(deployer);
        registry.retire(POD_ID);
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.PodIsRetired.selector, POD_ID));
        vm.prank(deployer);
        registry.updateTerms(POD_ID, 1, 1);
    }

    function test_updateTerms_failsIfShareOrPriceAboveCap() public {
        _register(_params());
        vm.startPrank(deployer);
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.DeployerShareAboveCap.selector, SHARE_CAP + 1, SHARE_CAP));
        registry.updateTerms(POD_ID, 1, SHARE_CAP + 1);
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.PriceAboveCap.selector, PRICE_CAP + 1, PRICE_CAP));
        registry.updateTerms(POD_ID, PRICE_CAP + 1, 1);
        vm.stopPrank();
    }

    /*//////////////////////////////////////////////////////////////
                             UPDATE SCALING
    //////////////////////////////////////////////////////////////*/

    function test_updateScaling_changesBounds() public {
        _register(_params());
        vm.expectEmit(address(registry));
        emit IPodRegistry.PodScalingUpdated(POD_ID, 2, 16);
        vm.prank(deployer);
        registry.updateScaling(POD_ID, 2, 16);
        Pod memory p = registry.pod(POD_ID);
        assertEq(p.params.minReplicas, 2);
        assertEq(p.params.maxReplicas, 16);
        assertEq(p.params.pricePerUnit, 1e12);
    }

    function test_updateScaling_failsIfInvalidReplicaBounds() public {
        _register(_params());
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.InvalidReplicaBounds.selector, 3, 2));
        vm.prank(deployer);
        registry.updateScaling(POD_ID, 3, 2);
    }

    function test_updateScaling_failsIfNotPodDeployer() public {
        _register(_params());
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.NotPodDeployer.selector, POD_ID, stranger));
        vm.prank(stranger);
        registry.updateScaling(POD_ID, 1, 2);
    }

    function test_updateScaling_failsIfPodIsRetired() public {
        _register(_params());
        vm.startPrank(deployer);
        registry.retire(POD_ID);
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.PodIsRetired.selector, POD_ID));
        registry.updateScaling(POD_ID, 1, 2);
        vm.stopPrank();
    }

    /*//////////////////////////////////////////////////////////////
                                 RETIRE
    //////////////////////////////////////////////////////////////*/

    function test_retire_stopsServingButKeepsRevenueTerms() public {
        _register(_params());
        vm.expectEmit(address(registry));
        emit IPodRegistry.PodRetired(POD_ID);
        vm.prank(deployer);
        registry.retire(POD_ID);
        assertTrue(registry.pod(POD_ID).retired);
        assertTrue(registry.exists(POD_ID));
        assertFalse(registry.isServable(POD_ID));
        (address who, uint16 share) = registry.revenueTerms(POD_ID);
        assertEq(who, deployer);
        assertEq(share, 1_000);
    }

    function test_retire_failsIfPodIsRetired() public {
        _register(_params());
        vm.startPrank(deployer);
        registry.retire(POD_ID);
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.PodIsRetired.selector, POD_ID));
        registry.retire(POD_ID);
        vm.stopPrank();
    }

    function test_retire_failsIfNotPodDeployer() public {
        _register(_params());
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.NotPodDeployer.selector, POD_ID, stranger));
        vm.prank(stranger);
        registry.retire(POD_ID);
    }

    function test_retire_failsIfUnknownPod() public {
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.UnknownPod.selector, POD_ID));
        vm.prank(deployer);
        registry.retire(POD_ID);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    function test_revenueTerms_returnsDeployerAndShare() public {
        _register(_params());
        (address who, uint16 share) = registry.revenueTerms(POD_ID);
        assertEq(who, deployer);
        assertEq(share, 1_000);
    }

    function test_revenueTerms_failsIfUnknownPod() public {
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.UnknownPod.selector, POD_ID));
        registry.revenueTerms(POD_ID);
    }

    function test_revenueTerms_keepsTermsAfterCapLowered() public {
        _register(_params());
        vm.prank(governance);
        registry.setMaxDeployerShareBps(100);
        (, uint16 share) = registry.revenueTerms(POD_ID);
        assertEq(share, 1_000);
    }

    function test_pod_failsIfUnknownPod() public {
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.UnknownPod.selector, POD_ID));
        registry.pod(POD_ID);
    }

    function test_exists_trueOnlyForRegisteredPods() public {
        assertFalse(registry.exists(POD_ID));
        assertFalse(registry.exists(bytes32(0)));
        _register(_params());
        assertTrue(registry.exists(POD_ID));
    }

    function test_isServable_onlyRegisteredAndNotRetired() public {
        assertFalse(registry.isServable(POD_ID));
        _register(_params());
        assertTrue(registry.isServable(POD_ID));
        vm.prank(deployer);
        registry.retire(POD_ID);
        assertFalse(registry.isServable(POD_ID));
    }

    function test_maxDeployerShareBps_returnsCap() public view {
        assertEq(registry.maxDeployerShareBps(), SHARE_CAP);
    }

    function test_maxPricePerUnit_returnsCap() public view {
        assertEq(registry.maxPricePerUnit(), PRICE_CAP);
    }

    function test_podCount_countsRegistrations() public {
        _register(_params());
        vm.prank(stranger);
        registry.register(keccak256("other"), _params());
        assertEq(registry.podCount(), 2);
    }

    /*//////////////////////////////////////////////////////////////
                               GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    function test_setMaxDeployerShareBps_updates() public {
        vm.expectEmit(address(registry));
        emit IPodRegistry.MaxDeployerShareUpdated(SHARE_CAP, 5_000);
        vm.prank(governance);
        registry.setMaxDeployerShareBps(5_000);
        assertEq(registry.maxDeployerShareBps(), 5_000);
        PodParams memory params = _params();
        params.deployerShareBps = 5_000;
        _register(params);
    }

    function test_setMaxDeployerShareBps_failsIfDeployerShareCapTooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.DeployerShareCapTooHigh.selector, 5_001, 5_000));
        vm.prank(governance);
        registry.setMaxDeployerShareBps(5_001);
    }

    function test_setMaxDeployerShareBps_failsIfNotGovernance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0))
        );
        vm.prank(stranger);
        registry.setMaxDeployerShareBps(1);
    }

    function test_setMaxPricePerUnit_updates() public {
        vm.expectEmit(address(registry));
        emit IPodRegistry.MaxPricePerUnitUpdated(PRICE_CAP, 1);
        vm.prank(governance);
        registry.setMaxPricePerUnit(1);
        assertEq(registry.maxPricePerUnit(), 1);
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.PriceAboveCap.selector, 1e12, 1));
        _register(_params());
    }

    function test_setMaxPricePerUnit_failsIfInvalidPriceCap() public {
        vm.expectRevert(abi.encodeWithSelector(IPodRegistry.InvalidPriceCap.selector, 0));
        vm.prank(governance);
        registry.setMaxPricePerUnit(0);
    }

    function test_setMaxPricePerUnit_failsIfNotGovernance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, deployer, bytes32(0))
        );
        vm.prank(deployer);
        registry.setMaxPricePerUnit(1);
    }
}
