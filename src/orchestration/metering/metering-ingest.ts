// Writes a batch of metering entries into the store in a few statements whatever the batch size, and
// idempotently: a journal replayed after a crash may hold entries already ingested. A job ends once (a
// final row is never overwritten), an attempt and a receipt are inserted once, and only receipts
// inserted now shrink the holder's lease (their charge moves from the lease to the receipts table, so
// what a payer has used stays the same). The router attests the receipts here, off the jobs' path: one
// signature over the Merkle root of the batch's receipts, stored with them in the same transaction.
import { isDataError } from '../store/sql-values.ts';
import type { Queryable, Store } from '../store/store.ts';
import type { MeteringEntry } from './metering-entries.ts';
import { attestReceipts, type BatchAttestation, type ReceiptAttester } from './receipt-attester.ts';

const UPSERT_JOBS_SQL = `insert into jobs (job_id, public_id, api_key_id, payer, pod_id, kind, status, request,
    result, error_code, error_message, attempts, created_at, finished_at, holder)
  select j.job_id, j.public_id, j.api_key_id, j.payer, j.pod_id, j.kind, j.status, j.request::json,
    j.result::json, j.error_code, j.error_message, j.attempts, j.created_at, j.finished_at, $2
  from json_to_recordset($1::json) as j(job_id text, public_id text, api_key_id text, payer text,
    pod_id text, kind text, status text, request text, result text, error_code text, error_message text,
    attempts integer, created_at bigint, finished_at bigint)
  on conflict (job_id) do update set status = excluded.status, result = excluded.result,
    error_code = excluded.error_code, error_message = excluded.error_message,
    attempts = jobs.attempts + excluded.attempts, finished_at = excluded.finished_at
  where jobs.status in ('queued', 'running') and (excluded.status not in ('queued', 'running')
    or (jobs.status = 'queued' and excluded.status = 'running'))`;

const INSERT_ATTEMPTS_SQL = `insert into job_attempts (attempt_id, job_id, node, status, error_code,
    started_at, finished_at)
  select a.attempt_id, a.job_id, a.node, a.status, a.error_code, a.started_at, a.finished_at
  from jsonb_to_recordset($1::jsonb) as a(attempt_id text, job_id text, node text, status text,
    error_code text, started_at bigint, finished_at bigint)
  on conflict (attempt_id) do nothing`;

const INSERT_RECEIPTS_SQL = `with inserted as (
    insert into receipts (job_id, attempt_id, pod_id, node, frontend, payer, compute_units, input_tokens,
      output_tokens, price, result_hash, started_at, finished_at, receipt_hash, node_signature,
      attestation_root, attestation_index, charged, created_at)
    select r.job_id, r.attempt_id, r.pod_id, r.node, r.frontend, r.payer, r.compute_units, r.input_tokens,
      r.output_tokens, r.price, r.result_hash, r.started_at, r.finished_at, r.receipt_hash,
      r.node_signature, r.attestation_root, r.attestation_index, r.charged, r.created_at
    from jsonb_to_recordset($1::jsonb) as r(job_id text, attempt_id text, pod_id text, node text,
      frontend text, payer text, compute_units numeric, input_tokens bigint, output_tokens bigint,
      price numeric, result_hash text, started_at bigint, finished_at bigint, receipt_hash text,
      node_signature text, attestation_root text, attestation_index integer, charged numeric,
      created_at bigint)
    on conflict (job_id) do nothing
    returning payer, charged, attestation_root),
  moved as (select payer, sum(charged) as charged from inserted group by payer),
  shrunk as (update credit_leases l set amount = greatest(l.amount - moved.charged, 0)
    from moved where l.holder = $2 and l.payer = moved.payer)
  select count(attestation_root) as attested from inserted`;

// Written only when a receipt was stored under it; a replayed batch may carry one stored already (its root
// names the same leaves).
const INSERT_ATTESTATION_SQL = `insert into receipt_attestations (receipts_root, router, receipt_count,
    leaves, signature, created_at)
  values ($1, $2, $3, decode($4, 'hex'), $5, $6)
  on conflict (receipts_root) do nothing`;

type ReceiptRowIn = NonNullable<MeteringEntry['receipt']> & {
  attestation_root: string | null;
  attestation_index: number | null;
};

/**
 * A job row with its request and result as JSON text: PostgreSQL reads a string the caller or the model
 * wrote with U+0000 in a JSON document kept as text (json), never when taking one out of a larger one.
 */
function documentsAsText(job: MeteringEntry['job']) {
  const { request, result } = job;
  return {
    ...job,
    request: request === undefined || request === null ? null : JSON.stringify(request),
    result: result === undefined || result === null ? null : JSON.stringify(result),
  };
}

/**
 * Ingests `entries` (oldest first) with `tx`, their receipts under `attestation` when given (made by
 * attestReceipts over these entries); the caller wraps it in one transaction.
 */
export async function ingestEntries(
  tx: Queryable,
  holder: string,
  entries: readonly MeteringEntry[],
  attestation?: BatchAttestation,
): Promise<void> {
  // One row per job (an opened entry and its end may share a batch): the end carries every field.
  const jobs = new Map<string, MeteringEntry['job']>();
  const attempts: MeteringEntry['attempts'] = [];
  const receipts: ReceiptRowIn[] = [];
  for (const entry of entries) {
    const previous = jobs.get(entry.job.job_id);
    jobs.set(entry.job.job_id, previous === undefined ? entry.job : laterOf(previous, entry.job));
    // The attempt that produced the receipt is the receipt's row (its id, node and times are there): only
    // the others are rows of job_attempts. One row fewer per paid job, a third of the store's work.
    const paid = entry.receipt?.attempt_id;
    for (const attempt of entry.attempts) if (attempt.attempt_id !== paid) attempts.push(attempt);
    if (entry.receipt === undefined) continue;
    const index = attestation?.indexOf.get(entry.receipt);
    receipts.push({
      ...entry.receipt,
      attestation_root: index === undefined ? null : (attestation?.receiptsRoot ?? null),
      attestation_index: index ?? null,
    });
  }
  if (jobs.size > 0)
    await tx.query(UPSERT_JOBS_SQL, [JSON.stringify([...jobs.values()].map(documentsAsText)), holder]);
  if (attempts.length > 0) await tx.query(INSERT_ATTEMPTS_SQL, [JSON.stringify(attempts)]);
  if (receipts.length === 0) return;
  const [inserted] = await tx.query<{ attested: unknown }>(INSERT_RECEIPTS_SQL, [
    JSON.stringify(receipts),
    holder,
  ]);
  if (attestation !== undefined && Number(inserted?.attested ?? 0) > 0) {
    const { receiptsRoot, router, receiptCount, leavesHex, signature, createdAt } = attestation;
    await tx.query(INSERT_ATTESTATION_SQL, [
      receiptsRoot,
      router,
      receiptCount,
      leavesHex,
      signature,
      createdAt,
    ]);
  }
}

/** A final row wins over an open one; between two final rows the first stays (a job ends once). */
function laterOf(previous: MeteringEntry['job'], next: MeteringEntry['job']): MeteringEntry['job'] {
  const open = (status: string) => status === 'queued' || status === 'running';
  if (open(previous.status)) return { ...next, request: next.request ?? previous.request };
  return previous;
}

export interface IngestOutcome {
  /** Entries the store refused for their data (a constraint, a value it cannot take): never retried. */
  refused: Array<{ entry: MeteringEntry; error: unknown }>;
}

/**
 * Ingests `entries` in one transaction, their receipts attested first when `attester` is given; if the
 * store refuses the batch for its data, one transaction per entry (each attested alone), so one bad entry
 * (a bug, or data the schema no longer takes) cannot hold back the others. Any other failure (store down,
 * table missing, disk full) throws: the caller retries later, nothing is refused for it.
 */
export async function ingestBatch(
  store: Store,
  holder: string,
  entries: readonly MeteringEntry[],
  attester?: ReceiptAttester,
): Promise<IngestOutcome> {
  const attestation = attester === undefined ? undefined : await attestReceipts(entries, attester);
  try {
    await store.transaction((tx) => ingestEntries(tx, holder, entries, attestation));
    return { refused: [] };
  } catch (error) {
    if (!isDataError(error)) throw error;
  }
  const refused: IngestOutcome['refused'] = [];
  for (const entry of entries) {
    const alone = attester === undefined ? undefined : await attestReceipts([entry], attester);
    try {
      await store.transaction((tx) => ingestEntries(tx, holder, [entry], alone));
    } catch (error) {
      if (!isDataError(error)) throw error;
      refused.push({ entry, error });
    }
  }
  return { refused };
}
