// The Responses API's stored responses: what `previous_response_id` continues and
// `GET /v1/responses/:id` reads, kept for a credit account (every key of the account sees them, no other)
// for a retention period, 30 days by default as OpenAI keeps its own. Routers sharing the store share them.
import { type Address, getAddress } from 'viem';
import type { ContextItem } from '../../protocol/openai-responses-api-items.ts';
import type { ResponseObject } from '../../protocol/openai-responses-api-output.ts';
import type { ResponseEvent } from '../../protocol/openai-responses-api-stream.ts';
import { numberOf, optionalNumberOf } from '../store/sql-values.ts';
import type { Store } from '../store/store.ts';

export const DEFAULT_RESPONSE_RETENTION_MS = 30 * 24 * 3_600_000;
/** Expired responses are deleted at most this often, after a save. */
const PURGE_INTERVAL_MS = 3_600_000;

export interface StoredResponse {
  response: ResponseObject;
  /** The conversation the response answered, without its instructions (OpenAI's input items). */
  context: ContextItem[];
  createdAt: number;
  /** A background response still running: when its job's deadline passes. */
  deadlineAt: number | undefined;
  /** A background response created with stream: true, whose events `events` reads once it has ended. */
  streamed: boolean;
}

/** Its status column (OpenAI's type leaves the field optional; ours always set it). */
const statusOf = (response: ResponseObject): string => response.status ?? 'completed';

/** A background response's statuses before it ends. */
const UNFINISHED = ['queued', 'in_progress'];

export interface ResponseArchiveOptions {
  retentionMs?: number;
  now?: () => number;
  /** Told when deleting expired responses failed (they are tried again at the next save). */
  onPurgeError?: (error: unknown) => void;
}

interface Row {
  response: ResponseObject;
  context: ContextItem[];
  created_at: unknown;
  deadline_at: unknown;
  streamed: boolean;
}

export class ResponseArchive {
  readonly #store: Store;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #onPurgeError: (error: unknown) => void;
  #nextPurge = 0;

  constructor(store: Store, options: ResponseArchiveOptions = {}) {
    const retention = options.retentionMs ?? DEFAULT_RESPONSE_RETENTION_MS;
    if (!Number.isSafeInteger(retention) || retention <= 0)
      throw new RangeError('retentionMs must be a positive whole number of milliseconds');
    this.#store = store;
    this.#retentionMs = retention;
    this.#now = options.now ?? Date.now;
    this.#onPurgeError = options.onPurgeError ?? (() => {});
  }

  /**
   * Keeps a response: a finished one, or a background one as it starts (with its job's deadline), which
   * `finish` completes; a streamed one with its events so far (`[]`). Saving the same id again keeps the
   * first.
   */
  async save(p: {
    id: string;
    payer: Address;
    apiKeyId: string;
    response: ResponseObject;
    context: readonly ContextItem[];
    deadlineAt?: number | undefined;
    events?: readonly ResponseEvent[] | undefined;
  }): Promise<void> {
    const now = this.#now();
    await this.#store.query(
      `insert into responses (id, payer, api_key_id, created_at, response, context, deadline_at, events, status)
       values ($1, $2, $3, $4, $5::json, $6::json, $7, $8::json, $9) on conflict (id) do nothing`,
      [
        p.id,
        getAddress(p.payer),
        p.apiKeyId,
        now,
        JSON.stringify(p.response),
        JSON.stringify(p.context),
        p.deadlineAt ?? null,
        p.events === undefined ? null : JSON.stringify(p.events),
        statusOf(p.response),
      ],
    );
    if (now >= this.#nextPurge) {
      this.#nextPurge = now + PURGE_INTERVAL_MS;
      this.purgeExpired().catch((error: unknown) => {
        this.#nextPurge = 0;
        this.#onPurgeError(error);
      });
    }
  }

  /** The account's response, unless missing, expired or someone else's (all three look the same). */
  async find(id: string, payer: Address): Promise<StoredResponse | undefined> {
    const [row] = await this.#store.query<Row>(
      `select response, context, created_at, deadline_at, events is not null as streamed from responses
       where id = $1 and payer = $2 and created_at >= $3`,
      [id, getAddress(payer), this.#oldestKept()],
    );
    if (row === undefined) return undefined;
    return {
      response: row.response,
      context: row.context,
      createdAt: numberOf(row.created_at),
      deadlineAt: optionalNumberOf(row.deadline_at),
      streamed: row.streamed === true,
    };
  }

  /** A streamed response's events as kept (all of them once it has ended); undefined when not streamed. */
  async events(id: string, payer: Address): Promise<ResponseEvent[] | undefined> {
    const [row] = await this.#store.query<{ events: ResponseEvent[] | null }>(
      'select events from responses where id = $1 and payer = $2 and created_at >= $3',
      [id, getAddress(payer), this.#oldestKept()],
    );
    return row?.events ?? undefined;
  }

  /** A queued background response began on a node (`in_progress`); false when it had left `queued`. */
  async started(id: string, payer: Address, response: ResponseObject): Promise<boolean> {
    const rows = await this.#store.query(
      `update responses set response = $3::json, status = $4
       where id = $1 and payer = $2 and status = 'queued' returning id`,
      [id, getAddress(payer), JSON.stringify(response), statusOf(response)],
    );
    return rows.length > 0;
  }

  /**
   * Ends a background response with its final object (a streamed one with all its events), unless it
   * has ended already (a cancel, or a reader that found its router gone): false then.
   */
  async finish(
    id: string,
    payer: Address,
    response: ResponseObject,
    events?: readonly ResponseEvent[],
  ): Promise<boolean> {
    const rows = await this.#store.query(
      `update responses set response = $3::json, deadline_at = null, events = coalesce($5::json, events),
         status = $6
       where id = $1 and payer = $2 and status = any($4::text[]) returning id`,
      [
        id,
        getAddress(payer),
        JSON.stringify(response),
        `{${UNFINISHED.join(',')}}`,
        events === undefined ? null : JSON.stringify(events),
        statusOf(response),
      ],
    );
    return rows.length > 0;
  }

  /** Deletes the account's response; false when there was none to delete. */
  async remove(id: string, payer: Address): Promise<boolean> {
    const rows = await this.#store.query(
      'delete from responses where id = $1 and payer = $2 and created_at >= $3 returning id',
      [id, getAddress(payer), this.#oldestKept()],
    );
    return rows.length > 0;
  }

  /** Deletes the responses past their retention; how many. */
  async purgeExpired(): Promise<number> {
    const rows = await this.#store.query('delete from responses where created_at < $1 returning id', [
      this.#oldestKept(),
    ]);
    return rows.length;
  }

  #oldestKept(): number {
    return this.#now() - this.#retentionMs;
  }
}
