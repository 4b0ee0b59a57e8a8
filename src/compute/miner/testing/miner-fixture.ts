// A miner on the real tiny model facing a TestRouter, for the miner's integration tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll } from 'vitest';
import type { ProtocolDomain } from '../../../protocol/eip712-domain.ts';
import { type PodSpec, podId } from '../../../protocol/pod-spec.ts';
import { captureLogger, type LogLine } from '../../../protocol/testing/capture-logger.ts';
import { writeTinyModel } from '../../model/tiny-model.ts';
import { LlamaCppRuntime } from '../../pods/llama-cpp.ts';
import type { Hardware } from '../hardware/probe.ts';
import { ggufPodSpec } from '../local-pods.ts';
import { type Miner, type MinerConfig, startMiner } from '../miner.ts';
import { type TestConnection, TestRouter } from './test-router.ts';

export const TEST_DOMAIN: ProtocolDomain = {
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
};

/** Fixed, so tests need not probe; the probe has its own tests. */
export const TEST_HARDWARE: Hardware = {
  gpus: [],
  cpu: { model: 'test cpu', cores: 2 },
  ramMiB: 4096,
  warnings: [],
};

export interface TinyPod {
  readonly dir: string;
  readonly modelPath: string;
  readonly spec: PodSpec;
  readonly podId: Hex;
  readonly runtime: LlamaCppRuntime;
  cleanup(): Promise<void>;
}

/** The tiny GGUF written to a temp dir, its spec, and a real llama.cpp runtime for it (not loaded yet). */
export async function tinyPod(): Promise<TinyPod> {
  const dir = await mkdtemp(join(tmpdir(), 'miner-test-'));
  const file = await writeTinyModel(join(dir, 'neurino-tiny.gguf'));
  const spec = ggufPodSpec({
    name: 'neurino-tiny',
    fileName: 'neurino-tiny.gguf',
    sha256: file.sha256,
    bytes: file.bytes,
  });
  const runtime = new LlamaCppRuntime({ modelPath: file.path, slots: 2 });
  return {
    dir,
    modelPath: file.path,
    spec,
    podId: podId(spec),
    runtime,
    async cleanup() {
      await runtime.unload();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function newNodeAccount(): PrivateKeyAccount {
  return privateKeyToAccount(generatePrivateKey());
}

export async function startTestMiner(
  pod: TinyPod,
  routerUrl: string,
  overrides: Partial<MinerConfig> = {},
): Promise<{ miner: Miner; lines: LogLine[] }> {
  const { logger, lines } = captureLogger();
  const miner = await startMiner({
    routerUrl,
    account: newNodeAccount(),
    domain: TEST_DOMAIN,
    pods: [{ spec: pod.spec, podId: pod.podId, runtime: pod.runtime }],
    logger,
    hardware: TEST_HARDWARE,
    efficiency: 12.5,
    reconnect: { initialMs: 20, maxMs: 200 },
    ...overrides,
  });
  return { miner, lines };
}

export interface TestMinerSetup {
  readonly pod: TinyPod;
  readonly router: TestRouter;
  readonly miner: Miner;
  readonly connection: TestConnection;
}

/**
 * A miner on the tiny model, admitted by a TestRouter, for one test file: started before its tests and
 * stopped after them. Properties are filled in by the file's beforeAll.
 */
export function useTestMiner(options: { readonly heartbeatMs?: number } = {}): TestMinerSetup {
  const setup = {} as { pod: TinyPod; router: TestRouter; miner: Miner; connection: TestConnection };
  beforeAll(async () => {
    setup.pod = await tinyPod();
    setup.router = await TestRouter.start({ domain: TEST_DOMAIN, heartbeatMs: options.heartbeatMs ?? 100 });
    ({ miner: setup.miner } = await startTestMiner(setup.pod, setup.router.url));
    setup.connection = await setup.router.welcomedConnection(0);
  });
  afterAll(async () => {
    await setup.miner?.stop();
    await setup.router?.close();
    await setup.pod?.cleanup();
  });
  return setup;
}
