// The messages between the router's thread and pglite-worker.mjs. The worker is plain JavaScript (it must
// load without tsx), so these types are the contract it is written against: change both together.

/** What the worker is given when it starts. */
export interface PgliteWorkerData {
  /** PGlite's directory; absent means in memory. */
  dataDir: string | undefined;
}

/** Parameter values after toSqlParams: what structured clone carries and PGlite takes as they are. */
export type WorkerSqlValue = string | number | boolean | null;

/** Requests run one at a time, in the order sent. */
export type WorkerRequest =
  | {
      op: 'query';
      id: number;
      sql: string;
      params: WorkerSqlValue[];
      /** Run `begin` first: a transaction's first statement opens it, saving one round trip. */
      begin: boolean;
    }
  /** Closes PGlite once the requests sent before it have run; the last request the worker answers. */
  | { op: 'close'; id: number };

/** An error thrown in the worker, as plain data: PGlite's DatabaseError fields are strings. */
export interface WorkerErrorData {
  name: string;
  message: string;
  stack: string | undefined;
  /** The error's own primitive properties: code (SQLSTATE), severity, detail, constraint, query, …. */
  fields: Record<string, string | number | boolean>;
}

export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'open-failed'; error: WorkerErrorData }
  /** `command` is PostgreSQL's command tag: a COMMIT of an aborted transaction answers ROLLBACK. */
  | { kind: 'done'; id: number; rows: unknown[]; command: string | undefined }
  | { kind: 'failed'; id: number; error: WorkerErrorData };
