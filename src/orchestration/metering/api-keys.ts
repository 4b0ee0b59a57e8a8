// API keys of developers, each tied to the account whose compute credits pay for its requests.
// The key is shown once; the store keeps only its sha256, so a leaked database leaks no usable key.
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Address, getAddress, isAddress } from 'viem';
import { FatalError } from '../../protocol/errors.ts';
import { randomBase62 } from '../../protocol/ids.ts';
import { numberOf, optionalNumberOf, optionalStringOf } from '../store/sql-values.ts';
import type { SqlParam, Store } from '../store/store.ts';

export const API_KEY_PREFIX = 'nrn_';
/** Where the store announces a revoked or deleted key's hash (migration 11's trigger). */
export const KEY_REVOKED_CHANNEL = 'neurino_api_key_revoked';
/** 40 base62 characters ≈ 238 bits: hashing without a salt is safe at that entropy. */
const KEY_BODY_LENGTH = 40;
const KEY_PATTERN = /^nrn_[0-9A-Za-z]{40}$/;
/** What dashboards show of a key (`nrn_Ab3x`), enough to recognise it, far too little to use it. */
const SHOWN_PREFIX_LENGTH = 8;
export const MAX_LABEL_LENGTH = 200;

export interface ApiKeyInfo {
  id: string;
  account: Address;
  label: string | undefined;
  /** The first characters of the key, for people to recognise it. */
  prefix: string;
  createdAt: number;
  revokedAt: number | undefined;
}

/** A key just made: the only time `key` itself is known. */
export interface CreatedApiKey extends ApiKeyInfo {
  key: string;
}

export interface AuthenticatedKey {
  id: string;
  account: Address;
}

export interface ApiKeysOptions {
  /**
   * How long an authentication stays cached in this process (default 5 s). A revoke here clears it at
   * once; one elsewhere too while `watchRevocations` runs on a PostgreSQL store.
   */
  cacheMs?: number | undefined;
}

interface KeyRow {
  id: string;
  account: string;
  label: string | null;
  key_hash: string;
  key_prefix: string;
  created_at: unknown;
  revoked_at: unknown;
}

export class ApiKeys {
  readonly #store: Store;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { key: AuthenticatedKey; until: number; refreshAt: number }>();
  /** One store lookup per key hash at a time, shared by whoever asks meanwhile. */
  readonly #lookups = new Map<string, Promise<AuthenticatedKey | undefined>>();
  /** Revokes so far: a lookup that overlapped one does not cache its answer. */
  #revocations = 0;

  constructor(store: Store, options: ApiKeysOptions = {}) {
    this.#store = store;
    this.#cacheMs = options.cacheMs ?? 5_000;
  }

  /** A new key for `account`. The returned `key` is never stored nor shown again. */
  async create(input: { account: Address; label?: string | undefined }): Promise<CreatedApiKey> {
    if (!isAddress(input.account, { strict: false })) {
      throw new FatalError('invalid_request', { message: 'account must be an address', param: 'account' });
    }
    if (input.label !== undefined && input.label.length > MAX_LABEL_LENGTH) {
      throw new FatalError('invalid_request', {
        message: `label longer than ${MAX_LABEL_LENGTH}`,
        param: 'label',
      });
    }
    // Shown in listings and terminals, and U+0000 cannot be stored.
    if (input.label !== undefined && /\p{Cc}/u.test(input.label)) {
      throw new FatalError('invalid_request', {
        message: 'label must be printable text (no control characters)',
        param: 'label',
      });
    }
    const key = `${API_KEY_PREFIX}${randomBase62(KEY_BODY_LENGTH)}`;
    const created: CreatedApiKey = {
      id: `key_${randomBase62(24)}`,
      key,
      account: getAddress(input.account),
      label: input.label,
      prefix: key.slice(0, SHOWN_PREFIX_LENGTH),
      createdAt: Date.now(),
      revokedAt: undefined,
    };
    await this.#store.query(
      `insert into api_keys (id, account, label, key_hash, key_prefix, created_at)
       values ($1, $2, $3, $4, $5, $6)`,
      [
        created.id,
        created.account,
        created.label ?? null,
        hashApiKey(key),
        created.prefix,
        created.createdAt,
      ],
    );
    return created;
  }

  /**
   * The key's id and account, or undefined for a malformed, unknown or revoked key. A busy key never
   * waits for the store: its cached answer is looked up again in the background once three quarters of
   * `cacheMs` have passed (never served past `cacheMs`), and callers that do need the store share one
   * lookup, rather than each queueing a query behind the store's other work when the entry expires.
   */
  async authenticate(key: string): Promise<AuthenticatedKey | undefined> {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) return undefined;
    const hash = hashApiKey(key);
    return this.#cached(hash) ?? this.#lookup(hash);
  }

  /** The key's id and account when cached and fresh, else undefined; never waits for the store. */
  known(key: string): AuthenticatedKey | undefined {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) return undefined;
    return this.#cached(hashApiKey(key));
  }

  #cached(hash: string): AuthenticatedKey | undefined {
    const cached = this.#cache.get(hash);
    const now = Date.now();
    if (cached === undefined || cached.until <= now) return undefined;
    // A failed refresh changes nothing: the entry expires, and the next caller waits for the store.
    if (now >= cached.refreshAt && !this.#lookups.has(hash)) this.#lookup(hash).catch(() => undefined);
    return cached.key;
  }

  #lookup(hash: string): Promise<AuthenticatedKey | undefined> {
    const running = this.#lookups.get(hash);
    if (running !== undefined) return running;
    const revocations = this.#revocations;
    const lookup = this.#find(hash)
      .then((found) => {
        if (found === undefined) this.#cache.delete(hash);
        // A revoke while this lookup ran may have come after its read: its answer is not kept.
        else if (this.#cacheMs > 0 && revocations === this.#revocations) {
          const at = Date.now();
          this.#cache.set(hash, {
            key: found,
            until: at + this.#cacheMs,
            refreshAt: at + (this.#cacheMs * 3) / 4,
          });
        }
        return found;
      })
      .finally(() => {
        if (this.#lookups.get(hash) === lookup) this.#lookups.delete(hash);
      });
    this.#lookups.set(hash, lookup);
    return lookup;
  }

  async #find(hash: string): Promise<AuthenticatedKey | undefined> {
    // Looked up by hash: what an attacker can time is the hash, which says nothing about other keys.
    const [row] = await this.#store.query<KeyRow>(
      'select * from api_keys where key_hash = $1 and revoked_at is null',
      [hash],
    );
    if (row === undefined || !sameHex(row.key_hash, hash)) return undefined;
    return { id: row.id, account: getAddress(row.account) };
  }

  /** Revokes a key; true when it existed and was active. */
  async revoke(id: string): Promise<boolean> {
    const rows = await this.#store.query<{ key_hash: string }>(
      'update api_keys set revoked_at = $2 where id = $1 and revoked_at is null returning key_hash',
      [id, Date.now()],
    );
    this.#forget(rows.map((row) => row.key_hash));
    return rows.length > 0;
  }

  /**
   * Forgets at once the keys revoked or deleted elsewhere (another router, or by hand on a shared
   * server), as the store announces them; after a lost announcement connection, every cached key. Without
   * it (or on PGlite, which has no announcements) a key revoked elsewhere passes here until its cached
   * answer expires. Resolves to what stops it.
   */
  async watchRevocations(): Promise<() => Promise<void>> {
    if (this.#store.listen === undefined) return async () => {};
    return this.#store.listen(KEY_REVOKED_CHANNEL, {
      message: (hash) => this.#forget([hash]),
      resumed: () => this.#forget([...this.#cache.keys(), ...this.#lookups.keys()]),
    });
  }

  #forget(hashes: readonly string[]): void {
    this.#revocations++;
    for (const hash of hashes) {
      this.#cache.delete(hash);
      // Whoever asks from now on reads the store again rather than join a lookup begun before.
      this.#lookups.delete(hash);
    }
  }

  /**
   * Keys newest first, revoked ones included, for operators: of one account, and/or those a leaked key
   * or its shown prefix (`nrn_Ab3x`) names; at most `limit`, older than the key `after` when given.
   */
  async find(filter: KeyFilter): Promise<ApiKeyInfo[]> {
    if (filter.account !== undefined && !isAddress(filter.account, { strict: false })) return [];
    const where: string[] = [];
    const params: SqlParam[] = [];
    const param = (value: SqlParam) => `$${params.push(value)}`;
    if (filter.account !== undefined) where.push(`account = ${param(getAddress(filter.account))}`);
    const { prefix } = filter;
    if (prefix !== undefined) {
      // A whole key is found by its hash; a shorter piece by the prefix kept of each key.
      if (KEY_PATTERN.test(prefix)) where.push(`key_hash = ${param(hashApiKey(prefix))}`);
      else if (prefix.length <= SHOWN_PREFIX_LENGTH) where.push(`starts_with(key_prefix, ${param(prefix)})`);
      else where.push(`starts_with(${param(prefix)}, key_prefix)`);
    }
    if (filter.after !== undefined) {
      where.push(
        `(created_at, id collate "C") < (select created_at, id from api_keys where id = ${param(filter.after)})`,
      );
    }
    const rows = await this.#store.query<KeyRow>(
      `select * from api_keys ${where.length === 0 ? '' : `where ${where.join(' and ')}`}
       order by created_at desc, id collate "C" desc limit ${param(filter.limit)}`,
      params,
    );
    return rows.map(keyInfoOf);
  }

  /** Whether a key with this id exists, revoked or not. */
  async exists(id: string): Promise<boolean> {
    const rows = await this.#store.query('select 1 from api_keys where id = $1', [id]);
    return rows.length > 0;
  }
}

/** What `find` looks for; `limit` at least 1. */
export interface KeyFilter {
  account?: Address | undefined;
  /** A key's first characters as shown (`nrn_Ab3x`), or a whole key. */
  prefix?: string | undefined;
  limit: number;
  /** A key id: only keys older than it. */
  after?: string | undefined;
}

function keyInfoOf(row: KeyRow): ApiKeyInfo {
  return {
    id: row.id,
    account: getAddress(row.account),
    label: optionalStringOf(row.label),
    prefix: row.key_prefix,
    createdAt: numberOf(row.created_at),
    revokedAt: optionalNumberOf(row.revoked_at),
  };
}

/** sha256 of the key as lower-case hex: what the store keeps. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True for strings shaped like a Neurino API key (`nrn_` and 40 base62 characters). */
export function isApiKeyShaped(value: string): boolean {
  return KEY_PATTERN.test(value);
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
