// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IPodRegistry} from "./interfaces/IPodRegistry.sol";
import {Pod, PodParams, ValidationMethod} from "./types/PodTypes.sol";

/// @title PodRegistry
/// @notice Registry of pods (deployable workloads) by the hash of their content-addressed off-chain spec.
/// @dev Invariants:
///      - A pod id, once registered, is never re-registered, never deleted and its deployer never changes.
///      - A registered pod has a non-zero deployer; `exists(id)` iff `pod(id).deployer != 0`.
///      - `maxDeployerShareBps <= DEPLOYER_SHARE_LIMIT_BPS` (50 %), and `maxPricePerUnit > 0`.
///      - Every pod's share and price were within the caps in force when they were last set (a later cap
///        change does not rewrite existing terms).
///      - Every pod has `0 < maxReplicas` and `minReplicas <= maxReplicas`.
///      - Re-execution is only ever declared by deterministic pods.
///      - Retirement is final: a retired pod's terms never change, but `revenueTerms` keeps answering.
contract PodRegistry is IPodRegistry, AccessControl {
    /// @notice Hard upper limit for the governance cap on deployer shares: 50 %.
    uint16 public constant DEPLOYER_SHARE_LIMIT_BPS = 5_000;

    mapping(bytes32 podId => Pod) private _pods;
    uint256 private _podCount;
    uint16 private _maxDeployerShareBps;
    uint256 private _maxPricePerUnit;

    /// @param governance Holder of DEFAULT_ADMIN_ROLE (sets the caps).
    /// @param maxDeployerShareBps_ Initial cap on deployer shares (<= 5_000).
    /// @param maxPricePerUnit_ Initial cap on the price per compute unit (> 0).
    constructor(address governance, uint16 maxDeployerShareBps_, uint256 maxPricePerUnit_) {
        if (governance == address(0)) revert ZeroAddress();
        if (maxDeployerShareBps_ > DEPLOYER_SHARE_LIMIT_BPS) {
            revert DeployerShareCapTooHigh(maxDeployerShareBps_, DEPLOYER_SHARE_LIMIT_BPS);
        }
        if (maxPricePerUnit_ == 0) revert InvalidPriceCap(maxPricePerUnit_);
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _maxDeployerShareBps = maxDeployerShareBps_;
        emit MaxDeployerShareUpdated(0, maxDeployerShareBps_);
        _maxPricePerUnit = maxPricePerUnit_;
        emit MaxPricePerUnitUpdated(0, maxPricePerUnit_);
    }

    /*//////////////////////////////////////////////////////////////
                                DEPLOYERS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPodRegistry
    function register(bytes32 podId, PodParams calldata params) external {
        if (podId == bytes32(0)) revert InvalidPodId();
        if (_pods[podId].deployer != address(0)) revert PodAlreadyRegistered(podId);
        _checkTerms(params.pricePerUnit, params.deployerShareBps);
        _checkScaling(params.minReplicas, params.maxReplicas);
        if (params.validation == ValidationMethod.Reexecution && !params.deterministic) {
            revert ValidationNeedsDeterminism(params.validation);
        }

        _pods[podId] =
            Pod({deployer: msg.sender, registeredAt: uint64(block.timestamp), retired: false, params: params});
        // Cannot overflow: one increment per registration transaction.
        unchecked {
            ++_podCount;
        }
        emit PodRegistered(podId, msg.sender, params);
    }

    /// @inheritdoc IPodRegistry
    function updateTerms(bytes32 podId, uint128 pricePerUnit, uint16 deployerShareBps) external {
        Pod storage p = _mutablePod(podId);
        _checkTerms(pricePerUnit, deployerShareBps);
        p.params.pricePerUnit = pricePerUnit;
        p.params.deployerShareBps = deployerShareBps;
        emit PodTermsUpdated(podId, pricePerUnit, deployerShareBps);
    }

    /// @inheritdoc IPodRegistry
    function updateScaling(bytes32 podId, uint16 minReplicas, uint16 maxReplicas) external {
        Pod storage p = _mutablePod(podId);
        _checkScaling(minReplicas, maxReplicas);
        p.params.minReplicas = minReplicas;
        p.params.maxReplicas = maxReplicas;
        emit PodScalingUpdated(podId, minReplicas, maxReplicas);
    }

    /// @inheritdoc IPodRegistry
    function retire(bytes32 podId) external {
        Pod storage p = _mutablePod(podId);
        p.retired = true;
        emit PodRetired(podId);
    }

    /*//////////////////////////////////////////////////////////////
                               GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPodRegistry
    function setMaxDeployerShareBps(uint16 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (cap > DEPLOYER_SHARE_LIMIT_BPS) revert DeployerShareCapTooHigh(cap, DEPLOYER_SHARE_LIMIT_BPS);
        uint16 previous = _maxDeployerShareBps;
        _maxDeployerShareBps = cap;
        emit MaxDeployerShareUpdated(previous, cap);
    }

    /// @inheritdoc IPodRegistry
    function setMaxPricePerUnit(uint256 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (cap == 0) revert InvalidPriceCap(cap);
        uint256 previous = _maxPricePerUnit;
        _maxPricePerUnit = cap;
        emit MaxPricePerUnitUpdated(previous, cap);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPodRegistry
    function revenueTerms(bytes32 podId) external view returns (address deployer, uint16 deployerShareBps) {
        Pod storage p = _existingPod(podId);
        return (p.deployer, p.params.deployerShareBps);
    }

    /// @inheritdoc IPodRegistry
    function pod(bytes32 podId) external view returns (Pod memory) {
        return _existingPod(podId);
    }

    /// @inheritdoc IPodRegistry
    function exists(bytes32 podId) external view returns (bool) {
        return _pods[podId].deployer != address(0);
    }

    /// @inheritdoc IPodRegistry
    function isServable(bytes32 podId) external view returns (bool) {
        Pod storage p = _pods[podId];
        return p.deployer != address(0) && !p.retired;
    }

    /// @inheritdoc IPodRegistry
    function podCount() external view returns (uint256) {
        return _podCount;
    }

    /// @inheritdoc IPodRegistry
    function maxDeployerShareBps() external view returns (uint16) {
        return _maxDeployerShareBps;
    }

    /// @inheritdoc IPodRegistry
    function maxPricePerUnit() external view returns (uint256) {
        return _maxPricePerUnit;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _existingPod(bytes32 podId) private view returns (Pod storage p) {
        p = _pods[podId];
        if (p.deployer == address(0)) revert UnknownPod(podId);
    }

    /// @dev A registered, non-retired pod whose deployer is the caller.
    function _mutablePod(bytes32 podId) private view returns (Pod storage p) {
        p = _existingPod(podId);
        if (p.deployer != msg.sender) revert NotPodDeployer(podId, msg.sender);
        if (p.retired) revert PodIsRetired(podId);
    }

    function _checkTerms(uint128 pricePerUnit, uint16 deployerShareBps) private view {
        if (deployerShareBps > _maxDeployerShareBps) {
            revert DeployerShareAboveCap(deployerShareBps, _maxDeployerShareBps);
        }
        if (pricePerUnit > _maxPricePerUnit) revert PriceAboveCap(pricePerUnit, _maxPricePerUnit);
    }

    function _checkScaling(uint16 minReplicas, uint16 maxReplicas) private pure {
        if (maxReplicas == 0 || minReplicas > maxReplicas) revert InvalidReplicaBounds(minReplicas, maxReplicas);
    }
}
