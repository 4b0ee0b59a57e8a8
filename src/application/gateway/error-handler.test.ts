import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { RetryableError } from '../../protocol/errors.ts';
import { errorHandler } from './error-handler.ts';

const app = Fastify({ logger: false });
app.setErrorHandler(errorHandler);
app.get('/wait/:seconds', async (request) => {
  const { seconds } = request.params as { seconds: string };
  throw new RetryableError('no_node_available', { retryAfterSeconds: Number(seconds) });
});
app.get('/no-wait', async () => {
  throw new RetryableError('no_node_available');
});

afterAll(() => app.close());

describe('errorHandler', () => {
  it('answers OpenAI-style error JSON with Retry-After in whole seconds, rounded up', async () => {
    for (const [seconds, header] of [
      ['20', '20'],
      ['2.5', '3'],
      ['0.01', '1'],
    ]) {
      const answer = await app.inject({ method: 'GET', url: `/wait/${seconds}` });
      expect(answer.statusCode).toBe(503);
      expect(answer.headers['retry-after'], seconds).toBe(header);
      expect(answer.json()).toMatchObject({ error: { code: 'no_node_available', type: 'server_error' } });
    }
    expect((await app.inject({ method: 'GET', url: '/no-wait' })).headers['retry-after']).toBeUndefined();
  });
});
