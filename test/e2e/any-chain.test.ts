// The README's "On any EVM chain, step by step", command by command as each role would type them, against a
// bare anvil (no devnet): the deployer's `neurino deploy`, the pod deployer's spec and registration, NEU
// handed out with `cast`, the router with its operators' port and a key made through it, the miner's stake
// and its process, the developer's credits and a request, then anyone's receipt check and earnings once the
// batch settled. Every command is the CLI in a process of its own.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, startAnvil } from '../../src/chain/anvil.ts';
import { devAccount, devPrivateKey } from '../../src/chain/dev-accounts.ts';
import { type DevnetChild, spawnNeurino, waitFor } from '../../src/cli/devnet/child-process.ts';
import { writeTinyModel } from '../../src/compute/model/tiny-model.ts';
import { freePort } from '../support/free-port.ts';

const NEURINO_BIN = new URL('../../bin/neurino.js', import.meta.url).pathname;
const CAST_BIN = new URL('../../node_modules/.bin/cast', import.meta.url).pathname;

// Each role its own key, as on a real chain.
const ROLES = { deployer: 0, router: 1, podDeployer: 2, node: 3, developer: 4 } as const;
const key = (role: keyof typeof ROLES) => devPrivateKey(ROLES[role]);
const address = (role: keyof typeof ROLES) => devAccount(ROLES[role]).address;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 120_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}

/** `neurino <args>` as a user runs it; fails the test with its output unless it exits 0. */
async function neurino(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await run(process.execPath, [NEURINO_BIN, ...args], env);
  expect(result.code, `neurino ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe("the README's step by step on a bare chain", () => {
  let dir: string;
  let anvil: Anvil;
  let rpc: string;
  let book: string;
  let gateway: string;
  let operations: string;
  const children: DevnetChild[] = [];
  const chain = () => ['--rpc-url', rpc, '--addresses', book];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'neurino-any-chain-'));
    anvil = await startAnvil({ port: await freePort() });
    rpc = anvil.rpcUrl;
    book = join(dir, 'addresses.json');
    const [port, operationsPort] = [await freePort(), await freePort()];
    gateway = `http://127.0.0.1:${port}`;
    operations = `http://127.0.0.1:${operationsPort}`;
  }, 60_000);

  afterAll(async () => {
    for (const child of children.reverse()) await child.stop(10_000);
    await anvil?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves a paid request end to end and settles it, each role with its own command', async () => {
    // The deployer: the contracts, with the router's address granted ROUTER_ROLE.
    await neurino([
      'deploy',
      '--rpc-url',
      rpc,
      '--private-key',
      key('deployer'),
      '--router',
      address('router'),
      '--out',
      book,
    ]);
    const contracts = JSON.parse(await readFile(book, 'utf8')).contracts as Record<string, string>;
    expect(contracts.settlement).toMatch(/^0x[0-9a-fA-F]{40}$/);

    // A pod deployer: the model's spec, registered.
    const model = join(dir, 'model.gguf');
    await writeTinyModel(model);
    const spec = join(dir, 'model.json');
    await neurino(['pod', 'spec', '--model', model, '--deployer-share-bps', '1500', '--out', spec]);
    await neurino(['pod', 'register', spec, '--key', key('podDeployer'), ...chain()]);

    // The gateway operator: the router with its operators' port, then a developer's API key through it.
    const routerDir = join(dir, 'router');
    const router = await spawnNeurino(
      'router',
      [
        'router',
        ...chain(),
        '--pod',
        spec,
        '--data-dir',
        routerDir,
        '--port',
        new URL(gateway).port,
        '--operations-port',
        new URL(operations).port,
      ],
      { logDir: join(dir, 'logs'), env: { NEURINO_ROUTER_KEY: key('router') } },
    );
    children.push(router);
    await waitFor('the router', async () => (await fetch(`${gateway}/health`)).ok, {
      timeoutMs: 60_000,
      child: router,
    });
    const apiKey = (
      await neurino(['router', 'keys', 'create', '--account', address('developer'), '--data-dir', routerDir])
    ).trim();
    expect(apiKey).toMatch(/^nrn_/);

    // NEU from the token's holder (the deployer, as treasury) for the node's stake and the credits.
    for (const [to, amount] of [
      [address('node'), '2000ether'],
      [address('developer'), '100ether'],
    ] as const) {
      const sent = await run(CAST_BIN, [
        'send',
        contracts.neurinoToken ?? '',
        'transfer(address,uint256)',
        to,
        amount,
        '--private-key',
        key('deployer'),
        '--rpc-url',
        rpc,
      ]);
      // cast's npm wrapper exits 0 whatever happens: its receipt says whether the transfer went through.
      expect(sent.stdout, sent.stderr).toMatch(/status\s+1 \(success\)/);
    }

    // A miner operator: stake, then serve the same file.
    await neurino(['miner', 'register', '--stake', '2000', '--key', key('node'), ...chain()]);
    const miner = await spawnNeurino(
      'miner',
      [
        'miner',
        '--router',
        `${gateway.replace('http', 'ws')}/v1/miners`,
        '--key',
        key('node'),
        '--model',
        model,
        '--pod-spec',
        spec,
        ...chain(),
        '--data-dir',
        join(dir, 'miner'),
      ],
      { logDir: join(dir, 'logs') },
    );
    children.push(miner);
    const tokenFile = join(routerDir, 'operator-token');
    const nodes = () => neurino(['nodes', '--gateway', operations, '--operator-token-file', tokenFile]);
    await waitFor('the miner ready', async () => /\bready\b/.test(await nodes()), {
      timeoutMs: 90_000,
      child: miner,
    });
    expect(await nodes()).toContain(address('node'));

    // The developer: credits, then a request with the API key.
    await neurino(['credits', 'deposit', '50', '--key', key('developer'), ...chain()]);
    const response = await fetch(`${gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'model', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8 }),
    });
    const answer = (await response.json()) as { id: string; usage: { completion_tokens: number } };
    expect(response.status, JSON.stringify(answer)).toBe(200);
    expect(answer.usage.completion_tokens).toBeGreaterThan(0);

    // Anyone: the receipt checked against the chain once its batch settled (10 s by default), and what
    // each party earned.
    let audit: Run | undefined;
    await waitFor(
      'the receipt settled',
      async () => {
        const args = [NEURINO_BIN, 'receipt', answer.id, '--gateway', gateway, '--api-key', apiKey];
        audit = await run(process.execPath, [...args, '--rpc-url', rpc]);
        return audit.code === 0 && /applied on-chain/.test(audit.stdout);
      },
      { timeoutMs: 90_000, child: router },
    );
    expect(audit?.stdout).toMatch(/✓ signed by its node/);
    expect(audit?.stdout).toMatch(/✓ Settlement\.batchRoot holds that root: the batch was applied on-chain/);
    expect(audit?.stdout).not.toMatch(/✗/);
    const earnings = await neurino(['earnings', address('node'), address('podDeployer'), ...chain()]);
    for (const role of ['node', 'podDeployer'] as const) {
      const line = earnings.split('\n').find((l) => l.includes(address(role)));
      expect(line, earnings).toBeDefined();
      expect(line).toMatch(/NEU to claim/);
      expect(line).not.toMatch(/\s0 NEU to claim/);
    }
  }, 600_000);
});
