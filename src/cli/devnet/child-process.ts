// A part of the devnet in its own process (`neurino router`, `neurino miner`), its output in a log file.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'neurino.js');

export interface DevnetChild {
  readonly name: string;
  readonly logFile: string;
  readonly process: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** The last line it wrote to stderr (where the CLI says why it stopped), if any. */
  lastErrorLine(): string | undefined;
  /** SIGTERM (the parts drain and save), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface LoggedNodeOptions {
  logDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A channel for messages (`child.process.send`, its 'message' events). */
  ipc?: boolean;
  /** Its own process group: Ctrl-C reaches the parent only, which then stops its children in order. */
  detached?: boolean;
  /** The line that opens this run's part of the log (default: the Node.js arguments). */
  banner?: string;
}

/** A Node.js process running `nodeArgs`, its output appended to `<logDir>/<name>.log`. */
export async function spawnLoggedNode(
  name: string,
  nodeArgs: string[],
  options: LoggedNodeOptions,
): Promise<DevnetChild> {
  await mkdir(options.logDir, { recursive: true });
  const logFile = join(options.logDir, `${name}.log`);
  const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
  log.write(`\n--- ${new Date().toISOString()} ${options.banner ?? `node ${nodeArgs.join(' ')}`}\n`);
  const child = spawn(process.execPath, nodeArgs, {
    stdio: options.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    detached: options.detached === true,
  });
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4_096);
  });
  // Its output may still be in the pipes when it exits: read to their end (a grandchild holding them open
  // gets a moment, not a wait), so the log and lastErrorLine have its last words.
  const drained = Promise.all(
    [child.stdout, child.stderr].map((stream) =>
      stream === null || stream.readableEnded ? undefined : once(stream, 'end').catch(() => undefined),
    ),
  );
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', async (code) => {
      await Promise.race([drained, delay(250)]);
      // Its log complete on disk first (end's callback also runs when the log failed).
      log.end(() => resolve(code));
    });
  });
  return {
    name,
    logFile,
    process: child,
    exited,
    lastErrorLine() {
      const line = stderrTail.trimEnd().split('\n').at(-1)?.trim();
      return line === undefined || line === '' ? undefined : line.replace(/^neurino: /, '').slice(0, 500);
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `neurino <args>` (this checkout's CLI) in its own process group. */
export function spawnNeurino(
  name: string,
  args: string[],
  options: { logDir: string; env?: NodeJS.ProcessEnv },
): Promise<DevnetChild> {
  return spawnLoggedNode(name, [BIN, ...args], {
    ...options,
    detached: true,
    banner: `neurino ${args.join(' ')}`,
  });
}

/** Polls `probe` until it returns true; fails early with the child's log when the child dies. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; child?: DevnetChild },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let died = false;
  void options.child?.exited.then(() => {
    died = true;
  });
  for (;;) {
    if (died) {
      const why = options.child?.lastErrorLine();
      const said = why === undefined ? '' : `: ${why}`;
      throw new Error(`${what}: ${options.child?.name} exited${said}; see ${options.child?.logFile}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      const hint = options.child ? `; see ${options.child.logFile}` : '';
      throw new Error(`${what}: not ready after ${options.timeoutMs} ms${hint}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
