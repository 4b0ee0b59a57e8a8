// The gateway bench's other processes, placed as in a deployment: miners (`neurino miner`, as the devnet
// starts them) and the trivial upstream they forward to.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hex } from 'viem';
import { type DevnetChild, spawnNeurino, waitFor } from '../src/cli/devnet/child-process.ts';

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
  dataDir: string;
  logDir: string;
  logLevel: string;
}

export function spawnMinerProcess(options: MinerProcessOptions): Promise<DevnetChild> {
  const args = ['miner', '--router', options.routerWsUrl, '--rpc-url', options.rpcUrl];
  args.push('--addresses', options.addressesFile, '--data-dir', options.dataDir);
  args.push('--slots', String(options.slots), '--log-level', options.logLevel);
  if ('model' in options.pod) args.push('--model', options.pod.model);
  else {
    args.push('--upstream', options.pod.upstream, '--upstream-model', options.pod.upstreamModel);
    args.push('--vram-mib', String(options.pod.vramMiB));
  }
  return spawnNeurino(options.name, args, {
    logDir: options.logDir,
    env: { NEURINO_NODE_KEY: options.nodeKey },
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
