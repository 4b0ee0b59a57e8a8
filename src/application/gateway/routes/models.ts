// GET /v1/models and GET /v1/models/:model: the pods that answer OpenAI requests, by model name.
import type { FastifyInstance } from 'fastify';
import { zeroAddress } from 'viem';
import { FatalError } from '../../../protocol/errors.ts';
import { modelList } from '../../../protocol/openai-responses.ts';
import type { GatewayContext } from '../context.ts';
import type { CatalogEntry } from '../ports.ts';

const OPENAI_KINDS = new Set(['chat', 'completion', 'embeddings']);

function servesOpenAI(entry: CatalogEntry): boolean {
  return entry.spec.kinds.some((kind) => OPENAI_KINDS.has(kind));
}

function describe(context: GatewayContext, entry: CatalogEntry) {
  // OpenAI names the owning organisation; here it is the pod's deployer, who earns its share.
  return { id: entry.spec.name, created: context.startedAt, ownedBy: entry.deployer ?? zeroAddress };
}

export function modelRoutes(app: FastifyInstance, context: GatewayContext): void {
  app.get('/v1/models', async () => {
    const entries = context.catalog.list().filter(servesOpenAI);
    return modelList(entries.map((entry) => describe(context, entry)));
  });

  app.get<{ Params: { model: string } }>('/v1/models/*', async (request) => {
    // A wildcard, because model names may contain slashes (`org/model`).
    const name = (request.params as Record<string, string>)['*'] ?? '';
    const entry = context.catalog.byModel(name);
    if (entry === undefined || !servesOpenAI(entry)) {
      throw new FatalError('model_not_found', {
        message: `The model ${JSON.stringify(name.slice(0, 256))} does not exist`,
        param: 'model',
      });
    }
    return modelList([describe(context, entry)]).data[0];
  });
}
