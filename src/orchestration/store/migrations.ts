// The schema, as numbered migrations. Append new ones; never edit one that has shipped.
// Times are milliseconds since the Unix epoch from the router's clock (bigint), amounts are wei
// (numeric(78,0) holds any uint256), addresses EIP-55, hashes lower-case 0x-hex.

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'metering and settlement',
    statements: [
      `create table api_keys (
        id text primary key,
        account text not null,
        label text,
        key_hash text not null unique,
        key_prefix text not null,
        created_at bigint not null,
        revoked_at bigint
      )`,
      'create index api_keys_account_idx on api_keys (account)',

      `create table jobs (
        job_id text primary key,
        public_id text not null unique,
        api_key_id text,
        payer text not null,
        pod_id text not null,
        kind text not null,
        status text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        request jsonb,
        result jsonb,
        error_code text,
        error_message text,
        attempts integer not null default 0,
        created_at bigint not null,
        finished_at bigint
      )`,
      'create index jobs_payer_idx on jobs (payer, created_at)',

      `create table job_attempts (
        attempt_id text primary key,
        job_id text not null references jobs (job_id) on delete cascade,
        node text not null,
        status text not null check (status in ('running', 'succeeded', 'failed', 'cancelled')),
        error_code text,
        started_at bigint not null,
        finished_at bigint
      )`,
      'create index job_attempts_job_idx on job_attempts (job_id)',

      // Open reservations only: a charge or a release deletes the row.
      `create table credit_reservations (
        job_id text primary key,
        payer text not null,
        amount numeric(78, 0) not null check (amount >= 0),
        created_at bigint not null,
        expires_at bigint
      )`,
      'create index credit_reservations_payer_idx on credit_reservations (payer)',

      // One row per batch a router cut, written before its transaction is sent.
      `create table settlement_batches (
        router text not null,
        sequence bigint not null,
        receipts_root text not null,
        receipt_count integer not null,
        total numeric(78, 0) not null,
        status text not null check (status in ('pending', 'settled', 'superseded')),
        tx_hash text,
        last_error text,
        created_at bigint not null,
        settled_at bigint,
        primary key (router, sequence)
      )`,

      // job_id unique: a job is charged at most once, whatever retries and restarts happen.
      `create table receipts (
        id bigserial primary key,
        job_id text not null unique,
        attempt_id text not null,
        pod_id text not null,
        node text not null,
        frontend text not null,
        payer text not null,
        compute_units numeric(78, 0) not null,
        input_tokens bigint not null,
        output_tokens bigint not null,
        price numeric(78, 0) not null,
        result_hash text not null,
        started_at bigint not null,
        finished_at bigint not null,
        receipt_hash text not null,
        node_signature text not null,
        router_signature text,
        charged numeric(78, 0) not null check (charged >= 0),
        created_at bigint not null,
        batch_router text,
        batch_sequence bigint,
        settled_at bigint,
        foreign key (batch_router, batch_sequence) references settlement_batches (router, sequence)
          deferrable initially deferred
      )`,
      'create index receipts_unbatched_idx on receipts (id) where batch_sequence is null and settled_at is null',
      'create index receipts_payer_idx on receipts (payer, settled_at)',
      'create index receipts_node_idx on receipts (node)',
      'create index receipts_batch_idx on receipts (batch_router, batch_sequence)',
    ],
  },
  {
    version: 2,
    name: 'credit leases',
    statements: [
      // A router holds a lease of each active payer's credits and reserves jobs from it in memory; the
      // lease shrinks as its charges reach the receipts table. Per-job reservation rows are gone.
      'drop table credit_reservations',
      `create table credit_leases (
        holder text not null,
        payer text not null,
        amount numeric(78, 0) not null check (amount >= 0),
        created_at bigint not null,
        expires_at bigint not null,
        primary key (holder, payer)
      )`,
      'create index credit_leases_payer_idx on credit_leases (payer)',
    ],
  },
  {
    version: 3,
    name: 'jobs know their router',
    statements: [
      // The lease holder that ran the job: a restarted router ends the jobs its last run left open.
      'alter table jobs add column holder text',
      "create index jobs_open_holder_idx on jobs (holder) where status in ('queued', 'running')",
    ],
  },
  {
    version: 4,
    name: 'receipts set aside',
    statements: [
      // Receipts of a payer whose credits the chain found short when their batch was settled: they wait
      // (tried again later) while the other receipts settle, instead of holding every later batch back.
      'alter table receipts add column set_aside_at bigint',
      'alter table receipts add column set_aside_reason text',
    ],
  },
  {
    version: 5,
    name: 'settled totals',
    statements: [
      // What each router has settled, kept up as batches settle: the metrics read one row per scrape
      // instead of counting the router's batches, which grow by one every batch for good.
      `create table settlement_totals (
        router text primary key,
        batches bigint not null check (batches >= 0),
        receipts bigint not null check (receipts >= 0)
      )`,
      `insert into settlement_totals (router, batches, receipts)
        select router, count(*), coalesce(sum(receipt_count), 0) from settlement_batches
        where status = 'settled' group by router`,
    ],
  },
  {
    version: 6,
    name: 'pending batches index',
    statements: [
      // Each settlement cycle (about once a second) and each metrics scrape read the pending batches;
      // through the primary key that read every batch the router ever cut (21 ms at 200,000 in PGlite).
      "create index settlement_batches_pending_idx on settlement_batches (router, sequence) where status = 'pending'",
    ],
  },
  {
    version: 7,
    name: 'receipts attested in batches',
    statements: [
      // The router signs the Merkle root of the receipts it stores together (protocol/receipt-attestation.ts)
      // instead of each receipt. The leaves are kept with the signature, so a receipt's proof is one read
      // by primary key whatever the table holds. No foreign key from receipts: both rows are written in
      // one transaction, and a per-row check at commit would cost as much as an index.
      `create table receipt_attestations (
        receipts_root text primary key,
        router text not null,
        receipt_count integer not null check (receipt_count > 0),
        leaves bytea not null check (length(leaves) = 32 * receipt_count),
        signature text not null,
        created_at bigint not null
      )`,
      // router_signature stays for the receipts countersigned one by one before this version.
      'alter table receipts add column attestation_root text',
      'alter table receipts add column attestation_index integer',
    ],
  },
  {
    version: 8,
    name: 'jobs API listing',
    statements: [
      // GET /v1/jobs lists a payer's jobs-API jobs newest first. Partial: the rows of chat and completion
      // requests, nearly all of them, never enter it, so their ingestion pays nothing for it. Ids compare
      // byte by byte ("C"), as the gateway merges stored jobs with those not stored yet.
      `create index jobs_api_list_idx on jobs (payer, created_at desc, public_id collate "C" desc)
        where starts_with(public_id, 'job_')`,
    ],
  },
  {
    version: 9,
    name: 'idempotency keys of the jobs API',
    statements: [
      // A retried POST /v1/jobs with the same Idempotency-Key finds the job its first try made, on any
      // router: claimed here before the job runs, one row per payer and key.
      `create table job_idempotency (
        payer text not null,
        idempotency_key text not null,
        request_hash text not null,
        public_id text not null,
        created_at bigint not null,
        primary key (payer, idempotency_key)
      )`,
    ],
  },
  {
    version: 10,
    name: 'stored responses',
    statements: [
      // The Responses API's stored responses (previous_response_id, GET /v1/responses/:id): each row keeps
      // its whole conversation, so a chain reads one row and deleting one response leaves the others whole.
      `create table responses (
        id text primary key,
        payer text not null,
        api_key_id text not null,
        created_at bigint not null,
        response jsonb not null,
        context jsonb not null
      )`,
      // Responses past their retention are deleted oldest first.
      'create index responses_created_idx on responses (created_at)',
    ],
  },
  {
    version: 11,
    name: 'key revocations announced',
    statements: [
      // Routers cache a key's answer for a few seconds; a key revoked (or deleted) by any router or by hand
      // on a shared server is announced to all of them (LISTEN neurino_api_key_revoked), which forget it.
      `create function neurino_announce_key_revoked() returns trigger language plpgsql as $$
       begin
         perform pg_notify('neurino_api_key_revoked', old.key_hash);
         return null;
       end $$`,
      `create trigger api_key_revoked after update of revoked_at on api_keys for each row
         when (old.revoked_at is null and new.revoked_at is not null)
         execute function neurino_announce_key_revoked()`,
      `create trigger api_key_deleted after delete on api_keys for each row
         execute function neurino_announce_key_revoked()`,
    ],
  },
  {
    version: 12,
    name: 'background responses',
    statements: [
      // A background response is kept while its job runs; past this deadline (ms) a response still
      // unfinished lost its router, and is read as failed.
      'alter table responses add column deadline_at bigint',
    ],
  },
  {
    version: 13,
    name: 'streamed background responses',
    statements: [
      // A background response created with stream: true keeps its numbered events, written with its end,
      // so GET /v1/responses/:id?stream=true replays them on any router (null: not streamed).
      'alter table responses add column events jsonb',
    ],
  },
  {
    version: 14,
    name: 'shared rate limits',
    statements: [
      // Hits per limiter and key in each minute of the clock, added by every router sharing the server
      // about once a second, so a rate limit counts across routers; ended minutes are deleted.
      `create table rate_windows (
        limiter text not null,
        key text not null,
        window_start bigint not null,
        count integer not null,
        primary key (limiter, key, window_start)
      )`,
    ],
  },
  {
    version: 15,
    name: 'conversations',
    statements: [
      // The Conversations API: a conversation belongs to a credit account and holds items in the order
      // they were added (position); an item's id is unique in its conversation. Kept until deleted.
      `create table conversations (
        id text primary key,
        payer text not null,
        api_key_id text not null,
        created_at bigint not null,
        metadata jsonb not null
      )`,
      `create table conversation_items (
        conversation_id text not null references conversations (id) on delete cascade,
        item_id text not null,
        position bigint generated always as identity,
        item jsonb not null,
        primary key (conversation_id, item_id)
      )`,
      'create index conversation_items_order_idx on conversation_items (conversation_id, position)',
    ],
  },
  {
    version: 16,
    name: 'documents kept as written',
    statements: [
      // Requests, answers and conversations are kept as the JSON text they were (json, not jsonb): jsonb
      // cannot hold a string with U+0000, which a caller may send and a model may write, and reorders keys.
      // A response's status has a column of its own, since nothing reads inside a document (PostgreSQL
      // refuses to when a string in it holds U+0000).
      'alter table responses add column status text',
      "update responses set status = response->>'status'",
      'alter table responses alter column status set not null',
      'alter table jobs alter column request type json using request::json',
      'alter table jobs alter column result type json using result::json',
      'alter table responses alter column response type json using response::json',
      'alter table responses alter column context type json using context::json',
      'alter table responses alter column events type json using events::json',
      'alter table conversations alter column metadata type json using metadata::json',
      'alter table conversation_items alter column item type json using item::json',
    ],
  },
];
