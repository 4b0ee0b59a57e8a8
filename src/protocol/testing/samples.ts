// Valid sample values of every protocol shape, for tests here and in other modules.
import type { Address, Hex } from 'viem';
import { attemptIdFor } from '../ids.ts';
import type { ProtocolMessage } from '../messages/index.ts';
import { type PodSpec, podId } from '../pod-spec.ts';
import { type Receipt, resultHash } from '../receipt.ts';
import { PROTOCOL_VERSION } from '../version.ts';

export const SAMPLE_NODE: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
export const SAMPLE_PAYER: Address = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
export const SAMPLE_FRONTEND: Address = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
export const SAMPLE_JOB_ID: Hex = `0x${'1'.repeat(64)}`;
export const SAMPLE_ATTEMPT_ID: Hex = attemptIdFor(SAMPLE_JOB_ID, 0);
const HASH: Hex = `0x${'ab'.repeat(32)}`;

/** A receipt of `node`'s, 120 ms of work answered "Hello"; `overrides` change any field. */
export function sampleReceipt(node: Address, overrides: Partial<Receipt> = {}): Receipt {
  return {
    jobId: SAMPLE_JOB_ID,
    attemptId: SAMPLE_ATTEMPT_ID,
    podId: `0x${'2'.repeat(64)}`,
    node,
    frontend: SAMPLE_FRONTEND,
    payer: SAMPLE_PAYER,
    computeUnits: 120n,
    inputTokens: 5,
    outputTokens: 2,
    price: 120n * 10n ** 9n,
    resultHash: resultHash({ text: 'Hello' }),
    startedAt: 1_700_000_002_000,
    finishedAt: 1_700_000_002_120,
    ...overrides,
  };
}
const SIGNATURE: Hex = `0x${'cd'.repeat(64)}1b`;

export function samplePodSpec(overrides: Partial<PodSpec> = {}): PodSpec {
  return {
    name: 'tiny-llama-q8',
    runtime: 'llama-cpp',
    kinds: ['chat', 'completion'],
    artifact: { uri: 'file://models/tiny.gguf', sha256: 'e3'.repeat(32) },
    minVramMiB: 512,
    software: { cuda: '12.1' },
    deterministic: false,
    validation: { method: 'llm-distribution' },
    pricePerUnit: 1_000_000_000n,
    deployerShareBps: 1000,
    autoscale: { min: 0, max: 4 },
    ...overrides,
  };
}

/** One valid message of every type, in memory form. */
export function sampleMessages(): ProtocolMessage[] {
  const spec = samplePodSpec();
  const id = podId(spec);
  const attemptId = SAMPLE_ATTEMPT_ID;
  return [
    {
      type: 'hello',
      version: PROTOCOL_VERSION,
      node: SAMPLE_NODE,
      software: { neurino: '0.1.0', node: 'v20.19.0' },
    },
    {
      type: 'challenge',
      nonce: HASH,
      issuedAt: 1_700_000_000_000,
      expiresAt: 1_700_000_030_000,
      routerId: 'router-1',
    },
    { type: 'challenge.answer', signature: SIGNATURE },
    { type: 'welcome', version: PROTOCOL_VERSION, sessionId: 'ses_abc', heartbeatMs: 5000 },
    { type: 'refused', code: 'node_not_staked', reason: 'stake 0 below minimum' },
    {
      type: 'capabilities',
      gpus: [{ name: 'NVIDIA GeForce RTX 4090', vramMiB: 24_564, driver: '550.54', cuda: '12.4' }],
      cpu: { model: 'AMD Ryzen 9', cores: 16 },
      ramMiB: 65_536,
      python: '3.11.8',
      efficiency: 82.5,
      slots: { total: 4, free: 3 },
      warmPods: [id],
      runtimes: ['llama-cpp', 'process'],
      hostedPods: [id],
      podMemory: { budgetMiB: 24_564, heldMiB: 4_920, pods: [{ podId: id, mib: 4_920 }] },
    },
    { type: 'heartbeat', at: 1_700_000_001_000, slotsFree: 3, load: 0.25 },
    {
      type: 'job.assign',
      jobId: SAMPLE_JOB_ID,
      attemptId,
      podId: id,
      kind: 'chat',
      input: { model: 'tiny', messages: [{ role: 'user', content: 'hi' }] },
      stream: true,
      deadlineAt: 1_700_000_060_000,
      payer: SAMPLE_PAYER,
      frontend: SAMPLE_FRONTEND,
      pricePerUnit: 1_000_000_000n,
    },
    { type: 'job.accepted', attemptId },
    { type: 'job.chunk', attemptId, seq: 0, delta: 'Hel' },
    {
      type: 'job.chunk',
      attemptId,
      seq: 1,
      delta: '',
      toolCall: { index: 0, id: 'call_1', name: 'get_weather', arguments: '{"ci' },
    },
    {
      type: 'job.result',
      attemptId,
      output: { text: 'Hello' },
      usage: { inputTokens: 5, outputTokens: 2 },
      gpuMs: 120,
      vramMiB: 1024,
      computeUnits: 120n,
      resultHash: HASH,
      startedAt: 1_700_000_002_000,
      finishedAt: 1_700_000_002_120,
      signature: SIGNATURE,
    },
    { type: 'job.error', attemptId, code: 'node_failed', message: 'CUDA out of memory', retryable: true },
    {
      type: 'job.error',
      attemptId,
      code: 'invalid_request',
      message: 'input[1]: too long',
      retryable: false,
      param: 'input[1]',
    },
    { type: 'job.cancel', attemptId, reason: 'client closed' },
    { type: 'pod.load', podId: id, spec },
    { type: 'pod.unload', podId: id },
    { type: 'pod.loaded', podId: id, loadMs: 800 },
    { type: 'pod.unloaded', podId: id },
    { type: 'pod.failed', podId: id, code: 'pod_load_failed', message: 'sha256 mismatch' },
    { type: 'drain', reason: 'router upgrade', deadlineAt: 1_700_000_100_000 },
    { type: 'draining', activeJobs: 1 },
  ];
}
