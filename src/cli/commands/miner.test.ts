// `neurino miner` and `neurino miner register` as an operator runs them: a real process, a real anvil with
// the protocol deployed, a router that admits what NodeRegistry says, and the generated tiny model.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Address, formatEther, type Hex, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { type AddressBook, writeAddressBook } from '../../chain/address-book.ts';
import type { Anvil } from '../../chain/anvil.ts';
import type { NeurinoPublicClient } from '../../chain/clients.ts';
import { devAccount, devPrivateKey, devRoleAccount } from '../../chain/dev-accounts.ts';
import { neurinoTokenAbi, nodeRegistryAbi } from '../../chain/generated/index.ts';
import type { ChatJobOutput } from '../../compute/miner/job-output.ts';
import { readNodeStanding, standingProblem } from '../../compute/miner/registration.ts';
import { TestRouter } from '../../compute/miner/testing/test-router.ts';
import { writeTinyModel } from '../../compute/model/tiny-model.ts';
import { LlamaCppRuntime } from '../../compute/pods/llama-cpp.ts';
import {
  type ProtocolFixture,
  startProtocolFixture,
} from '../../orchestration/settlement/testing/protocol-fixture.ts';

const require = createRequire(import.meta.url);
const MINER_TS = fileURLToPath(new URL('./miner.ts', import.meta.url));
const deployer = devRoleAccount('deployer');
let protocol: ProtocolFixture;
let anvil: Anvil;
let book: AddressBook;
let publicClient: NeurinoPublicClient;
let dir: string;
let addresses: string;
let router: TestRouter;
let script: string;

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `neurino miner <args>` in its own process, handling errors as src/cli/main.ts does. */
function neurinoMiner(args: string[], env: Record<string, string> = {}): Run {
  // A script file, not `node -e`: node-llama-cpp forks a probe process with our execArgv, where `-e` would rerun it.
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, NEURINO_NODE_KEY: '', ...env, MINER_ARGS: JSON.stringify(args) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function sendNeu(to: Address, amount: bigint): Promise<void> {
  await protocol.write(deployer, {
    address: book.contracts.neurinoToken,
    abi: neurinoTokenAbi,
    functionName: 'transfer',
    args: [to, amount],
  });
}

const chainArgs = () => ['--rpc-url', anvil.rpcUrl, '--addresses', addresses];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'miner-cli-'));
  protocol = await startProtocolFixture(await freePort());
  ({ anvil, book, publicClient } = protocol);
  script = join(dir, 'run-miner.mjs');
  await writeFile(
    script,
    // Wired under a root program as src/cli/main.ts does (no positional options there).
    `const { Command } = await import(${JSON.stringify(pathToFileURL(require.resolve('commander')).href)});
const { minerCommand } = await import(${JSON.stringify(pathToFileURL(MINER_TS).href)});
try {
  const program = new Command('neurino').addCommand(minerCommand());
  await program.parseAsync(['miner', ...JSON.parse(process.env.MINER_ARGS)], { from: 'user' });
} catch (error) {
  console.error('neurino: ' + (error instanceof Error ? error.message : String(error)));
  process.exit(1);
}
`,
  );
  addresses = join(dir, 'addresses.json');
  await writeAddressBook(addresses, book);
  router = await TestRouter.start({
    domain: { chainId: book.chainId, verifyingContract: book.contracts.settlement },
    admit: async (node) => {
      const standing = await readNodeStanding({
        publicClient,
        nodeRegistry: book.contracts.nodeRegistry,
        node,
      });
      const problem = standingProblem(standing);
      return problem === undefined ? { ok: true } : { ok: false, ...problem };
    },
  });
});

afterAll(async () => {
  await router?.close();
  await protocol?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('neurino miner register', () => {
  it('registers and stakes the key, then reports it active', async () => {
    const node = devAccount(17);
    await sendNeu(node.address, parseEther('1000'));
    const args = ['register', '--stake', '1000', ...chainArgs(), '--data-dir', join(dir, 'register')];
    const first = neurinoMiner(args, { NEURINO_NODE_KEY: devPrivateKey(17) });
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain(`node ${node.address} registered: 1000 NEU staked`);
    const active = await publicClient.readContract({
      address: book.contracts.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: 'isActive',
      args: [node.address],
    });
    expect(active).toBe(true);
    const again = neurinoMiner(args, { NEURINO_NODE_KEY: devPrivateKey(17) });
    expect(await again.exited).toBe(0);
    expect(again.output()).toContain('is already active with 1000 NEU staked');
  });

  it('fails clearly when the key holds no NEU, and on a bad stake', async () => {
    const poor = neurinoMiner(['register', '--stake', '1000', ...chainArgs(), '--key', devPrivateKey(18)]);
    expect(await poor.exited).toBe(1);
    expect(poor.output()).toContain(
      `neurino: node ${devAccount(18).address} holds 0 NEU but the stake needs 1000 NEU`,
    );
    const bad = neurinoMiner(['register', '--stake', 'lots', ...chainArgs(), '--key', devPrivateKey(18)]);
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('expected an amount of NEU');
  });

  it('refuses a bad key without printing it', async () => {
    const run = neurinoMiner(['register', '--stake', '1000', ...chainArgs(), '--key', '0x1234abcd']);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('neurino: --key: expected a private key of 32 bytes');
    expect(run.output()).not.toContain('1234abcd');
  });
});

describe('neurino miner status, unbond, withdraw and add-stake', () => {
  it('shows the node, lets it leave and withdraw after the delay, and come back', async () => {
    const node = devAccount(19);
    await protocol.registerNode(node, parseEther('2000'));
    const miner = async (...args: string[]) => {
      const run = neurinoMiner([...args, ...chainArgs(), '--key', devPrivateKey(19)]);
      return { code: await run.exited, output: run.output() };
    };
    const status = await miner('status');
    expect(status.code, status.output).toBe(0);
    expect(status.output).toContain('status      active (admitted by routers)');
    expect(status.output).toContain('stake       2000 NEU bonded (minimum 1000 NEU)');
    expect(status.output).toContain('unbonding delay 7 d');

    const below = await miner('unbond', '1500');
    expect(below.code).toBe(1);
    expect(below.output).toContain('neurino: 500 NEU would stay bonded, below the minimum of 1000 NEU');
    const leave = await miner('unbond', 'all');
    expect(leave.code, leave.output).toBe(0);
    expect(leave.output).toMatch(
      /2000 NEU unbonding until \S+Z, 0 NEU bonded \(no longer admitted by routers\)/,
    );
    const early = await miner('withdraw');
    expect(early.code).toBe(1);
    expect(early.output).toMatch(/neurino: the 2000 NEU unbonding frees at \S+Z \(in (7 d|6 d 23 h)\)/);

    await protocol.advanceTime(7 * 86_400);
    const paid = await miner('withdraw');
    expect(paid.code, paid.output).toBe(0);
    expect(paid.output).toContain(`2000 NEU withdrawn to ${node.address}`);
    const left = await miner('status');
    expect(left.output).toContain('status      exiting (not admitted:');

    // Anyone may look at a node by its address, with no key at all; none is made for it.
    const noKeyDir = join(dir, 'no-key');
    const looked = neurinoMiner(['status', '--node', node.address, ...chainArgs(), '--data-dir', noKeyDir]);
    expect(await looked.exited, looked.output()).toBe(0);
    expect(looked.output()).toContain(`node        ${node.address}`);
    const keyless = neurinoMiner(['status', ...chainArgs(), '--data-dir', noKeyDir]);
    expect(await keyless.exited).toBe(1);
    expect(keyless.output()).toContain('no node key at');
    await expect(stat(join(noKeyDir, 'miner', 'node-key.json'))).rejects.toThrow();

    const back = await miner('add-stake', '1000');
    expect(back.code, back.output).toBe(0);
    expect(back.output).toContain(`node ${node.address} stakes 1000 NEU`);
    expect((await miner('status')).output).toContain('status      active (admitted by routers)');
  });
});

describe('neurino miner', () => {
  it('creates a key on first run, says how to back it up, and stops when the router refuses it', async () => {
    const dataDir = join(dir, 'fresh');
    const run = neurinoMiner(['--router', router.url, ...chainArgs(), '--data-dir', dataDir]);
    expect(await run.exited).toBe(1);
    const keyFile = join(dataDir, 'miner', 'node-key.json');
    expect(run.output()).toContain(`saved in ${keyFile}`);
    expect(run.output()).toContain('Back it up now');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(run.output()).toContain('neurino: the router refused this node (node_not_registered)');
    // Ranked by llama.cpp's own speed on this machine, not by a name it reports.
    expect(run.output()).toMatch(/self-benchmark: [\d.]+ GFLOP\/s with llama\.cpp on cpu/);
  });

  it('needs --router, an address book, a stake to register and an upstream model name', async () => {
    const noRouter = neurinoMiner([...chainArgs(), '--key', devPrivateKey(19)]);
    expect(await noRouter.exited).toBe(1);
    expect(noRouter.output()).toContain('--router is required');
    const noBook = neurinoMiner([
      '--router',
      router.url,
      '--key',
      devPrivateKey(19),
      '--data-dir',
      join(dir, 'nobook'),
    ]);
    expect(await noBook.exited).toBe(1);
    expect(noBook.output()).toContain('no address book at');
    const noStake = neurinoMiner([
      '--router',
      router.url,
      ...chainArgs(),
      '--key',
      devPrivateKey(19),
      '--register-on-start',
    ]);
    expect(await noStake.exited).toBe(1);
    expect(noStake.output()).toContain('--register-on-start needs --stake <neu>');
    const noModel = neurinoMiner([
      '--router',
      router.url,
      ...chainArgs(),
      '--key',
      devPrivateKey(19),
      '--upstream',
      'http://127.0.0.1:1/v1',
    ]);
    expect(await noModel.exited).toBe(1);
    expect(noModel.output()).toContain('--upstream needs --upstream-model <name>');
    const badWait = neurinoMiner(['--router', router.url, ...chainArgs(), '--wait-for-upstream-s', '-1']);
    expect(await badWait.exited).toBe(1);
    expect(badWait.output()).toContain('expected a whole number 0-86400, got "-1"');
  });

  it('keeps trying an upstream that is not ready for --wait-for-upstream-s, then gives up naming it', async () => {
    const run = neurinoMiner([
      '--router',
      router.url,
      ...chainArgs(),
      '--key',
      devPrivateKey(19),
      '--upstream',
      'http://127.0.0.1:1/v1',
      '--upstream-model',
      'llama-3-8b',
      '--wait-for-upstream-s',
      '2',
    ]);
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/pod llama-3-8b is not ready: .*127\.0\.0\.1:1.*; trying again in 1 s/);
    expect(run.output()).toMatch(/Upstream http:\/\/127\.0\.0\.1:1\/v1 is not usable/);
  });

  it('registers on start, says what it earned, serves the tiny model, and drains on SIGTERM', async () => {
    const node = devAccount(19);
    await sendNeu(node.address, parseEther('1000'));
    // Earnings from an earlier life of the node, not claimed yet.
    const earlierPod = await protocol.registerPod(devRoleAccount('podDeployer'), { deployerShareBps: 0 });
    await protocol.settleLine({ podId: earlierPod, node: node.address, amount: parseEther('2') });
    const earned = await protocol.earningsOf(node.address);
    const run = neurinoMiner(
      [
        '--router',
        router.url,
        ...chainArgs(),
        '--data-dir',
        join(dir, 'serving'),
        '--register-on-start',
        '--stake',
        '1000',
      ],
      { NEURINO_NODE_KEY: devPrivateKey(19) },
    );
    const index = router.admitted.length;
    const connection = await router.welcomedConnection(index);
    expect(connection.node).toBe(node.address);
    expect(run.output()).toContain(
      `${formatEther(earned)} NEU earned and not claimed yet: neurino earnings claim`,
    );
    const capabilities = await connection.waitFor('capabilities');
    // The figure announced is the one llama.cpp measured at start.
    const measured = /self-benchmark: ([\d.]+) GFLOP\/s with llama\.cpp on cpu/.exec(run.output());
    expect(capabilities.efficiency).toBe(Number(measured?.[1]));
    const podId = capabilities.warmPods[0];
    if (podId === undefined) throw new Error('no warm pod announced');
    const outcome = await connection.assign({
      podId,
      kind: 'chat',
      input: { model: 'neurino-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 },
      stream: true,
    });
    expect(outcome.checked?.ok).toBe(true);
    const output = outcome.result?.output as ChatJobOutput | undefined;
    expect(outcome.chunks.map((c) => c.delta).join('')).toBe(output?.text);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect((await connection.closed).code).toBe(1000);
    expect(connection.received.some((m) => m.type === 'draining')).toBe(true);
  });
});

describe('neurino miner --pods and --metrics-port', () => {
  it('serves several models from a pods file, each announced warm and answering its own jobs, and counts them in its metrics', async () => {
    const node = devAccount(16);
    await protocol.registerNode(node, parseEther('1000'));
    const podsDir = join(dir, 'pods');
    await writeTinyModel(join(podsDir, 'models', 'second.gguf'), { seed: 2 });
    const podsFile = join(podsDir, 'pods.json');
    const entries = [{ slots: 1 }, { model: 'models/second.gguf', modelName: 'tiny-two', slots: 2 }];
    await writeFile(podsFile, JSON.stringify(entries));
    const index = router.admitted.length;
    const metricsPort = await freePort();
    const run = neurinoMiner(
      [
        ...['--router', router.url, ...chainArgs(), '--data-dir', podsDir, '--pods', podsFile],
        ...['--metrics-port', String(metricsPort)],
      ],
      { NEURINO_NODE_KEY: devPrivateKey(16) },
    );
    const connection = await router.welcomedConnection(index);
    const capabilities = await connection.waitFor('capabilities');
    expect(capabilities.warmPods).toHaveLength(2);
    // The node runs as many jobs at once as its pods' slots together.
    expect(capabilities.slots.total).toBe(3);
    expect(run.output()).toMatch(/serving neurino-tiny \(0x[0-9a-f]{64}\), tiny-two \(0x[0-9a-f]{64}\)/);
    const texts: string[] = [];
    for (const [at, podId] of capabilities.warmPods.entries()) {
      const model = at === 0 ? 'neurino-tiny' : 'tiny-two';
      const input = { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, seed: 1 };
      const outcome = await connection.assign({ podId, kind: 'chat', input, stream: false });
      expect(outcome.checked?.ok).toBe(true);
      texts.push((outcome.result?.output as ChatJobOutput | undefined)?.text ?? '');
    }
    // Two models: the same seeded request answered by different weights.
    expect(texts[0]).not.toBe(texts[1]);
    // The operator's view: each pod's job counted with its tokens, the node connected, its slots.
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    expect(run.output()).toContain(`metrics  ${metricsUrl}/metrics · /health`);
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    for (const pod of ['neurino-tiny', 'tiny-two']) {
      expect(metrics).toContain(`neurino_node_jobs_total{pod="${pod}",kind="chat",outcome="succeeded"} 1`);
      expect(metrics).toMatch(
        new RegExp(`neurino_node_tokens_total\\{pod="${pod}",direction="output"\\} [1-8]\\n`),
      );
      expect(metrics).toContain(`neurino_node_job_seconds_count{pod="${pod}",kind="chat"} 1`);
    }
    expect(metrics).toContain('neurino_node_connected 1');
    expect(metrics).toContain('neurino_node_slots{state="free"} 3');
    expect(metrics).toContain('neurino_node_warm_pods 2');
    expect(metrics).toContain('neurino_node_process_cpu_seconds_total');
    const health = await fetch(`${metricsUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'connected', node: node.address, jobsSucceeded: 2 });
    expect((await fetch(`${metricsUrl}/nope`)).status).toBe(404);

    // The operator drops the first pod from the file and sends SIGHUP: announced gone, its slot too.
    const heard = connection.received.length;
    await writeFile(podsFile, JSON.stringify(entries.slice(1)));
    run.child.kill('SIGHUP');
    const reloaded = await connection.waitFor('capabilities', (c) => c.warmPods.length === 1, heard);
    expect(reloaded.warmPods).toEqual([capabilities.warmPods[1]]);
    expect(reloaded.slots.total).toBe(2);
    await expect.poll(() => run.output()).toContain('pods reloaded: none added, neurino-tiny removed');
    // A file it cannot read changes nothing.
    await writeFile(podsFile, '[{ broken');
    run.child.kill('SIGHUP');
    await expect.poll(() => run.output()).toContain('pods not reloaded');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('--memory-mib: loads the pods that fit and unloads the one idle longest for a job on a cold one', async () => {
    const node = devAccount(15);
    await protocol.registerNode(node, parseEther('1000'));
    const podsDir = join(dir, 'small-node');
    await writeTinyModel(join(podsDir, 'second.gguf'), { seed: 2 });
    const podsFile = join(podsDir, 'pods.json');
    await writeFile(podsFile, JSON.stringify([{}, { model: 'second.gguf', modelName: 'tiny-two' }]));
    const index = router.admitted.length;
    const metricsPort = await freePort();
    // Both tiny models have the same shape, so they would hold the same once loaded: one fits.
    const held = (await new LlamaCppRuntime({ modelPath: join(podsDir, 'second.gguf') }).estimateMemory())
      .totalMiB;
    const run = neurinoMiner(
      [
        ...['--router', router.url, ...chainArgs(), '--data-dir', podsDir, '--pods', podsFile],
        ...['--memory-mib', String(held), '--metrics-port', String(metricsPort)],
      ],
      { NEURINO_NODE_KEY: devPrivateKey(15) },
    );
    const connection = await router.welcomedConnection(index);
    const capabilities = await connection.waitFor('capabilities');
    expect(capabilities.warmPods).toHaveLength(1);
    await expect.poll(() => run.output()).toContain('pod tiny-two stays cold until a job asks for it');
    const [warm] = capabilities.warmPods;
    const hosted = /serving neurino-tiny \((0x[0-9a-f]{64})\), tiny-two \((0x[0-9a-f]{64})\)/.exec(
      run.output(),
    );
    const cold = hosted?.[2] as Hex;
    expect(warm).toBe(hosted?.[1]);
    const heard = connection.received.length;
    const input = { model: 'tiny-two', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, seed: 1 };
    const outcome = await connection.assign({ podId: cold, kind: 'chat', input, stream: false });
    expect(outcome.checked?.ok).toBe(true);
    await connection.waitFor('capabilities', (c) => c.warmPods.join() === cold, heard);
    await expect.poll(() => run.output()).toContain('pod neurino-tiny unloaded to make room for tiny-two');
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toContain(`neurino_node_pod_memory_mib{state="held"} ${held}`);
    expect(metrics).toContain(`neurino_node_pod_memory_mib{state="budget"} ${held}`);
    const health = await (await fetch(`http://127.0.0.1:${metricsPort}/health`)).json();
    expect(health).toMatchObject({ warmPods: [cold], podMemory: { budgetMiB: held, heldMiB: held } });
    expect(run.output()).toContain(
      `pod tiny-two holds about ${held} MiB once loaded (weights 1 MiB, 2 slots`,
    );
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('--keep-alive-s: unloads the pod idle that long, announced cold, and loads it for the next job', async () => {
    const node = devAccount(14);
    await protocol.registerNode(node, parseEther('1000'));
    const index = router.admitted.length;
    const run = neurinoMiner(
      ['--router', router.url, ...chainArgs(), '--data-dir', join(dir, 'keep-alive'), '--keep-alive-s', '1'],
      { NEURINO_NODE_KEY: devPrivateKey(14) },
    );
    const connection = await router.welcomedConnection(index);
    const [warm] = (await connection.waitFor('capabilities')).warmPods;
    const heard = connection.received.length;
    await connection.waitFor('capabilities', (c) => c.warmPods.length === 0, heard);
    // Its log comes through a pipe, after the frame at times.
    await expect.poll(() => run.output()).toContain('pod neurino-tiny unloaded after 1000 ms idle');
    const input = {
      model: 'neurino-tiny',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      seed: 1,
    };
    const outcome = await connection.assign({ podId: warm as Hex, kind: 'chat', input, stream: false });
    expect(outcome.checked?.ok).toBe(true);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('refuses a pods file it cannot read, naming the entry at fault, and one-pod flags beside it', async () => {
    const podsDir = join(dir, 'bad-pods');
    await mkdir(podsDir, { recursive: true });
    const attempt = async (entries: unknown, extra: string[] = []) => {
      const file = join(podsDir, 'pods.json');
      await writeFile(file, JSON.stringify(entries));
      const args = ['--router', router.url, ...chainArgs(), '--key', devPrivateKey(16), '--pods', file];
      const run = neurinoMiner([...args, ...extra]);
      expect(await run.exited).toBe(1);
      return run.output();
    };
    expect(await attempt([{ slots: 1 }, { chatTemplate: 'nope' }])).toContain(
      '[1].chatTemplate: expected one of',
    );
    expect(await attempt([{ modle: 'x.gguf' }])).toMatch(/\[0\]: Unrecognized key: "modle"/);
    expect(await attempt([])).toContain('--pods');
    expect(await attempt([{}], ['--model-name', 'x'])).toContain(
      '--model-name describes one pod: with --pods, set it in the file',
    );
    expect(await attempt([{}, {}])).toContain('configured twice');
    // A template file is read from the pods file's folder.
    expect(await attempt([{ chatTemplateFile: 'chat.jinja' }])).toContain(
      `cannot read the chat template file ${join(podsDir, 'chat.jinja')}: no such file`,
    );
    expect(await attempt([{}], ['--chat-template-file', 'chat.jinja'])).toContain(
      '--chat-template-file describes one pod: with --pods, set it in the file',
    );
    const missing = neurinoMiner([
      '--router',
      router.url,
      ...chainArgs(),
      '--pods',
      join(podsDir, 'none.json'),
    ]);
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain('none.json: no such file');
    const noKeepAlive = neurinoMiner(['--router', router.url, ...chainArgs(), '--keep-alive-s', '0']);
    expect(await noKeepAlive.exited).toBe(1);
    expect(noKeepAlive.output()).toContain('--keep-alive-s');
    const hostOnly = neurinoMiner(['--router', router.url, ...chainArgs(), '--metrics-host', '0.0.0.0']);
    expect(await hostOnly.exited).toBe(1);
    expect(hostOnly.output()).toContain('--metrics-host needs --metrics-port');
  });
});

describe('neurino miner benchmark', () => {
  it('measures the machine as a starting miner does and prints what it would announce', async () => {
    const run = neurinoMiner(['benchmark', '--threads', '1']);
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('llama.cpp on cpu, 1 thread');
    expect(run.output()).toMatch(/prompt evaluation +[\d.]+ GFLOP\/s +the efficiency a miner announces/);
    expect(run.output()).toMatch(/generation +[\d.]+ tokens\/s/);
    expect(run.output()).toMatch(
      /pod memory +\d+ MiB +what its llama\.cpp pods may hold at once: the node's RAM/,
    );

    const json = neurinoMiner(['benchmark', '--json', '--cpu']);
    expect(await json.exited).toBe(0);
    const result = JSON.parse(json.output()) as { device: string; gflops: number; podMemoryMiB: number };
    expect(result).toMatchObject({ device: 'cpu', threads: 1, podMemoryMiB: expect.any(Number) });
    expect(result.gflops).toBeGreaterThan(0);

    const bad = neurinoMiner(['benchmark', '--threads', '0']);
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain("option '--threads <n>' argument '0' is invalid");
  });
});
