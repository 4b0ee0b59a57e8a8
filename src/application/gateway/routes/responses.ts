// POST /v1/responses: OpenAI's Responses API, run as a chat job (the request's items as a conversation)
// and answered as a response object, whole or as its stream of named events.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toOpenAIError } from '../../../protocol/errors.ts';
import { newApiId } from '../../../protocol/ids.ts';
import { unixSeconds } from '../../../protocol/openai-responses.ts';
import { parseResponsesRequest, responsesAsChat } from '../../../protocol/openai-responses-api.ts';
import {
  outputItems,
  type ResponseEnvelope,
  responseObject,
  statusOf,
} from '../../../protocol/openai-responses-api-output.ts';
import { ResponseEventWriter } from '../../../protocol/openai-responses-api-stream.ts';
import { principalOf } from '../auth.ts';
import { clientGoneSignal, type GatewayContext, headerBudget, parsedOrThrow } from '../context.ts';
import { chatInput } from '../pod-input.ts';
import { modelFor } from '../pod-lookup.ts';
import { type GenerationChoice, generationOutput } from '../pod-output.ts';
import { streamJob } from '../streamed-job.ts';

export function responsesRoutes(app: FastifyInstance, context: GatewayContext): void {
  app.post('/v1/responses', (request, reply) => respond(context, request, reply));
}

async function respond(
  context: GatewayContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const principal = principalOf(request);
  const body = parsedOrThrow(parseResponsesRequest(request.body));
  const chat = responsesAsChat(body);
  const entry = modelFor(context.catalog, body.model, 'chat');
  const envelope: ResponseEnvelope = {
    id: newApiId('response'),
    model: body.model,
    createdAt: unixSeconds(),
    request: body,
  };
  let answer: GenerationChoice = { text: '', finishReason: 'stop' };
  const job = {
    principal,
    entry,
    kind: 'chat' as const,
    input: chatInput(chat).input,
    budget: headerBudget(context, request),
    publicId: envelope.id,
    signal: clientGoneSignal(reply),
    check: (result: { output: unknown }) => {
      const [choice] = generationOutput('chat', result.output);
      if (choice !== undefined) answer = choice;
    },
  };

  if (body.stream !== true) {
    const run = await (await context.runner.start({ ...job, stream: false })).done;
    return responseObject(envelope, statusOf(answer), outputItems(answer), run.outcome.result.usage);
  }

  return streamJob(context, request, reply, job, (sse) => {
    const events = new ResponseEventWriter(envelope, (event) => sse.send(event, event.type));
    return {
      open: () => events.start(),
      chunk: (delta) => events.text(delta),
      finish: (run) => {
        events.finish(answer, run.outcome.result.usage);
        sse.end();
      },
      fail: (error) => {
        const failure = events.error(toOpenAIError(error));
        sse.fail(failure, failure.type);
      },
    };
  });
}
