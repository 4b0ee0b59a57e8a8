// The embedded chain: anvil from node_modules on loopback. A state file makes a restart keep the chain.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { portProblem } from '../protocol/port-check.ts';
import { ChainStartError } from './errors.ts';

export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEV_CHAIN_ID = 31337;

export interface AnvilOptions {
  host?: string;
  port?: number;
  chainId?: number;
  mnemonic?: string;
  accounts?: number;
  /** Loaded on start when present, written on SIGTERM/SIGINT and every `stateIntervalSeconds`. */
  stateFile?: string;
  stateIntervalSeconds?: number;
  /** Seconds per block; omitted means a block per transaction. */
  blockTime?: number;
  startTimeoutMs?: number;
  /**
   * Own process group: Ctrl-C in a terminal then reaches only our process, which stops anvil last, after
   * the parts that still write to the chain (the router settling its last batch).
   */
  ownProcessGroup?: boolean;
}

export interface Anvil {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly process: ChildProcess;
  /** Stops anvil with SIGTERM, which makes it save its state file first. */
  stop(): Promise<void>;
}

export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@foundry-rs/anvil-linux-amd64/package.json');
  return join(dirname(pkg), 'bin', 'anvil');
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8545;
  const chainId = options.chainId ?? DEV_CHAIN_ID;
  const args = [
    '--host',
    host,
    '--port',
    String(port),
    '--chain-id',
    String(chainId),
    '--mnemonic',
    options.mnemonic ?? DEV_MNEMONIC,
    '--accounts',
    String(options.accounts ?? 20),
    '--balance',
    '10000',
  ];
  if (options.stateFile) {
    args.push('--state', options.stateFile, '--state-interval', String(options.stateIntervalSeconds ?? 5));
  }
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime));

  await assertPortFree(host, port);
  const child = spawn(anvilBinary(), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownProcessGroup ?? false,
  });
  // Never outlive the process that started us (it may exit without calling stop()).
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let output = '';
  const collect = (chunk: Buffer) => {
    if (output.length < 16_384) output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const rpcUrl = `http://${host}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new ChainStartError(`anvil exited while starting: ${lastLines(output)}`, { port });
    }
    if (await answersChainId(rpcUrl, chainId)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ChainStartError(`anvil did not answer on ${rpcUrl} in time: ${lastLines(output)}`, { port });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Drop what we collected once up; anvil logs every call otherwise.
  child.stdout?.off('data', collect);
  child.stdout?.resume();

  return {
    rpcUrl,
    chainId,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function answersChainId(rpcUrl: string, chainId: number): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await response.json()) as { result?: string };
    return body.result !== undefined && Number.parseInt(body.result, 16) === chainId;
  } catch {
    return false;
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join(' | ') || '(no output)';
}

/** Checked first: otherwise a chain already on the port would answer our readiness probe. */
async function assertPortFree(host: string, port: number): Promise<void> {
  const problem = await portProblem(host, port);
  if (problem !== undefined)
    throw new ChainStartError(`cannot start anvil: ${host}:${port} is in use (${problem})`, { host, port });
}
