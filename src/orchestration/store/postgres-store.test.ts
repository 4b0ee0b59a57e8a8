import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RetryableError } from '../../protocol/errors.ts';
import { openPostgresStore } from './postgres-store.ts';

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('openPostgresStore', () => {
  it('answers an unreachable server with service_unavailable that shows no secret of the URL', async () => {
    const port = await closedPort();
    const url = `postgres://neurino:pw-in-userinfo@127.0.0.1:${port}/db?password=pw-in-query&sslmode=disable`;
    const error = await openPostgresStore(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).code).toBe('service_unavailable');
    const { message } = error as RetryableError;
    expect(message).toContain(`cannot reach PostgreSQL at postgres://neurino:***@127.0.0.1:${port}/db`);
    expect(message).not.toMatch(/pw-in-/);
  });
});
