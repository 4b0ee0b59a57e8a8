// `neurino router`'s serving limits: the defaults are the parts' own, each flag reaches the options the
// router starts with, and bad values are refused by name before anything starts.
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_REQUEST_TIMEOUT_MS } from '../../application/gateway/app.ts';
import { DEFAULT_BUDGET } from '../../application/gateway/budget.ts';
import {
  DEFAULT_DRAIN_GRACE_MS,
  type RouterOptions,
  type RunningRouter,
} from '../../application/router/router-options.ts';
import { addressBookSchema, contractsSchema, writeAddressBook } from '../../chain/address-book.ts';
import { AUTOSCALER_DEFAULTS } from '../../orchestration/router/autoscaler.ts';
import { DISPATCHER_DEFAULTS } from '../../orchestration/router/dispatcher.ts';
import { MINER_HUB_DEFAULTS } from '../../orchestration/router/miner-hub.ts';
import { PodCatalog } from '../../orchestration/router/pod-catalog.ts';
import type { PodSpec } from '../../protocol/pod-spec.ts';
import { samplePodSpec } from '../../protocol/testing/samples.ts';
import { runCommandPrinting } from '../testing/run-command.ts';
import { routerCommand } from './router.ts';

const someAddress = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
let dir: string;
let started: RouterOptions[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'neurino-router-limits-'));
  // Any addresses do: the router is not started.
  const contracts = Object.fromEntries(Object.keys(contractsSchema.shape).map((name) => [name, someAddress]));
  const book = addressBookSchema.parse({
    chainId: 31337,
    deployer: someAddress,
    governance: someAddress,
    router: someAddress,
    deployedAtBlock: 0,
    contracts,
  });
  await writeAddressBook(join(dir, 'addresses.json'), book);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A start that keeps the options and answers as a router would, with `extra` parts of it. */
function fakeStart(extra: Partial<RunningRouter> = {}): (options: RouterOptions) => Promise<RunningRouter> {
  return async (options) => {
    started.push(options);
    return {
      url: 'http://127.0.0.1:1',
      wsUrl: 'ws://127.0.0.1:1/v1/miners',
      catalog: new PodCatalog(options.pods),
      ...extra,
    } as RunningRouter;
  };
}

/** Runs `neurino router …` up to the start, keeping the options it would start the router with. */
async function startWith(...args: string[]): Promise<RouterOptions> {
  return (await startPrinting(...args)).options;
}

/** As startWith, with what the command printed on stderr. */
async function startPrinting(...args: string[]): Promise<{ options: RouterOptions; stderr: string }> {
  started = [];
  const command = routerCommand({
    start: fakeStart(),
    onShutdown: () => {},
  });
  const required = ['--rpc-url', 'http://127.0.0.1:1', '--addresses', join(dir, 'addresses.json')];
  const { stderr } = await runCommandPrinting(command, [
    ...required,
    '--key',
    `0x${'11'.repeat(32)}`,
    '--log-level',
    'silent',
    ...args,
  ]);
  const [options] = started;
  if (options === undefined) throw new Error('the router was not started');
  return { options, stderr };
}

describe('neurino router serving limits', () => {
  it("starts with the parts' own defaults when no flag is given", async () => {
    const options = await startWith();
    expect(options.gateway?.budget).toEqual(DEFAULT_BUDGET);
    expect(options.gateway?.bodyLimitBytes).toBe(DEFAULT_BODY_LIMIT_BYTES);
    expect(options.gateway?.requestTimeoutMs).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
    expect(options.dispatcher).toEqual({
      maxQueueMs: DISPATCHER_DEFAULTS.maxQueueMs,
      suspension: DISPATCHER_DEFAULTS.suspension,
    });
    expect(options.heartbeatMs).toBe(MINER_HUB_DEFAULTS.heartbeatMs);
    expect(options.miners).toEqual({
      maxHandshakes: MINER_HUB_DEFAULTS.maxHandshakes,
      maxHandshakesPerAddress: MINER_HUB_DEFAULTS.maxHandshakesPerAddress,
    });
    expect(options.drainGraceMs).toBe(DEFAULT_DRAIN_GRACE_MS);
    expect(options.autoscaler).toEqual({
      scaleDownIdleMs: AUTOSCALER_DEFAULTS.scaleDownIdleMs,
      busyShare: AUTOSCALER_DEFAULTS.busyShare,
    });
  });

  it("says at start that /metrics and /nodes are on the gateway's port when no operations port is set", async () => {
    const { stderr } = await startPrinting();
    expect(stderr).toContain('models   none   (--pod serves some)');
    expect(stderr).toContain(
      "http://127.0.0.1:1/metrics · /nodes · /pods on the gateway's port, without a key   (--operations-port keeps",
    );
  });

  it('passes each flag on to the part it sets', async () => {
    const options = await startWith(
      ...['--default-max-retries', '0', '--default-timeout-ms', '900000', '--queue-ms', '5000'],
      ...['--suspend-ms', '1000', '--suspend-max-ms', '8000', '--max-body-mib', '64'],
      ...['--request-timeout-ms', '30000', '--heartbeat-ms', '2000', '--max-handshakes', '1024'],
      ...['--max-handshakes-per-address', '4', '--drain-ms', '60000', '--auth-failures-per-minute', '5'],
      ...['--scale-down-idle-s', '0', '--scale-up-busy-pct', '0'],
    );
    expect(options.gateway).toMatchObject({
      budget: { maxRetries: 0, timeoutMs: 900_000 },
      bodyLimitBytes: 64 * 1024 * 1024,
      requestTimeoutMs: 30_000,
      authFailuresPerMinute: 5,
    });
    expect(options.dispatcher).toEqual({ maxQueueMs: 5_000, suspension: { baseMs: 1_000, maxMs: 8_000 } });
    expect(options.heartbeatMs).toBe(2_000);
    expect(options.miners).toEqual({ maxHandshakes: 1_024, maxHandshakesPerAddress: 4 });
    expect(options.drainGraceMs).toBe(60_000);
    // 0: never for idleness, and only autoscale.min kept ahead.
    expect(options.autoscaler).toEqual({ scaleDownIdleMs: null, busyShare: null });
    expect((await startWith('--scale-down-idle-s', '30', '--scale-up-busy-pct', '100')).autoscaler).toEqual({
      scaleDownIdleMs: 30_000,
      busyShare: 1,
    });
  });

  it('refuses values out of range by the flag, before the router starts', async () => {
    const refusals: [string[], string][] = [
      [
        ['--default-max-retries', '11'],
        "option '--default-max-retries <n>' argument '11' is invalid. expected a whole number 0-10, got \"11\"",
      ],
      [['--default-timeout-ms', '0'], 'expected a whole number 1-3600000, got "0"'],
      [['--default-timeout-ms', '1.5'], 'expected a whole number 1-3600000, got "1.5"'],
      [['--queue-ms', '3600001'], 'expected a whole number 1-3600000'],
      // A Node timer past 2^31 - 1 ms fires at once.
      [['--suspend-max-ms', '2147483648'], 'expected a whole number 1-2147483647'],
      [['--max-body-mib', '0'], 'expected a whole number 1-1024'],
      [['--heartbeat-ms', '50'], 'expected a whole number 100-600000'],
      [['--max-handshakes', '-1'], 'expected a whole number 1-65536'],
      [['--drain-ms', 'soon'], 'expected a whole number 1-2147483647, got "soon"'],
      [['--scale-down-idle-s', '-1'], 'expected a whole number 0-2147483, got "-1"'],
      [['--scale-up-busy-pct', '101'], 'expected a whole number 0-100, got "101"'],
      [['--scale-up-busy-pct', '0.5'], 'expected a whole number 0-100, got "0.5"'],
      [
        ['--suspend-ms', '60000', '--suspend-max-ms', '1000'],
        '--suspend-max-ms (1000) is shorter than --suspend-ms (60000)',
      ],
      [
        ['--max-handshakes', '8', '--max-handshakes-per-address', '16'],
        '--max-handshakes-per-address (16) is more than --max-handshakes (8)',
      ],
    ];
    for (const [args, message] of refusals) {
      await expect(startWith(...args), args.join(' ')).rejects.toThrow(message);
      expect(started).toEqual([]);
    }
  });
});

describe('neurino router operations listener', () => {
  it('moves /metrics and /nodes to --operations-port, on loopback unless --operations-host says', async () => {
    expect((await startWith()).operations).toBeUndefined();
    const here = ['--data-dir', join(dir, 'ops')];
    const options = await startWith(...here, '--operations-port', '9464');
    expect(options.operations).toEqual({ host: '127.0.0.1', port: 9464, token: expect.any(String) });
    const both = await startWith(...here, '--operations-port', '9464', '--operations-host', '10.0.0.2');
    expect(both.operations).toMatchObject({ host: '10.0.0.2', port: 9464 });
    await expect(startWith('--operations-host', '10.0.0.2')).rejects.toThrow(
      '--operations-host needs --operations-port',
    );
    await expect(startWith('--operations-port', '70000')).rejects.toThrow(/TCP port/);
  });

  it('guards it with an operator token: made once in the data dir, or given by file or environment', async () => {
    const dataDir = join(dir, 'token');
    const made = (await startWith('--data-dir', dataDir, '--operations-port', '9464')).operations?.token;
    expect(made).toMatch(/^[0-9A-Za-z]{43}$/);
    const file = join(dataDir, 'operator-token');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(made);
    // The next start serves the same token.
    const again = await startWith('--data-dir', dataDir, '--operations-port', '9464');
    expect(again.operations?.token).toBe(made);

    const given = join(dir, 'given-token');
    await writeFile(given, 'a-token-the-operator-chose-0001\n');
    await chmod(given, 0o644);
    await expect(
      startWith('--data-dir', dataDir, '--operations-port', '1', '--operator-token-file', given),
    ).rejects.toThrow(
      `the operator token at ${given} is readable by other users (mode 644); run: chmod 600 ${given}`,
    );
    await chmod(given, 0o600);
    const fromFile = await startWith(
      '--data-dir',
      dataDir,
      '--operations-port',
      '1',
      '--operator-token-file',
      given,
    );
    expect(fromFile.operations?.token).toBe('a-token-the-operator-chose-0001');
    const saved = process.env.NEURINO_OPERATOR_TOKEN;
    process.env.NEURINO_OPERATOR_TOKEN = 'a-token-from-the-environment-01';
    try {
      const fromEnv = await startWith('--data-dir', dataDir, '--operations-port', '9464');
      expect(fromEnv.operations?.token).toBe('a-token-from-the-environment-01');
      process.env.NEURINO_OPERATOR_TOKEN = 'too-short';
      await expect(startWith('--data-dir', dataDir, '--operations-port', '9464')).rejects.toThrow(
        'NEURINO_OPERATOR_TOKEN: the operator token must be at least 24 characters',
      );
    } finally {
      if (saved === undefined) delete process.env.NEURINO_OPERATOR_TOKEN;
      else process.env.NEURINO_OPERATOR_TOKEN = saved;
    }
    await expect(
      startWith('--operations-port', '9464', '--operator-token-file', join(dir, 'none')),
    ).rejects.toThrow(/cannot read the operator token at .*none: ENOENT/);
    await expect(startWith('--operator-token-file', given)).rejects.toThrow(
      '--operator-token-file needs --operations-port',
    );
  });
});

describe('neurino router pod specs', () => {
  it('reads a folder of specs, and again when asked (SIGHUP), keeping its pods when the specs have a problem', async () => {
    const folder = join(dir, 'pods');
    await mkdir(folder, { recursive: true });
    const specFile = (name: string) =>
      writeFile(
        join(folder, `${name}.json`),
        JSON.stringify({ ...samplePodSpec({ name }), pricePerUnit: '1000' }),
      );
    await specFile('first');
    const updates: string[][] = [];
    let reload: (() => Promise<void>) | undefined;
    const command = routerCommand({
      start: fakeStart({
        updatePods: async (specs: readonly PodSpec[]) => {
          updates.push(specs.map((s) => s.name));
          return { added: [], removed: [], updated: [] };
        },
      }),
      onShutdown: () => {},
      onReload: (callback) => {
        reload = callback;
      },
    });
    started = [];
    const { stderr } = await runCommandPrinting(command, [
      ...['--rpc-url', 'http://127.0.0.1:1', '--addresses', join(dir, 'addresses.json')],
      ...['--key', `0x${'11'.repeat(32)}`, '--log-level', 'silent', '--pod', folder],
    ]);
    expect(started[0]?.pods.map((s) => s.name)).toEqual(['first']);
    expect(stderr).toContain('models   first   (--pod is read again on SIGHUP)');
    await specFile('second');
    await reload?.();
    expect(updates).toEqual([['first', 'second']]);
    await writeFile(join(folder, 'third.json'), '{ not json');
    await reload?.();
    expect(updates).toHaveLength(1);
  });
});
