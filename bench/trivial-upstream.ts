// A Fastify server answering like a trivial OpenAI-compatible upstream: the bare handler of the gateway
// bench, and (run as a script: `node --import tsx bench/trivial-upstream.ts <port>`) the upstream the
// bench's miner process forwards to, in a process of its own like a real vLLM would be.
import Fastify from 'fastify';

export const UPSTREAM_MODEL = 'bench-trivial';

/** The fixed answer of the trivial upstream. */
export const TRIVIAL_COMPLETION = {
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 0,
  model: UPSTREAM_MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
};

export async function startTrivialUpstream(port: number): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  app.get('/v1/models', async () => ({ object: 'list', data: [{ id: UPSTREAM_MODEL, object: 'model' }] }));
  app.post('/v1/chat/completions', async () => TRIVIAL_COMPLETION);
  const url = await app.listen({ host: '127.0.0.1', port });
  return { url, close: () => app.close() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`usage: trivial-upstream.ts <port>, got ${port}`);
  const server = await startTrivialUpstream(port);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
