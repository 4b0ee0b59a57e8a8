// POST /v1/embeddings: one metered job; vectors as floats or, when asked, base64 float32 as OpenAI sends.
import type { FastifyInstance } from 'fastify';
import { newApiId } from '../../../protocol/ids.ts';
import { JOB_ID_HEADER } from '../../../protocol/jobs-api.ts';
import { parseEmbeddingRequest } from '../../../protocol/openai.ts';
import { embeddingList } from '../../../protocol/openai-responses.ts';
import { principalOf } from '../auth.ts';
import { clientGoneSignal, type GatewayContext, headerBudget, parsedOrThrow } from '../context.ts';
import { embeddingInput } from '../pod-input.ts';
import { modelFor } from '../pod-lookup.ts';
import { embeddingOutput } from '../pod-output.ts';

export function embeddingRoutes(app: FastifyInstance, context: GatewayContext): void {
  app.post('/v1/embeddings', async (request, reply) => {
    const principal = principalOf(request);
    const body = parsedOrThrow(parseEmbeddingRequest(request.body));
    const entry = modelFor(context.catalog, body.model, 'embeddings');
    const { input, count } = embeddingInput(body);
    // Embeddings have no id in OpenAI's answer: the job's is a header (its receipt is read by it).
    const publicId = newApiId('job');
    reply.header(JOB_ID_HEADER, publicId);
    let vectors: number[][] = [];
    const started = await context.runner.start({
      principal,
      entry,
      kind: 'embeddings',
      input,
      stream: false,
      budget: headerBudget(context, request),
      publicId,
      signal: clientGoneSignal(reply),
      check: (result) => {
        vectors = embeddingOutput(result.output, count);
      },
    });
    const run = await started.done;
    return embeddingList({
      model: body.model,
      embeddings: vectors,
      inputTokens: run.outcome.result.usage.inputTokens,
      ...(body.encoding_format === undefined ? {} : { encodingFormat: body.encoding_format }),
    });
  });
}
