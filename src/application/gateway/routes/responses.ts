// POST /v1/responses: OpenAI's Responses API, run as a chat job (the request's items as a conversation,
// after those of the stored response it continues or of the conversation it names) and answered as a
// response object, whole or as its stream of named events; kept for GET /v1/responses/:id and
// previous_response_id unless `store: false`; its turn added to the conversation it names.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toOpenAIError } from '../../../protocol/errors.ts';
import { newApiId } from '../../../protocol/ids.ts';
import { unixSeconds } from '../../../protocol/openai-responses.ts';
import {
  asksResponseLogprobs,
  parseResponsesRequest,
  requestItems,
  responsesAsChat,
} from '../../../protocol/openai-responses-api.ts';
import { contextOf } from '../../../protocol/openai-responses-api-items.ts';
import {
  outputItems,
  type ResponseEnvelope,
  type ResponseObject,
  responseObject,
  statusOf,
} from '../../../protocol/openai-responses-api-output.ts';
import { ResponseEventWriter } from '../../../protocol/openai-responses-api-stream.ts';
import { principalOf } from '../auth.ts';
import { clientGoneSignal, type GatewayContext, headerBudget, parsedOrThrow } from '../context.ts';
import { chatInput } from '../pod-input.ts';
import { modelFor } from '../pod-lookup.ts';
import { checkLogprobs, type GenerationChoice, generationOutput } from '../pod-output.ts';
import type { ConversationStore, JobLog, ResponseStore } from '../ports.ts';
import { followEvents } from '../response-event-reply.ts';
import { streamJob } from '../streamed-job.ts';
import { BackgroundResponses, checkBackground } from './background-response.ts';
import { conversationTurn } from './conversation-turn.ts';
import { endedEarly } from './response-ended-early.ts';
import { checkContinuation, earlierContext } from './response-history.ts';
import { storedResponseRoutes } from './stored-responses.ts';

export function responsesRoutes(
  app: FastifyInstance,
  context: GatewayContext,
  stored?: ResponseStore,
  conversations?: ConversationStore,
  jobs?: JobLog,
): void {
  const backgrounds = stored === undefined ? undefined : new BackgroundResponses(context, stored, jobs);
  app.post('/v1/responses', (request, reply) =>
    respond({ context, stored, conversations, backgrounds }, request, reply),
  );
  if (stored === undefined || backgrounds === undefined) return;
  storedResponseRoutes(app, stored, backgrounds);
  // A router closing waits for its background responses' ends to be written (their jobs it drains).
  app.addHook('preClose', () => backgrounds.settled());
}

async function respond(
  parts: {
    context: GatewayContext;
    stored: ResponseStore | undefined;
    conversations: ConversationStore | undefined;
    backgrounds: BackgroundResponses | undefined;
  },
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const { context, stored, backgrounds } = parts;
  const principal = principalOf(request);
  const body = parsedOrThrow(parseResponsesRequest(request.body));
  const items = contextOf(requestItems(body));
  const conversation = await conversationTurn(
    parts.conversations,
    body,
    principal.account,
    items,
    request.log,
  );
  const earlier = checkContinuation(
    conversation?.earlier ?? (await earlierContext(stored, body.previous_response_id, principal.account)),
    items,
    conversation === undefined ? 'previous_response_id' : 'conversation',
    body.truncation ?? 'disabled',
  );
  checkBackground(body, stored);
  const chat = responsesAsChat(body, earlier);
  const entry = modelFor(context.catalog, body.model, 'chat');
  const keep = stored !== undefined && body.store !== false;
  const envelope: ResponseEnvelope = {
    id: newApiId('response'),
    model: body.model,
    createdAt: unixSeconds(),
    request: body,
    store: keep,
  };
  // Kept before the client sees the end, so a continuation sent at once finds it. A failure to keep it
  // does not take the paid answer from the client, which is told it was not kept (`store: false`).
  const kept = async (response: ResponseObject): Promise<ResponseObject> => {
    await conversation?.add(response);
    if (!keep) return response;
    const context = [...earlier, ...items];
    try {
      await stored.save({
        id: envelope.id,
        payer: principal.account,
        apiKeyId: principal.id,
        response,
        context,
      });
      return response;
    } catch (error) {
      request.log.error({ err: error, response: envelope.id }, 'storing a response failed');
      return { ...response, store: false };
    }
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
      const choices = generationOutput('chat', result.output);
      checkLogprobs(choices, asksResponseLogprobs(body));
      const [choice] = choices;
      if (choice !== undefined) answer = choice;
    },
  };

  if (body.background === true && backgrounds !== undefined) {
    const { signal: _, ...detached } = job;
    const started = await backgrounds.start({
      log: request.log,
      envelope,
      principal,
      conversation: [...earlier, ...items],
      job: detached,
      answer: () => answer,
      stream: body.stream === true,
      ...(conversation === undefined ? {} : { ended: conversation.add }),
    });
    // A client that leaves stops reading, not the response: GET /v1/responses/:id?stream=true goes on.
    return started.events === undefined ? started.queued : followEvents(reply, started.events, undefined);
  }

  if (body.stream !== true) {
    const run = await (await context.runner.start({ ...job, stream: false })).done;
    return kept(responseObject(envelope, statusOf(answer), outputItems(answer), run.usage));
  }

  return streamJob(context, request, reply, job, (sse) => {
    const events = new ResponseEventWriter(envelope, (event) => sse.send(event, event.type));
    return {
      open: () => events.start(),
      // One choice: a Responses API request has no `n`.
      chunk: (piece) => events.piece(piece),
      finish: async (run) => {
        events.end(await kept(events.finish(answer, run.usage)));
        sse.end();
      },
      // As a response ends in the background: its open items done, `response.failed` with the response,
      // kept so that GET /v1/responses/:id finds it; then the error event, which the SDK throws on.
      fail: async (error) => {
        events.end(await kept(endedEarly(envelope, error, events)));
        const failure = events.error(toOpenAIError(error));
        sse.fail(failure, failure.type);
      },
    };
  });
}
