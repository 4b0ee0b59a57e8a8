// Errors PGlite raised in its worker thread, rebuilt on the router's side. Structured clone keeps only an
// Error's message, so the worker sends the fields and this class restores what callers branch on: the
// SQLSTATE `code` (23505 unique violation, …) and PostgreSQL's detail, constraint, table, ….
import type { WorkerErrorData } from './pglite-worker-protocol.ts';

/** SQLSTATE 25P02: what PGlite raises when COMMIT finds the transaction aborted and rolls it back. */
export const TRANSACTION_ABORTED = '25P02';

export class PgliteError extends Error {
  /** SQLSTATE, e.g. '23505'; undefined for errors that did not come from PostgreSQL. */
  readonly code: string | undefined;
  readonly severity: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly position: string | undefined;
  readonly where: string | undefined;
  readonly schema: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly dataType: string | undefined;
  readonly constraint: string | undefined;
  readonly routine: string | undefined;
  /** The statement that failed. Its parameters stay behind, as with the PostgreSQL driver. */
  readonly query: string | undefined;

  constructor(data: WorkerErrorData) {
    super(data.message);
    // PGlite's DatabaseError is named 'error' (the protocol message): keep it, logs read as before.
    this.name = data.name;
    // The worker's stack points into PGlite; the main thread's would only show the message handler.
    if (data.stack !== undefined) this.stack = data.stack;
    const text = (key: string): string | undefined => {
      const value = data.fields[key];
      return value === undefined ? undefined : String(value);
    };
    this.code = text('code');
    this.severity = text('severity');
    this.detail = text('detail');
    this.hint = text('hint');
    this.position = text('position');
    this.where = text('where');
    this.schema = text('schema');
    this.table = text('table');
    this.column = text('column');
    this.dataType = text('dataType');
    this.constraint = text('constraint');
    this.routine = text('routine');
    this.query = text('query');
  }
}

/** The error PGlite's own transaction() throws when a transaction that hit an error is committed. */
export function transactionAbortedError(): PgliteError {
  return new PgliteError({
    name: 'error',
    message: 'Transaction was rolled back instead of committed',
    stack: undefined,
    fields: { code: TRANSACTION_ABORTED, severity: 'ERROR', query: 'COMMIT' },
  });
}
