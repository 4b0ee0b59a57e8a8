// `neurino router keys …` through a running router's operators' listener (`/admin/keys`), for when the
// command cannot open the store itself: the router holds its PGlite directory, or it runs elsewhere.
// Answers the same shapes as the store's ApiKeys, so the command prints both paths alike.
import { type Address, getAddress } from 'viem';
import type { ApiKeyAdmin } from '../application/gateway/ports.ts';
import type { ApiKeyObject } from '../application/gateway/routes/admin-keys.ts';
import type { ApiKeyInfo, CreatedApiKey, KeyFilter } from '../orchestration/metering/api-keys.ts';
import { isErrorCode } from '../protocol/error-codes.ts';
import { createError, RetryableError } from '../protocol/errors.ts';
import { fetchRouter } from './router-fetch.ts';

const TIMEOUT_MS = 10_000;

/** What `neurino router keys` does with keys, through the store or a router. */
export type KeyManager = Pick<ApiKeyAdmin, 'create' | 'find' | 'revoke'>;

/** The listener's largest page. */
const PAGE = 100;

export class KeyAdminClient implements KeyManager {
  readonly #base: URL;
  readonly #token: string;

  constructor(operationsUrl: string, token: string) {
    this.#base = new URL(operationsUrl);
    this.#token = token;
  }

  async create(input: { account: Address; label?: string | undefined }): Promise<CreatedApiKey> {
    const body = { account: input.account, ...(input.label === undefined ? {} : { label: input.label }) };
    const created = (await this.#call('POST', '/admin/keys', body)) as ApiKeyObject & { key: string };
    return { ...infoOf(created), key: created.key };
  }

  /** Keys as the store's `find` gives them, read page by page from the listener. */
  async find(filter: KeyFilter): Promise<ApiKeyInfo[]> {
    const found: ApiKeyInfo[] = [];
    let after = filter.after;
    while (found.length < filter.limit) {
      const query = new URLSearchParams({ limit: String(Math.min(PAGE, filter.limit - found.length)) });
      if (filter.account !== undefined) query.set('account', filter.account);
      if (filter.prefix !== undefined) query.set('prefix', filter.prefix);
      if (after !== undefined) query.set('after', after);
      const page = (await this.#call('GET', `/admin/keys?${query}`)) as {
        data: ApiKeyObject[];
        has_more: boolean;
        last_id: string | null;
      };
      found.push(...page.data.map(infoOf));
      if (!page.has_more || page.last_id === null) break;
      after = page.last_id;
    }
    return found;
  }

  async revoke(id: string): Promise<boolean> {
    try {
      await this.#call('DELETE', `/admin/keys/${encodeURIComponent(id)}`);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'api_key_not_found') return false;
      throw error;
    }
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = new URL(path, this.#base);
    const response = await fetchRouter(
      url,
      {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      },
      `router's operators' listener at ${url.origin}`,
    );
    const answer = (await response.json().catch(() => undefined)) as
      | { error?: { code?: unknown; message?: unknown; param?: unknown } }
      | undefined;
    if (response.ok && answer !== undefined) return answer;
    const error = answer?.error;
    if (typeof error?.code === 'string' && isErrorCode(error.code) && typeof error.message === 'string') {
      throw createError(error.code, {
        message: `${method} ${url.pathname}: ${error.message}`,
        ...(typeof error.param === 'string' ? { param: error.param } : {}),
      });
    }
    throw new RetryableError('service_unavailable', {
      message: `${url.origin} answered ${method} ${url.pathname} with ${response.status} (is it a Neurino router's operators' listener?)`,
    });
  }
}

function infoOf(key: ApiKeyObject): ApiKeyInfo {
  return {
    id: key.id,
    account: getAddress(key.account),
    label: key.label ?? undefined,
    prefix: key.prefix,
    createdAt: key.created_at * 1_000,
    revokedAt: key.revoked_at === null ? undefined : key.revoked_at * 1_000,
  };
}
