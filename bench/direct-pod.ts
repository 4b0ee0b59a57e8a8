// The baseline of the gateway bench's latency: a llama.cpp pod runtime called in-process, in a Node process
// of its own. It is built as `neurino miner` builds its pod (operatorPod, the same slots, threads and GPU
// choice), so both sides run the same runtime under the same conditions; and it does not share the
// router's event loop, whose background work (metering, settlement) would otherwise slow the baseline.
// It answers over HTTP, as a bare Fastify handler around `runtime.chat()` (what calling a model server
// directly costs), and each answer carries how long the runtime call alone took in here (`runtime_ms`).
// Run as `node --import tsx bench/direct-pod.ts <model> <slots> <threads>` with an IPC channel: it sends
// { ready: true, url } once loaded, then serves POST <url>/v1/chat/completions.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { probeHardware } from '../src/compute/miner/hardware/probe.ts';
import { operatorPod } from '../src/compute/miner/operator-pod.ts';
import type { ChatRequest } from '../src/compute/pods/types.ts';

export type DirectPodReady = { ready: true; url: string };

/** The direct answer: a chat completion's shape, plus the runtime call's own duration. */
export interface DirectPodAnswer {
  object: 'chat.completion';
  choices: Array<{ index: 0; message: { role: 'assistant'; content: string }; finish_reason: string }>;
  runtime_ms: number;
}

function positiveInt(text: string | undefined, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`direct-pod: ${name} must be a positive integer`);
  return value;
}

async function main(): Promise<void> {
  const [model, slotsArg, threadsArg] = process.argv.slice(2);
  if (model === undefined || process.send === undefined) {
    throw new Error('usage: direct-pod.ts <model.gguf> <slots> <threads>, spawned with an IPC channel');
  }
  const send = (reply: DirectPodReady) => process.send?.(reply);
  const slots = positiveInt(slotsArg, 'slots');
  const threads = positiveInt(threadsArg, 'threads');
  // operatorPod only writes under dataDir when it has to generate the tiny model; the model is given here.
  const dataDir = await mkdtemp(join(tmpdir(), 'neurino-direct-pod-'));
  const gpu = (await probeHardware()).gpus.length > 0;
  const { runtime } = await operatorPod({ dataDir, model, slots, threads, gpu });
  await runtime.load();
  const app = Fastify({ logger: false });
  app.post('/v1/chat/completions', async (request): Promise<DirectPodAnswer> => {
    const started = performance.now();
    const { text, finishReason } = await runtime.chat(request.body as ChatRequest);
    const ms = performance.now() - started;
    return {
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finishReason }],
      runtime_ms: ms,
    };
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  // The parent going away (its IPC channel closing) ends this process too.
  process.once('disconnect', () => {
    void app
      .close()
      .then(() => runtime.unload())
      .then(() => rm(dataDir, { recursive: true, force: true }))
      .finally(() => process.exit(0));
  });
  send({ ready: true, url });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
