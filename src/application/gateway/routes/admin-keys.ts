// The operators' management of developers' API keys while the router runs (on the operators' listener
// only, behind the operator token): POST /admin/keys creates one for a credit account and shows it once,
// GET /admin/keys lists keys in pages (never the keys themselves): all, an account's, or those a leaked
// key or its shown prefix names; DELETE /admin/keys/:id revokes one, refused by this router from the
// next request on.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type ApiKeyInfo, MAX_LABEL_LENGTH } from '../../../orchestration/metering/api-keys.ts';
import { FatalError } from '../../../protocol/errors.ts';
import { AddressSchema } from '../../../protocol/scalars.ts';
import { parseWith } from '../../../protocol/schema-errors.ts';
import { parsedOrThrow } from '../context.ts';
import { listPage } from '../list-page.ts';
import type { ApiKeyAdmin } from '../ports.ts';

const KEY_ID_PATTERN = /^key_[0-9A-Za-z]{24}$/;

const CreateKeyBody = z.strictObject({
  account: AddressSchema,
  label: z.string().min(1).max(MAX_LABEL_LENGTH).optional(),
});

const MAX_KEY_PAGE = 100;

const ListKeysQuery = z.strictObject({
  account: AddressSchema.optional(),
  /** A key's shown prefix (`nrn_Ab3x`), or a whole (leaked) key. */
  prefix: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_KEY_PAGE).default(20),
  after: z.string().regex(KEY_ID_PATTERN, 'expected a key id: key_ and 24 letters or digits').optional(),
});

/** A key as operators see it: what recognises it, never what uses it. Times in Unix seconds. */
export interface ApiKeyObject {
  object: 'api_key';
  id: string;
  account: string;
  label: string | null;
  prefix: string;
  created_at: number;
  revoked_at: number | null;
}

export function adminKeyRoutes(app: FastifyInstance, keys: ApiKeyAdmin): void {
  app.post('/admin/keys', async (request, reply) => {
    const body = parsedOrThrow(parseWith(CreateKeyBody, request.body ?? {}));
    const created = await keys.create({ account: body.account, label: body.label });
    reply.code(201);
    return { ...keyObject(created), key: created.key };
  });

  app.get('/admin/keys', async (request) => {
    const { account, prefix, limit, after } = parsedOrThrow(parseWith(ListKeysQuery, request.query));
    if (after !== undefined && !(await keys.exists(after))) {
      throw new FatalError('invalid_request', { message: `after: no key ${after}`, param: 'after' });
    }
    // One more than asked: whether a next page exists.
    return listPage(await keys.find({ account, prefix, limit: limit + 1, after }), limit, keyObject);
  });

  app.delete<{ Params: { id: string } }>('/admin/keys/:id', async (request) => {
    const { id } = request.params;
    if (!KEY_ID_PATTERN.test(id)) {
      throw new FatalError('invalid_request', {
        message: 'expected a key id: key_ and 24 letters or digits',
        param: 'id',
      });
    }
    if (!(await keys.revoke(id))) {
      throw new FatalError('api_key_not_found', { message: `No active API key ${id}`, param: 'id' });
    }
    return { object: 'api_key.revoked', id, revoked: true };
  });
}

function keyObject(info: ApiKeyInfo): ApiKeyObject {
  return {
    object: 'api_key',
    id: info.id,
    account: info.account,
    label: info.label ?? null,
    prefix: info.prefix,
    created_at: Math.floor(info.createdAt / 1_000),
    revoked_at: info.revokedAt === undefined ? null : Math.floor(info.revokedAt / 1_000),
  };
}
