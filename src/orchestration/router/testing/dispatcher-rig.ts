// A dispatcher over a real miner hub on loopback, with scripted miner peers: what the dispatcher's tests
// share.
import { devAccount } from '../../../chain/dev-accounts.ts';
import { isNeurinoError, type NeurinoError } from '../../../protocol/errors.ts';
import { newJobId } from '../../../protocol/ids.ts';
import { captureLogger } from '../../../protocol/testing/capture-logger.ts';
import { SAMPLE_PAYER, samplePodSpec } from '../../../protocol/testing/samples.ts';
import type { DispatchBudget, DispatchJob } from '../dispatch-types.ts';
import { Dispatcher, type DispatcherOptions } from '../dispatcher.ts';
import { MinerHub } from '../miner-hub.ts';
import { allowlistNodeAdmission } from '../node-admission.ts';
import { PodCatalog } from '../pod-catalog.ts';
import { Scheduler } from '../scheduler.ts';
import { MinerPeer, testCapabilities } from './miner-peer.ts';
import { waitFor } from './wait-for.ts';
import { serveMinerHub } from './ws-loopback.ts';

export const domain = {
  chainId: 31337,
  verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
} as const;
export const [minerA, minerB, minerC, forger] = [
  devAccount(10),
  devAccount(11),
  devAccount(12),
  devAccount(13),
];
export const spec = samplePodSpec({ name: 'tiny', minVramMiB: 256, software: {}, pricePerUnit: 3n });
export const catalog = new PodCatalog([spec]);
export const pod = catalog.requireModel('tiny');
const cleanups: Array<() => Promise<void>> = [];

/** Runs `cleanup` when the test ends (closeRigs), after what was registered later. */
export function atTestEnd(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Closes every rig a test made: call in afterEach. */
export async function closeRigs(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** A hub on loopback, a scheduler and a dispatcher; `join` connects a miner peer with the pod warm. */
export async function setup(options: Partial<DispatcherOptions> & { heartbeatMs?: number } = {}) {
  const { logger, lines } = captureLogger();
  const hub = new MinerHub({
    routerId: 'router-test',
    domain,
    admission: allowlistNodeAdmission([minerA, minerB, minerC].map((a) => a.address)),
    logger,
    heartbeatMs: options.heartbeatMs ?? 5_000,
    readmitEveryMs: 0,
  });
  const endpoint = await serveMinerHub(hub);
  const scheduler = new Scheduler();
  const dispatcher = new Dispatcher({ hub, scheduler, catalog, logger, ...options });
  const peers: MinerPeer[] = [];
  cleanups.push(async () => {
    for (const peer of peers) peer.terminate();
    dispatcher.close();
    await hub.close({ graceMs: 0 });
    await endpoint.close();
  });
  /** A miner with the pod warm; a higher efficiency is picked first. */
  const join = async (account: typeof minerA, efficiency: number, slots = 2) => {
    const peer = await MinerPeer.join(
      { url: endpoint.url, account, domain },
      testCapabilities({ efficiency, warmPods: [pod.podId], slots: { total: slots, free: slots } }),
    );
    peers.push(peer);
    // The scheduler follows the hub synchronously: once the session has capabilities, the node is indexed.
    await waitFor(() => hub.session(account.address)?.capabilities !== undefined, 'capabilities');
    return peer;
  };
  return { hub, scheduler, dispatcher, join, lines, url: endpoint.url };
}

export function job(overrides: Partial<DispatchJob> = {}): DispatchJob {
  return {
    jobId: newJobId(),
    podId: pod.podId,
    kind: 'chat',
    input: { messages: [{ role: 'user', content: 'hi' }] },
    stream: false,
    payer: SAMPLE_PAYER,
    pricePerUnit: pod.pricePerUnit,
    ...overrides,
  };
}

export const budget = (overrides: Partial<DispatchBudget> = {}): DispatchBudget => ({
  maxRetries: 2,
  deadlineAt: Date.now() + 30_000,
  ...overrides,
});

export async function rejection(promise: Promise<unknown>): Promise<NeurinoError> {
  try {
    await promise;
  } catch (error) {
    if (isNeurinoError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Answers every job correctly, streaming `chunks` first when asked to stream. */
export function honest(peer: MinerPeer, chunks: string[] = []) {
  peer.serve(async (assign) => {
    peer.accept(assign);
    if (assign.stream) for (const [seq, delta] of chunks.entries()) peer.chunk(assign, seq, delta);
    await peer.result(assign, { text: chunks.join('') || 'hello' });
  });
}
