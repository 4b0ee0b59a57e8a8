// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice How a pod's workload is executed on a compute node.
/// @dev LlamaCpp: a GGUF model run in-process by llama.cpp. OpenAIUpstream: a local OpenAI-compatible server
///      (vLLM, SGLang, Ollama). SnarkjsGroth16: Groth16 proving from circuit artifacts. Process: a command that
///      speaks JSON lines on stdin/stdout. A pod never listens on a port.
enum Runtime {
    LlamaCpp,
    OpenAIUpstream,
    SnarkjsGroth16,
    Process
}

/// @notice How validators check the results a pod's jobs return.
/// @dev None: not audited. Reexecution: rerun with the same seed and compare (needs a deterministic pod).
///      StatisticalLLM: teacher-forced re-scoring of sampled tokens against the declared model.
///      ZkProof: verify the returned proof. HeldOutLoss: loss of a trained model on a held-out set.
enum ValidationMethod {
    None,
    Reexecution,
    StatisticalLLM,
    ZkProof,
    HeldOutLoss
}

/// @notice The on-chain terms of a pod; the full spec lives off-chain, content-addressed by the pod id.
/// @param runtime How the pod runs.
/// @param validation How its results are checked.
/// @param deterministic Whether the same input and seed always give the same output.
/// @param minVramMiB Minimum GPU memory a node needs to host the pod (0 for CPU pods).
/// @param deployerShareBps Share of each payment paid to the pod's deployer, in basis points of 10_000.
/// @param minReplicas Number of warm nodes the autoscaler keeps even without demand (0 allows scale-to-zero).
/// @param maxReplicas Upper bound on warm nodes (before vote-based caps); always > 0.
/// @param pricePerUnit Price in NEU wei per compute unit (GPU time x VRAM).
struct PodParams {
    Runtime runtime;
    ValidationMethod validation;
    bool deterministic;
    uint32 minVramMiB;
    uint16 deployerShareBps;
    uint16 minReplicas;
    uint16 maxReplicas;
    uint128 pricePerUnit;
}

/// @notice A registered pod.
/// @param deployer The account that registered the pod and receives its deployer share.
/// @param registeredAt Timestamp of registration.
/// @param retired Whether the deployer retired the pod (no new jobs; past jobs still settle).
/// @param params The pod's current terms.
struct Pod {
    address deployer;
    uint64 registeredAt;
    bool retired;
    PodParams params;
}
