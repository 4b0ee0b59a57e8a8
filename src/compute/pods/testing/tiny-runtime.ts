// A llama-cpp runtime on the tiny model for one test file: the model written to a temporary folder and
// loaded before the file's tests, unloaded and removed after them, with its vocabulary alone beside it for
// tests that tokenize. Properties are filled in by the file's beforeAll.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll } from 'vitest';
import { writeTinyModel } from '../../model/tiny-model.ts';
import { LlamaCppRuntime } from '../llama-cpp.ts';
import { sharedLlama } from '../llama-instance.ts';

export interface TinyRuntime {
  readonly runtime: LlamaCppRuntime;
  readonly vocabulary: LlamaModel;
  readonly modelPath: string;
}

export function useTinyRuntime(name: string, options: { readonly slots?: number } = {}): TinyRuntime {
  const tiny = {} as { runtime: LlamaCppRuntime; vocabulary: LlamaModel; modelPath: string };
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `${name}-`));
    tiny.modelPath = (await writeTinyModel(join(dir, 'neurino-tiny.gguf'))).path;
    tiny.runtime = new LlamaCppRuntime({ modelPath: tiny.modelPath, slots: options.slots ?? 1 });
    const llama = await sharedLlama({ gpu: false, maxThreads: 1 });
    tiny.vocabulary = await llama.loadModel({ modelPath: tiny.modelPath, vocabOnly: true });
    await tiny.runtime.load();
  });
  afterAll(async () => {
    await Promise.all([tiny.runtime?.unload(), tiny.vocabulary?.dispose()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return tiny;
}
