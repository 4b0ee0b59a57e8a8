import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/free-port.ts';
import { portProblem } from './port-check.ts';

describe('portProblem', () => {
  it('finds a free port free, and leaves it free', async () => {
    const port = await freePort();
    expect(await portProblem('127.0.0.1', port)).toBeUndefined();
    expect(await portProblem('127.0.0.1', port)).toBeUndefined();
  });

  it('names why a port cannot be listened on', async () => {
    const holder = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      expect(await portProblem('127.0.0.1', port)).toBe('EADDRINUSE');
    } finally {
      holder.close();
    }
  });
});
