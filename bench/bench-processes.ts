// The gateway bench's other processes, placed as in a deployment: miners (`neurino miner`, as the devnet
// starts them), the trivial upstream they forward to, and the direct pod runtime the latency is compared with.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hex } from 'viem';
import { type DevnetChild, spawnLoggedNode, spawnNeurino, waitFor } from '../src/cli/devnet/child-process.ts';
import type { DirectPodReady } from './direct-pod.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface MinerProcessOptions {
  name: string;
  routerWsUrl: string;
  rpcUrl: string;
  addressesFile: string;
  nodeKey: Hex;
  /** What the pod serves: a GGUF file, or an OpenAI-compatible upstream. */
  pod: { model: string } | { upstream: string; upstreamModel: string; vramMiB: number };
  slots: number;
  /** llama.cpp CPU threads (`--threads`); the CLI's default when absent. */
  threads?: number;
  dataDir: string;
  logDir: string;
  logLevel: string;
}

export function spawnMinerProcess(options: MinerProcessOptions): Promise<DevnetChild> {
  const args = ['miner', '--router', options.routerWsUrl, '--rpc-url', options.rpcUrl];
  args.push('--addresses', options.addressesFile, '--data-dir', options.dataDir);
  args.push('--slots', String(options.slots), '--log-level', options.logLevel);
  if (options.threads !== undefined) args.push('--threads', String(options.threads));
  if ('model' in options.pod) args.push('--model', options.pod.model);
  else {
    args.push('--upstream', options.pod.upstream, '--upstream-model', options.pod.upstreamModel);
    args.push('--vram-mib', String(options.pod.vramMiB));
  }
  // NEURINO_BENCH_MINER_NODE_OPTIONS reaches the miners only, e.g. `--import ./profile.mjs` to profile them.
  const nodeOptions = process.env.NEURINO_BENCH_MINER_NODE_OPTIONS;
  return spawnNeurino(options.name, args, {
    logDir: options.logDir,
    env: { NEURINO_NODE_KEY: options.nodeKey, ...(nodeOptions && { NODE_OPTIONS: nodeOptions }) },
  });
}

export interface UpstreamProcess {
  readonly url: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** A bench script (`bench/<script>`) in its own Node process, its output in `<logDir>/<name>.log`. */
export function spawnBenchScript(
  name: string,
  script: string,
  args: string[],
  options: { logDir: string; env?: NodeJS.ProcessEnv; ipc?: boolean },
): Promise<DevnetChild> {
  const nodeArgs = ['--import', 'tsx', join(REPO_ROOT, 'bench', script), ...args];
  return spawnLoggedNode(name, nodeArgs, { ...options, cwd: REPO_ROOT });
}

/** `bench/trivial-upstream.ts` in its own Node process, ready once it lists its model. */
export async function spawnTrivialUpstream(port: number, logDir: string): Promise<UpstreamProcess> {
  const upstream = await spawnBenchScript('trivial-upstream', 'trivial-upstream.ts', [String(port)], {
    logDir,
  });
  const url = `http://127.0.0.1:${port}`;
  let died = false;
  void upstream.exited.then(() => {
    died = true;
  });
  try {
    await waitFor(
      'trivial upstream',
      // A dead child ends the wait at once; the check below turns it into the error.
      async () => died || (await fetch(`${url}/v1/models`)).ok,
      { timeoutMs: 30_000 },
    );
    if (died) throw new Error(`trivial upstream exited; see ${upstream.logFile}`);
  } catch (error) {
    await upstream.stop();
    throw error;
  }
  return { url, logFile: upstream.logFile, stop: () => upstream.stop() };
}

/** `bench/trivial-miner.ts` (the real miner hosting the trivial pod) in its own Node process. */
export function spawnTrivialMiner(options: {
  routerWsUrl: string;
  addressesFile: string;
  nodeKey: Hex;
  slots: number;
  logDir: string;
}): Promise<DevnetChild> {
  const args = [options.routerWsUrl, options.addressesFile, String(options.slots)];
  return spawnBenchScript('miner-trivial-pod', 'trivial-miner.ts', args, {
    logDir: options.logDir,
    env: { NEURINO_NODE_KEY: options.nodeKey },
  });
}

export interface DirectPodOptions {
  /** The GGUF file, and the slots and threads the miner's pod was given. */
  model: string;
  slots: number;
  threads: number;
  logDir: string;
}

export interface DirectPodProcess {
  /** Where it answers `POST /v1/chat/completions` (a bare Fastify handler around the runtime). */
  readonly url: string;
  stop(): Promise<void>;
}

/** `bench/direct-pod.ts` in its own Node process, ready once its runtime is loaded and it listens. */
export async function spawnDirectPod(options: DirectPodOptions): Promise<DirectPodProcess> {
  const args = [options.model, String(options.slots), String(options.threads)];
  const pod = await spawnBenchScript('direct-pod', 'direct-pod.ts', args, {
    logDir: options.logDir,
    ipc: true,
  });
  const ready = new Promise<string>((resolve, reject) => {
    pod.process.once('message', (reply: DirectPodReady) => resolve(reply.url));
    void pod.exited.then((code) => reject(new Error(`direct pod exited (${code}); see ${pod.logFile}`)));
  });
  const stop = () => stopDirectPod(pod);
  try {
    return { url: await ready, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Closing the IPC channel asks the pod to unload and exit; SIGKILL if it has not after a while. */
async function stopDirectPod(pod: DevnetChild): Promise<void> {
  const child = pod.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await pod.exited;
  clearTimeout(timer);
}
