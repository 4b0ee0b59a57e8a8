// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Pod, PodParams, ValidationMethod} from "../types/PodTypes.sol";

/// @title IPodRegistry
/// @notice On-chain registry of pods: deployable workloads identified by the hash of their off-chain spec.
///         Holds each pod's deployer, runtime, validation method, hardware floor, price, deployer share and
///         autoscaling bounds. Settlement reads `revenueTerms` to split payments.
interface IPodRegistry {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice An address argument that must be set was zero.
    error ZeroAddress();

    /// @notice The pod id was zero.
    error InvalidPodId();

    /// @notice A governance cap on the deployer share exceeds the hard limit.
    /// @param cap The requested cap in basis points.
    /// @param limit The hard limit (`DEPLOYER_SHARE_LIMIT_BPS`).
    error DeployerShareCapTooHigh(uint16 cap, uint16 limit);

    /// @notice A governance cap on the price per unit was zero.
    /// @param cap The requested cap.
    error InvalidPriceCap(uint256 cap);

    /// @notice A pod with this id is already registered.
    /// @param podId The pod id.
    error PodAlreadyRegistered(bytes32 podId);

    /// @notice No pod with this id is registered.
    /// @param podId The pod id.
    error UnknownPod(bytes32 podId);

    /// @notice The caller is not the pod's deployer.
    /// @param podId The pod id.
    /// @param caller The caller.
    error NotPodDeployer(bytes32 podId, address caller);

    /// @notice The pod is retired and its terms can no longer change.
    /// @param podId The pod id.
    error PodIsRetired(bytes32 podId);

    /// @notice The deployer share exceeds the governance cap.
    /// @param deployerShareBps The requested share.
    /// @param cap The current cap.
    error DeployerShareAboveCap(uint16 deployerShareBps, uint16 cap);

    /// @notice The price per unit exceeds the governance cap.
    /// @param pricePerUnit The requested price.
    /// @param cap The current cap.
    error PriceAboveCap(uint128 pricePerUnit, uint256 cap);

    /// @notice Replica bounds are invalid: `maxReplicas` must be > 0 and `minReplicas <= maxReplicas`.
    /// @param minReplicas The requested minimum.
    /// @param maxReplicas The requested maximum.
    error InvalidReplicaBounds(uint16 minReplicas, uint16 maxReplicas);

    /// @notice The validation method needs a deterministic pod (re-execution compares outputs exactly).
    /// @param validation The requested validation method.
    error ValidationNeedsDeterminism(ValidationMethod validation);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A pod was registered.
    /// @param podId The pod id (keccak256 of the off-chain spec digest).
    /// @param deployer The deployer.
    /// @param params The pod's terms.
    event PodRegistered(bytes32 indexed podId, address indexed deployer, PodParams params);

    /// @notice A pod's price and deployer share were updated.
    /// @param podId The pod id.
    /// @param pricePerUnit The new price per compute unit.
    /// @param deployerShareBps The new deployer share.
    event PodTermsUpdated(bytes32 indexed podId, uint128 pricePerUnit, uint16 deployerShareBps);

    /// @notice A pod's autoscaling bounds were updated.
    /// @param podId The pod id.
    /// @param minReplicas The new minimum number of warm nodes.
    /// @param maxReplicas The new maximum number of warm nodes.
    event PodScalingUpdated(bytes32 indexed podId, uint16 minReplicas, uint16 maxReplicas);

    /// @notice A pod was retired: no new jobs, past jobs still settle.
    /// @param podId The pod id.
    event PodRetired(bytes32 indexed podId);

    /// @notice Governance changed the deployer share cap.
    /// @param previous The previous cap.
    /// @param current The new cap.
    event MaxDeployerShareUpdated(uint16 previous, uint16 current);

    /// @notice Governance changed the price-per-unit cap.
    /// @param previous The previous cap.
    /// @param current The new cap.
    event MaxPricePerUnitUpdated(uint256 previous, uint256 current);

    /*//////////////////////////////////////////////////////////////
                                DEPLOYERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers a pod with the caller as deployer.
    /// @dev Reverts if `podId` is zero or taken, the share or price exceed the caps, the replica bounds are
    ///      invalid, or re-execution is asked of a non-deterministic pod.
    /// @param podId keccak256 of the pod's off-chain spec digest; non-zero.
    /// @param params The pod's terms.
    function register(bytes32 podId, PodParams calldata params) external;

    /// @notice Changes a pod's price and deployer share; only its deployer, only while not retired.
    /// @param podId The pod id.
    /// @param pricePerUnit The new price per compute unit (<= `maxPricePerUnit`).
    /// @param deployerShareBps The new deployer share (<= `maxDeployerShareBps`).
    function updateTerms(bytes32 podId, uint128 pricePerUnit, uint16 deployerShareBps) external;

    /// @notice Changes a pod's autoscaling bounds; only its deployer, only while not retired.
    /// @param podId The pod id.
    /// @param minReplicas The new minimum (<= `maxReplicas`).
    /// @param maxReplicas The new maximum (> 0).
    function updateScaling(bytes32 podId, uint16 minReplicas, uint16 maxReplicas) external;

    /// @notice Retires a pod for good; only its deployer. Routers stop serving it; settled revenue terms stay.
    /// @param podId The pod id.
    function retire(bytes32 podId) external;

    /*//////////////////////////////////////////////////////////////
                               GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the cap on deployer shares for future registrations and term updates.
    /// @dev Only governance. Existing pods keep their terms.
    /// @param cap The new cap in basis points (<= `DEPLOYER_SHARE_LIMIT_BPS`).
    function setMaxDeployerShareBps(uint16 cap) external;

    /// @notice Sets the cap on price per unit for future registrations and term updates.
    /// @dev Only governance. Existing pods keep their terms.
    /// @param cap The new cap (> 0).
    function setMaxPricePerUnit(uint256 cap) external;

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Who is paid the deployer share of a pod's revenue, and how much.
    /// @dev Works for retired pods too, so that jobs run before retirement settle. Reverts `UnknownPod`.
    /// @param podId The pod id.
    /// @return deployer The pod's deployer.
    /// @return deployerShareBps The deployer's share in basis points.
    function revenueTerms(bytes32 podId) external view returns (address deployer, uint16 deployerShareBps);

    /// @notice The full record of a pod. Reverts `UnknownPod`.
    /// @param podId The pod id.
    /// @return The pod.
    function pod(bytes32 podId) external view returns (Pod memory);

    /// @notice Whether a pod with this id is registered (retired or not).
    /// @param podId The pod id.
    /// @return True if registered.
    function exists(bytes32 podId) external view returns (bool);

    /// @notice Whether routers may send new jobs to the pod: registered and not retired.
    /// @param podId The pod id.
    /// @return True if servable.
    function isServable(bytes32 podId) external view returns (bool);

    /// @notice Number of pods ever registered.
    /// @return The count.
    function podCount() external view returns (uint256);

    /// @notice Current cap on the deployer share, in basis points.
    /// @return The cap.
    function maxDeployerShareBps() external view returns (uint16);

    /// @notice Current cap on the price per compute unit.
    /// @return The cap.
    function maxPricePerUnit() external view returns (uint256);
}
