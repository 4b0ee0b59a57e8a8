// The router's end of pglite-worker.mjs: starts the thread, sends statements and matches the answers.
// A worker that stops on its own (crash, out of memory, terminated) fails every pending and later call
// with RetryableError('service_unavailable'), so no caller waits forever.
import { Worker } from 'node:worker_threads';
import { RetryableError } from '../../protocol/errors.ts';
import { PgliteError } from './pglite-error.ts';
import type {
  PgliteWorkerData,
  WorkerReply,
  WorkerRequest,
  WorkerSqlValue,
} from './pglite-worker-protocol.ts';

const WORKER_SCRIPT = new URL('./pglite-worker.mjs', import.meta.url);

export interface StatementResult {
  rows: unknown[];
  /** PostgreSQL's command tag (SELECT, INSERT, COMMIT, ROLLBACK, …). */
  command: string | undefined;
}

interface Pending {
  resolve: (result: StatementResult) => void;
  reject: (error: unknown) => void;
}

export class PgliteWorkerClient {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Why the worker takes no more requests; every call after that fails with a fresh copy. */
  #stopped: { message: string; cause: unknown } | undefined;
  #crashCause: unknown;
  #closing = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Resolves once PGlite is open in the worker; rejects with why it could not open. */
  static start(dataDir: string | undefined): Promise<PgliteWorkerClient> {
    const workerData: PgliteWorkerData = { dataDir };
    // No execArgv: the worker is plain JavaScript and needs none of the loaders the main thread may use.
    const worker = new Worker(WORKER_SCRIPT, { workerData, execArgv: [] });
    const client = new PgliteWorkerClient(worker);
    return new Promise((resolve, reject) => {
      let opened = false;
      const fail = (cause: unknown) => {
        client.#stopped ??= { message: 'the PGlite worker could not open the database', cause };
        worker.terminate().then(() => reject(cause), reject);
      };
      worker.on('message', (reply: WorkerReply) => {
        if (reply.kind === 'ready') {
          opened = true;
          worker.unref(); // idle: an unclosed store must not keep the process alive, as in-process PGlite did not
          resolve(client);
        } else if (reply.kind === 'open-failed') {
          fail(new PgliteError(reply.error));
        } else {
          client.#settle(reply);
        }
      });
      worker.on('error', (error) => {
        client.#crashCause = error;
      });
      // Structured clone could not rebuild a reply: its caller would never hear back, so stop everything.
      worker.on('messageerror', (error) => {
        client.#crashCause = error;
        void worker.terminate();
      });
      worker.on('exit', (exitCode) => {
        const cause = client.#crashCause ?? new Error(`the PGlite worker exited with code ${exitCode}`);
        if (!opened) fail(cause);
        client.#stop({ message: 'the PGlite worker stopped', cause });
      });
    });
  }

  /** Runs one statement, after every request sent before it. `begin` opens a transaction first. */
  query(sql: string, params: WorkerSqlValue[], begin: boolean): Promise<StatementResult> {
    if (this.#stopped !== undefined) return Promise.reject(this.#unavailable());
    return this.#send({ op: 'query', id: this.#nextId++, sql, params, begin });
  }

  /** Closes PGlite after the requests already sent, then ends the thread. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    let failure: unknown;
    if (this.#stopped === undefined) {
      try {
        await this.#send({ op: 'close', id: this.#nextId++ });
      } catch (error) {
        // PGlite's own close failing is worth reporting; the worker dying while closing is just closed.
        if (error instanceof PgliteError) failure = error;
      }
      this.#stopped ??= { message: 'the PGlite store is closed', cause: undefined };
    }
    await this.#worker.terminate();
    if (failure !== undefined) throw failure;
  }

  /** Tests only: ends the thread as a crash would, without closing PGlite. */
  async crashForTesting(): Promise<void> {
    await this.#worker.terminate();
  }

  #send(request: WorkerRequest): Promise<StatementResult> {
    return new Promise((resolve, reject) => {
      try {
        this.#worker.postMessage(request);
      } catch (error) {
        reject(error); // a parameter structured clone cannot copy: this call fails, the session is fine
        return;
      }
      if (this.#pending.size === 0) this.#worker.ref(); // a caller waits: keep the process alive
      this.#pending.set(request.id, { resolve, reject });
    });
  }

  #settle(reply: Extract<WorkerReply, { id: number }>): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.kind === 'done') pending.resolve({ rows: reply.rows, command: reply.command });
    else pending.reject(new PgliteError(reply.error));
  }

  #stop(reason: { message: string; cause: unknown }): void {
    this.#stopped ??= reason;
    for (const pending of this.#pending.values()) pending.reject(this.#unavailable());
    this.#pending.clear();
  }

  #unavailable(): RetryableError {
    const reason = this.#stopped ?? { message: 'the PGlite worker stopped', cause: undefined };
    return new RetryableError('service_unavailable', reason);
  }
}
