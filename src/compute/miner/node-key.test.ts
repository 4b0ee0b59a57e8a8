import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MinerError } from './errors.ts';
import {
  accountFromKey,
  createNodeKeyFile,
  defaultNodeKeyFile,
  NODE_KEY_ENV,
  nodeKeyBackupAdvice,
  readNodeKeyFile,
  resolveNodeKey,
} from './node-key.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'node-key-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectMinerError(promise: Promise<unknown>, code: string): Promise<MinerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MinerError);
  expect((error as MinerError).code).toBe(code);
  return error as MinerError;
}

describe('resolveNodeKey', () => {
  it('creates a key file on first run (mode 0600, directory 0700) and loads the same key after', async () => {
    const keyFile = defaultNodeKeyFile(join(dir, 'first-run'));
    expect(keyFile).toBe(join(dir, 'first-run', 'miner', 'node-key.json'));
    const first = await resolveNodeKey({ keyFile, env: {} });
    expect(first).toMatchObject({ source: 'file', path: keyFile, created: true });
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'first-run', 'miner'))).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(await readFile(keyFile, 'utf8'));
    expect(stored.address).toBe(first.account.address);
    expect(privateKeyToAccount(stored.privateKey).address).toBe(first.account.address);

    const second = await resolveNodeKey({ keyFile, env: {} });
    expect(second).toMatchObject({ source: 'file', created: false });
    expect(second.account.address).toBe(first.account.address);
  });

  it('prefers --key over the environment, and the environment over the file', async () => {
    const keyFile = join(dir, 'unused', 'node-key.json');
    const flagKey = generatePrivateKey();
    const envKey = generatePrivateKey();
    const env = { [NODE_KEY_ENV]: envKey };
    const fromFlag = await resolveNodeKey({ key: flagKey, env, keyFile });
    expect(fromFlag).toMatchObject({ source: 'flag', created: false });
    expect(fromFlag.account.address).toBe(privateKeyToAccount(flagKey).address);
    const fromEnv = await resolveNodeKey({ env, keyFile });
    expect(fromEnv.source).toBe('env');
    expect(fromEnv.account.address).toBe(privateKeyToAccount(envKey).address);
    // Neither flag nor env touched the disk.
    await expect(stat(keyFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('accepts a key without 0x and with surrounding whitespace', () => {
    const key = generatePrivateKey();
    expect(accountFromKey(`  ${key.slice(2)}\n`, '--key').address).toBe(privateKeyToAccount(key).address);
  });

  it('never overwrites an existing key file', async () => {
    const keyFile = join(dir, 'existing.json');
    const made = await createNodeKeyFile(keyFile);
    const again = await createNodeKeyFile(keyFile);
    expect(again.created).toBe(false);
    expect(again.account.address).toBe(made.account.address);
  });
});

describe('bad keys', () => {
  it.each([
    ['not hex', 'not-a-key'],
    ['too short', '0x1234'],
    ['too long', `0x${'1'.repeat(66)}`],
    ['zero', `0x${'0'.repeat(64)}`],
    ['above the curve order', `0x${'f'.repeat(64)}`],
  ])('refuses a %s key without repeating it', async (_, key) => {
    const error = await expectMinerError(
      resolveNodeKey({ key, keyFile: join(dir, 'never.json') }),
      'invalid_key',
    );
    expect(error.message).toMatch(/^--key: /);
    if (key.length > 8) expect(error.message).not.toContain(key.slice(2, 20));
  });

  it('names the environment variable when its key is bad', async () => {
    const error = await expectMinerError(
      resolveNodeKey({ env: { [NODE_KEY_ENV]: '0xdead' }, keyFile: join(dir, 'never.json') }),
      'invalid_key',
    );
    expect(error.message).toContain(NODE_KEY_ENV);
  });

  it('refuses a key file others can read, saying how to fix it', async () => {
    const keyFile = join(dir, 'open.json');
    await createNodeKeyFile(keyFile);
    await chmod(keyFile, 0o644);
    const error = await expectMinerError(readNodeKeyFile(keyFile), 'key_file_insecure');
    expect(error.message).toContain(`chmod 600 ${keyFile}`);
  });

  it.each([
    ['not JSON', 'hello', /is not JSON/],
    ['no private key', '{"address":"0x0000000000000000000000000000000000000001"}', /no "privateKey"/],
    ['a bad private key', '{"privateKey":"0x12"}', /expected a private key/],
  ])('refuses a key file with %s', async (_, body, message) => {
    const keyFile = join(dir, `bad-${body.length}.json`);
    await writeFile(keyFile, body, { mode: 0o600 });
    const error = await expectMinerError(readNodeKeyFile(keyFile), 'invalid_key');
    expect(error.message).toMatch(message);
  });

  it('refuses a key file whose address does not belong to its key', async () => {
    const keyFile = join(dir, 'mismatch.json');
    const body = {
      address: privateKeyToAccount(generatePrivateKey()).address,
      privateKey: generatePrivateKey(),
    };
    await writeFile(keyFile, JSON.stringify(body), { mode: 0o600 });
    await expectMinerError(readNodeKeyFile(keyFile), 'invalid_key');
  });

  it('reports a key file path that cannot be created', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'x');
    await expectMinerError(createNodeKeyFile(join(blocker, 'node-key.json')), 'key_file_unreadable');
  });
});

describe('nodeKeyBackupAdvice', () => {
  it('says where the key is and how to back it up', () => {
    const advice = nodeKeyBackupAdvice('/data/miner/node-key.json', '0xabc');
    expect(advice).toContain('/data/miner/node-key.json');
    expect(advice).toContain('0xabc');
    expect(advice).toMatch(/Back it up/);
    expect(advice).toContain(NODE_KEY_ENV);
  });
});
