// The main-thread side of bench/load-worker.mjs: one worker thread, one closed-loop run at a time.
import { Worker } from 'node:worker_threads';

export interface LoadTarget {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadRun {
  /** Answers with a 2xx status. */
  requests: number;
  /** Non-2xx answers and network failures. */
  errors: number;
  seconds: number;
  /** Each answered request's time from send to its last byte, under this load. */
  latenciesMs: Float64Array;
}

type WorkerReply = { id: number; failure: string } | ({ id: number } & LoadRun);

export class LoadGenerator {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (run: LoadRun) => void; reject: (error: Error) => void }>();
  #nextId = 0;

  constructor() {
    this.#worker = new Worker(new URL('./load-worker.mjs', import.meta.url));
    this.#worker.on('message', (reply: WorkerReply) => {
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if ('failure' in reply) pending?.reject(new Error(`load worker: ${reply.failure}`));
      else {
        const { requests, errors, seconds, latenciesMs } = reply;
        pending?.resolve({ requests, errors, seconds, latenciesMs });
      }
    });
    // A dead worker fails every run still waiting, rather than leaving the bench hanging.
    const failAll = (error: Error) => {
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', failAll);
    this.#worker.on('exit', (code) => failAll(new Error(`load worker exited with code ${code}`)));
  }

  /** `concurrency` requests in flight for `durationMs`, each resent as soon as it is answered. */
  run(target: LoadTarget, concurrency: number, durationMs: number): Promise<LoadRun> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...target, concurrency, durationMs });
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
