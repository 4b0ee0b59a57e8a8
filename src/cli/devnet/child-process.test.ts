// The devnet's children as an operator meets them when one fails: the reason it gave on stderr in the
// devnet's error, its last words in its log, and a port already taken refused before anything starts.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnLoggedNode, waitFor } from './child-process.ts';
import { assertPortFree } from './port-free.ts';

let logDir: string;

beforeAll(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'neurino-child-'));
});

afterAll(async () => {
  await rm(logDir, { recursive: true, force: true });
});

describe('a devnet child that dies while it starts', () => {
  it('names the reason it printed last, and its log keeps everything it wrote', async () => {
    // Much output right before exiting: what is still in the pipe at exit must reach the log too.
    const script = [
      "process.stdout.write('x'.repeat(200000) + '\\n');",
      "process.stderr.write('a warning first\\nneurino: listen EADDRINUSE: address already in use\\n');",
      'process.exit(1);',
    ].join(' ');
    const child = await spawnLoggedNode('broken', ['-e', script], { logDir });
    const error = await waitFor('router', async () => false, { timeoutMs: 30_000, child }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      `router: broken exited: listen EADDRINUSE: address already in use; see ${child.logFile}`,
    );
    expect(await child.exited).toBe(1);
    const log = await readFile(child.logFile, 'utf8');
    // After the run's banner line: every byte of both streams (stderr's lines may fall between stdout's).
    const output = log.slice(log.indexOf('\n', 1) + 1);
    expect(output.match(/x/g)).toHaveLength(200000);
    expect(output).toContain('neurino: listen EADDRINUSE');
  });

  it('reads to the end of its pipes after it exits (a process of its own may still write to them)', async () => {
    // The grandchild says it is up; the parent exits then; the grandchild writes a moment later. Timed from
    // its start, not the parent's, so a slow start under load cannot push the words past the wait.
    const late = "process.send('up'); setTimeout(() => process.stderr.write('neurino: late words\\n'), 20)";
    const script = [
      `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(late)}],`,
      "{ stdio: ['inherit', 'inherit', 'inherit', 'ipc'] }).on('message', () => process.exit(2));",
    ].join(' ');
    const child = await spawnLoggedNode('parent', ['-e', script], { logDir });
    expect(await child.exited).toBe(2);
    expect(child.lastErrorLine()).toBe('late words');
    expect(await readFile(child.logFile, 'utf8')).toMatch(/neurino: late words\n$/);
  });

  it('says only that it exited when it printed nothing', async () => {
    const child = await spawnLoggedNode('silent', ['-e', 'process.exit(3)'], { logDir });
    expect(child.lastErrorLine()).toBeUndefined();
    await expect(waitFor('miner', async () => false, { timeoutMs: 30_000, child })).rejects.toThrow(
      `miner: silent exited; see ${child.logFile}`,
    );
  });
});

describe('assertPortFree', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  it('refuses a port something listens on, naming the part and the flag that moves it', async () => {
    await expect(assertPortFree('127.0.0.1', port, 'router', '--port')).rejects.toThrow(
      `cannot start the router: 127.0.0.1:${port} is in use (EADDRINUSE); stop what holds it (another devnet?) or choose another port with --port`,
    );
  });

  it('lets a free port be used again at once', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await assertPortFree('127.0.0.1', port, 'router', '--port');
    await assertPortFree('127.0.0.1', port, 'router', '--port');
  });
});
