// The baseline of the gateway bench's latency: a llama.cpp pod runtime called in-process, in a Node process
// of its own. It is built as `neurino miner` builds its pod (operatorPod, the same slots, threads and GPU
// choice), so both sides run the same runtime under the same conditions; and it does not share the
// router's event loop, whose background work (metering, settlement) would otherwise slow the baseline.
// Each call is timed in here, around `runtime.chat()` only.
// Run as `node --import tsx bench/direct-pod.ts <model> <slots> <threads>` with an IPC channel:
// in { id, request }; out { ready: true } once loaded, then { id, ms, text } or { id, error } per call.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { probeHardware } from '../src/compute/miner/hardware/probe.ts';
import { operatorPod } from '../src/compute/miner/operator-pod.ts';
import type { ChatRequest } from '../src/compute/pods/types.ts';

export type DirectPodRequest = { id: number; request: ChatRequest };
export type DirectPodReply =
  | { ready: true }
  | { id: number; ms: number; text: string }
  | { id: number; error: string };

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
  const send = (reply: DirectPodReply) => process.send?.(reply);
  const slots = positiveInt(slotsArg, 'slots');
  const threads = positiveInt(threadsArg, 'threads');
  // operatorPod only writes under dataDir when it has to generate the tiny model; the model is given here.
  const dataDir = await mkdtemp(join(tmpdir(), 'neurino-direct-pod-'));
  const gpu = (await probeHardware()).gpus.length > 0;
  const { runtime } = await operatorPod({ dataDir, model, slots, threads, gpu });
  await runtime.load();
  process.on('message', async ({ id, request }: DirectPodRequest) => {
    try {
      const started = performance.now();
      const { text } = await runtime.chat(request);
      send({ id, ms: performance.now() - started, text });
    } catch (error) {
      send({ id, error: error instanceof Error ? error.message : String(error) });
    }
  });
  // The parent going away (its IPC channel closing) ends this process too.
  process.once('disconnect', () => {
    void runtime
      .unload()
      .then(() => rm(dataDir, { recursive: true, force: true }))
      .finally(() => process.exit(0));
  });
  send({ ready: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
