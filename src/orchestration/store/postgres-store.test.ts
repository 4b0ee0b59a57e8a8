import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { RetryableError } from '../../protocol/errors.ts';
import { openPostgresStore } from './postgres-store.ts';

describe('openPostgresStore', () => {
  it('answers an unreachable server with service_unavailable that shows no secret of the URL', async () => {
    const port = await freePort();
    const url = `postgres://neurino:pw-in-userinfo@127.0.0.1:${port}/db?password=pw-in-query&sslmode=disable`;
    const error = await openPostgresStore(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).code).toBe('service_unavailable');
    const { message } = error as RetryableError;
    expect(message).toContain(`cannot reach PostgreSQL at postgres://neurino:***@127.0.0.1:${port}/db`);
    expect(message).not.toMatch(/pw-in-/);
  });
});
