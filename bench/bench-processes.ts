// The gateway bench's other processes, placed as in a deployment: miners (`neurino miner`, as the devnet
// starts them), the trivial upstream they forward to, and the direct pod runtime the latency is compared with.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hex } from 'viem';
import { type DevnetChild, spawnNeurino, waitFor } from '../src/cli/devnet/child-process.ts';
import type { ChatRequest } from '../src/compute/pods/types.ts';
import type { DirectPodReply, DirectPodRequest } from './direct-pod.ts';

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

/** `bench/trivial-upstream.ts` in its own Node process, ready once it lists its model. */
export async function spawnTrivialUpstream(port: number, logDir: string): Promise<UpstreamProcess> {
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, 'trivial-upstream.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'bench', 'trivial-upstream.ts'), String(port)],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.off('exit', killOnExit);
      log.end();
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let died = false;
  void exited.then(() => {
    died = true;
  });
  try {
    await waitFor(
      'trivial upstream',
      // A dead child ends the wait at once; the check below turns it into the error.
      async () => died || (await fetch(`${url}/v1/models`)).ok,
      { timeoutMs: 30_000 },
    );
    if (died) throw new Error(`trivial upstream exited; see ${logFile}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, logFile, stop };
}

export interface DirectPodOptions {
  /** The GGUF file, and the slots and threads the miner's pod was given. */
  model: string;
  slots: number;
  threads: number;
  logDir: string;
}

export interface DirectPodProcess {
  /** One `runtime.chat()` in the pod's process: its answer and how long the call took in there. */
  chat(request: ChatRequest): Promise<{ ms: number; text: string }>;
  stop(): Promise<void>;
}

/** `bench/direct-pod.ts` in its own Node process, ready once its runtime is loaded. */
export async function spawnDirectPod(options: DirectPodOptions): Promise<DirectPodProcess> {
  await mkdir(options.logDir, { recursive: true });
  const logFile = join(options.logDir, 'direct-pod.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const args = [options.model, String(options.slots), String(options.threads)];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'bench', 'direct-pod.ts'), ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const pending = new Map<
    number,
    { resolve: (r: { ms: number; text: string }) => void; reject: (e: Error) => void }
  >();
  let nextId = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (reply: DirectPodReply) => {
      if ('ready' in reply) return resolve();
      const call = pending.get(reply.id);
      pending.delete(reply.id);
      if ('error' in reply) call?.reject(new Error(`direct pod: ${reply.error}`));
      else call?.resolve({ ms: reply.ms, text: reply.text });
    });
    child.once('exit', (code) => {
      log.end();
      const error = new Error(`direct pod exited (${code}); see ${logFile}`);
      reject(error);
      for (const call of pending.values()) call.reject(error);
      pending.clear();
    });
  });
  const stop = () => stopChild(child);
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    chat(request) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, request } satisfies DirectPodRequest);
      });
    },
    stop,
  };
}

/** Closing the IPC channel asks the child to unload and exit; SIGKILL if it has not after a while. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
