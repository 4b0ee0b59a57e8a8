import { getLlama, type Llama, LlamaLogLevel } from 'node-llama-cpp';

export interface LlamaInstanceOptions {
  readonly gpu: false | 'auto';
  readonly maxThreads: number;
}

const instances = new Map<string, Promise<Llama>>();

/**
 * One llama.cpp binding per (gpu, threads) setting, shared by every model the process loads. Never
 * builds or downloads anything: the prebuilt binary from npm must be there.
 */
export function sharedLlama(options: LlamaInstanceOptions): Promise<Llama> {
  const key = `${options.gpu}:${options.maxThreads}`;
  let instance = instances.get(key);
  if (instance === undefined) {
    instance = getLlama({
      gpu: options.gpu,
      build: 'never',
      maxThreads: options.maxThreads,
      logLevel: LlamaLogLevel.error,
      progressLogs: false,
    });
    // A failed attempt is not remembered, so a later load can try again.
    instance.catch(() => instances.delete(key));
    instances.set(key, instance);
  }
  return instance;
}
