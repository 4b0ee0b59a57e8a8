// `neurino router keys …` against a real PGlite directory, and the router's refusals of missing or bad flags.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { type DataDirLock, lockDataDir } from '../../application/router/data-dir-lock.ts';
import { writeOperationsFile } from '../../application/router/operations-file.ts';
import { routerDatabaseDir } from '../../application/router-process.ts';
import { type GatewayHarness, startGatewayHarness } from '../../application/testing/gateway-harness.ts';
import { ApiKeys } from '../../orchestration/metering/api-keys.ts';
import { openStore } from '../../orchestration/store/open-store.ts';
import { runCommand } from '../testing/run-command.ts';
import { routerCommand } from './router.ts';

const account = '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'neurino-router-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `neurino router …` in-process; resolves with what it printed on stdout. */
const run = (...args: string[]) => runCommand(routerCommand(), args);

describe('neurino router keys', () => {
  it('creates a key printed once and stored only as a hash, lists and revokes it', async () => {
    const key = await run('keys', 'create', '--account', account, '--label', 'ci', '--data-dir', dir);
    expect(key).toMatch(/^nrn_[0-9A-Za-z]{40}$/);
    const listed = await run('--data-dir', dir, 'keys', 'list', '--account', account);
    const [id, prefix, owner, state, label] = listed.split(/\s+/);
    expect(id).toMatch(/^key_/);
    expect(prefix).toBe(`${key.slice(0, 8)}…`);
    expect([owner, state, label]).toEqual([account, 'active', 'ci']);
    expect(listed).not.toContain(key);

    const store = await openStore({ dataDir: routerDatabaseDir(dir) });
    try {
      expect(await new ApiKeys(store).authenticate(key)).toMatchObject({ account });
      const rows = await store.query<Record<string, unknown>>('select * from api_keys');
      expect(JSON.stringify(rows)).not.toContain(key);
    } finally {
      await store.close();
    }

    await run('keys', 'revoke', id ?? '', '--data-dir', dir);
    expect(await run('keys', 'list', '--account', account, '--data-dir', dir)).toMatch(/revoked/);
    await expect(run('keys', 'revoke', id ?? '', '--data-dir', dir)).rejects.toThrow(/no active key/);
  });

  it('lists every key in pages, newest first', async () => {
    const other = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
    await run('keys', 'create', '--account', other, '--label', 'older', '--data-dir', dir);
    await new Promise((r) => setTimeout(r, 2));
    await run('keys', 'create', '--account', other, '--label', 'newer', '--data-dir', dir);
    const firstPage = (await run('keys', 'list', '--limit', '1', '--data-dir', dir)).trim().split('\n');
    expect(firstPage).toHaveLength(1);
    expect(firstPage[0]).toMatch(new RegExp(`^key_\\w+ +nrn_\\w+… +${other} +active +newer$`));
    const after = firstPage[0]?.split(/\s+/)[0] ?? '';
    const next = await run('keys', 'list', '--account', other, '--after', after, '--data-dir', dir);
    expect(next.trim()).toMatch(/ active +older$/);
  });

  it('refuses a bad account and a directory a running router holds', async () => {
    await expect(run('keys', 'create', '--account', 'nope', '--data-dir', dir)).rejects.toThrow(
      /expected an address/,
    );
    await expect(run('keys', 'create', '--data-dir', dir)).rejects.toThrow(/--account/);
    const lock = await lockDataDir(dir);
    try {
      await expect(run('keys', 'create', '--account', account, '--data-dir', dir)).rejects.toThrow(
        `${dir} is in use by router process ${process.pid}, which has no operators' listener: start it with --operations-port`,
      );
    } finally {
      await lock.release();
    }
    expect(await run('keys', 'create', '--account', account, '--data-dir', dir)).toMatch(/^nrn_/);
  });
});

describe('neurino router keys, while a router runs', () => {
  const token = 'operator-token-of-the-cli-test-0123';
  let h: GatewayHarness;
  let held: string;
  let lock: DataDirLock;
  let opsUrl: string;

  beforeAll(async () => {
    h = await startGatewayHarness({ gateway: { separateOperations: true, operatorToken: token } });
    opsUrl = await h.operationsUrl();
    // What a router with --operations-port leaves in the PGlite directory it holds.
    held = await mkdtemp(join(tmpdir(), 'neurino-router-held-'));
    lock = await lockDataDir(held);
    await writeOperationsFile(held, opsUrl);
    await writeFile(join(held, 'operator-token'), `${token}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await lock?.release();
    await h?.close();
    await rm(held, { recursive: true, force: true });
  });

  it('makes, lists and revokes keys through the router holding the directory, at once', async () => {
    const key = await run('keys', 'create', '--account', account, '--label', 'live', '--data-dir', held);
    expect(key).toMatch(/^nrn_[0-9A-Za-z]{40}$/);
    expect(await h.apiKeys.authenticate(key)).toMatchObject({ account });
    h.balances.set(account, 10n ** 18n);
    const asDeveloper = { headers: { authorization: `Bearer ${key}` } };
    expect((await fetch(`${h.url}/v1/models`, asDeveloper)).status).toBe(200);

    const listed = await run('keys', 'list', '--account', account, '--data-dir', held);
    const [id, prefix, owner, state, label] = listed.split(/\s+/);
    expect([prefix, owner, state, label]).toEqual([`${key.slice(0, 8)}…`, account, 'active', 'live']);
    // An operator finds a leaked key's id by the key itself, or by the prefix people are shown.
    for (const named of [key, key.slice(0, 8)]) {
      expect((await run('keys', 'list', '--prefix', named, '--data-dir', held)).split(/\s+/)[0]).toBe(id);
    }

    await run('keys', 'revoke', id ?? '', '--data-dir', held);
    expect((await fetch(`${h.url}/v1/models`, asDeveloper)).status).toBe(401);
    expect(await run('keys', 'list', '--account', account, '--data-dir', held)).toMatch(/revoked/);
    await expect(run('keys', 'revoke', id ?? '', '--data-dir', held)).rejects.toThrow(/no active key/);
    await expect(
      run('keys', 'create', '--account', account, '--label', 'x'.repeat(201), '--data-dir', held),
    ).rejects.toThrow(/POST \/admin\/keys: label: /);
  });

  it('names a router elsewhere by --operations-url, and says what is wrong with the token', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'neurino-router-remote-'));
    const tokenFile = join(elsewhere, 'token');
    await writeFile(tokenFile, token, { mode: 0o600 });
    const remote = ['--operations-url', opsUrl, '--data-dir', elsewhere];
    try {
      expect(
        await run('keys', 'create', '--account', account, ...remote, '--operator-token-file', tokenFile),
      ).toMatch(/^nrn_/);
      await expect(run('keys', 'list', '--account', account, ...remote)).rejects.toThrow(
        `no operator token for ${opsUrl}: --operator-token-file or NEURINO_OPERATOR_TOKEN`,
      );
      await writeFile(tokenFile, `${token}-but-not-it`);
      await expect(
        run('keys', 'list', '--account', account, ...remote, '--operator-token-file', tokenFile),
      ).rejects.toThrow('GET /admin/keys: Invalid operator token');
      await writeFile(tokenFile, 'short');
      await expect(
        run('keys', 'list', '--account', account, ...remote, '--operator-token-file', tokenFile),
      ).rejects.toThrow(`${tokenFile}: the operator token must be at least 24 characters`);
      const closed = `http://127.0.0.1:${await freePort()}`;
      await expect(
        run('keys', 'list', '--account', account, '--operations-url', closed, '--data-dir', held),
      ).rejects.toThrow(
        /cannot reach the router's operators' listener at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
      );
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('neurino router', () => {
  it('names what is missing before touching the chain', async () => {
    await expect(run('--data-dir', dir)).rejects.toThrow('--rpc-url is required');
    await expect(run('--rpc-url', 'http://127.0.0.1:1', '--data-dir', dir)).rejects.toThrow(
      '--addresses is required',
    );
    const saved = process.env.NEURINO_ROUTER_KEY;
    delete process.env.NEURINO_ROUTER_KEY;
    try {
      const args = ['--rpc-url', 'http://127.0.0.1:1', '--addresses', join(dir, 'none.json')];
      await expect(run(...args)).rejects.toThrow(/router key is needed/);
      await expect(run(...args, '--key', '0x12')).rejects.toThrow(/32-byte hex/);
      const key = `0x${'11'.repeat(32)}`;
      await expect(run(...args, '--key', key)).rejects.toThrow(/no address book/);
      const bad = join(dir, 'bad.json');
      await writeFile(bad, '{"chainId": "x"}');
      await expect(run('--rpc-url', 'http://127.0.0.1:1', '--addresses', bad, '--key', key)).rejects.toThrow(
        /invalid/,
      );
      await expect(run('--port', '70000')).rejects.toThrow(/TCP port/);
    } finally {
      if (saved !== undefined) process.env.NEURINO_ROUTER_KEY = saved;
    }
  });

  it('takes --journal-sync os or disk and refuses any other mode', async () => {
    await expect(run('--journal-sync', 'fast', '--data-dir', dir)).rejects.toThrow(
      "option '--journal-sync <mode>' argument 'fast' is invalid. Allowed choices are os, disk.",
    );
    await expect(run('--journal-sync', '', '--data-dir', dir)).rejects.toThrow(
      /Allowed choices are os, disk/,
    );
    // A valid mode gets past the flags to the first check of the action.
    for (const mode of ['os', 'disk']) {
      await expect(run('--journal-sync', mode, '--data-dir', dir)).rejects.toThrow('--rpc-url is required');
    }
  });

  it('takes browser origins as scheme://host[:port] and refuses a page address', async () => {
    await expect(run('--cors-origin', 'https://app.example/chat', '--data-dir', dir)).rejects.toThrow(
      "option '--cors-origin <origin>' argument 'https://app.example/chat' is invalid. CORS origin " +
        '"https://app.example/chat" must be scheme://host[:port] only, e.g. https://app.example',
    );
    await expect(run('--cors-origin', 'app.example', '--data-dir', dir)).rejects.toThrow(/is not a URL/);
    const allowed = ['--cors-origin', 'https://app.example', '--cors-origin', 'http://localhost:5173'];
    await expect(run(...allowed, '--data-dir', dir)).rejects.toThrow('--rpc-url is required');
    await expect(run('--no-cors', '--data-dir', dir)).rejects.toThrow('--rpc-url is required');
  });

  it("takes the frontend's referred nodes as addresses, and only with the frontend", async () => {
    const node = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    await expect(run('--refer-node', 'nope', '--data-dir', dir)).rejects.toThrow(
      "option '--refer-node <address>' argument 'nope' is invalid. expected an address",
    );
    await expect(run('--refer-node', node, '--data-dir', dir)).rejects.toThrow(
      "--refer-node needs --frontend: referrals are a frontend's",
    );
    const frontend = ['--frontend', '0x90F79bf6EB2c4f870365E785982E1f101E93b906'];
    await expect(
      run('--refer-node', node, '--refer-node', node, ...frontend, '--data-dir', dir),
    ).rejects.toThrow('--rpc-url is required');
  });

  it('takes the rate limits, the trusted proxies and the responses kept, refusing bad values by name', async () => {
    await expect(run('--auth-failures-per-minute', '-1', '--data-dir', dir)).rejects.toThrow(
      "option '--auth-failures-per-minute <n>' argument '-1' is invalid. expected a whole number, 0 or more",
    );
    await expect(run('--trust-proxy', 'proxy.example', '--data-dir', dir)).rejects.toThrow(
      "option '--trust-proxy <address>' argument 'proxy.example' is invalid. expected an IP address, a CIDR range",
    );
    await expect(run('--requests-per-minute-per-key', '1.5', '--data-dir', dir)).rejects.toThrow(
      "option '--requests-per-minute-per-key <n>' argument '1.5' is invalid. expected a whole number, 0 or more",
    );
    await expect(run('--response-retention-days', 'forever', '--data-dir', dir)).rejects.toThrow(
      "option '--response-retention-days <n>' argument 'forever' is invalid. expected a whole number, 0 or more",
    );
    const allowed = [
      ...['--auth-failures-per-minute', '0', '--requests-per-minute-per-key', '600'],
      ...['--response-retention-days', '0'],
      ...['--trust-proxy', '10.0.0.0/8', '--trust-proxy', '::1'],
    ];
    await expect(run(...allowed, '--data-dir', dir)).rejects.toThrow('--rpc-url is required');
  });
});
