// PGlite in a worker thread, so SQL runs beside the router's JavaScript instead of freezing its event loop.
// Plain JavaScript because the CLI registers tsx in the main thread only. Deliberately dumb: it runs the
// requests of pglite-worker-protocol.ts one at a time, in the order received; queueing, transactions and
// error mapping live on the main side (pglite-worker-client.ts, pglite-store.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const port = parentPort;
if (port === null) throw new Error('pglite-worker.mjs runs only as a worker thread');

/** Own primitive properties only: PGlite's error also holds the query's parameters and options. */
function describeError(error) {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: String(error), stack: undefined, fields: {} };
  }
  const fields = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      fields[key] = value;
    }
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

async function run(db, request) {
  try {
    if (request.op === 'close') {
      await db.close();
      port.postMessage({ kind: 'done', id: request.id, rows: [], command: undefined });
      port.close();
      return;
    }
    if (request.begin) await db.query('begin');
    const result = await db.query(request.sql, request.params);
    port.postMessage({ kind: 'done', id: request.id, rows: result.rows, command: result.command });
  } catch (error) {
    port.postMessage({ kind: 'failed', id: request.id, error: describeError(error) });
  }
}

let db;
try {
  db = await PGlite.create(workerData.dataDir);
} catch (error) {
  port.postMessage({ kind: 'open-failed', error: describeError(error) });
}
if (db !== undefined) {
  let tail = Promise.resolve();
  port.on('message', (request) => {
    tail = tail.then(() => run(db, request));
  });
  port.postMessage({ kind: 'ready' });
}
