// POST /v1/chat/completions and POST /v1/completions: one metered job each, answered whole or streamed
// as server-sent events (role first, text deltas, finish_reason last, usage when asked, then [DONE]).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toOpenAIError } from '../../../protocol/errors.ts';
import {
  asksLogprobs,
  type ChatCompletionRequest,
  type CompletionRequest,
  parseChatCompletionRequest,
  parseCompletionRequest,
} from '../../../protocol/openai.ts';
import type { TokenLogprobOut } from '../../../protocol/openai-logprobs.ts';
import { unixSeconds } from '../../../protocol/openai-responses.ts';
import { StreamedCalls } from '../../../protocol/openai-streamed-calls.ts';
import type { Result } from '../../../protocol/schema-errors.ts';
import { principalOf } from '../auth.ts';
import { clientGoneSignal, type GatewayContext, headerBudget, parsedOrThrow } from '../context.ts';
import { chatInput, completionInput } from '../pod-input.ts';
import { modelFor } from '../pod-lookup.ts';
import { checkChoiceCount, checkLogprobs, type GenerationChoice, generationOutput } from '../pod-output.ts';
import { streamJob } from '../streamed-job.ts';
import { chatShape, completionShape, type Envelope, type GenerationShape } from './generation-shapes.ts';

interface Endpoint<R extends ChatCompletionRequest | CompletionRequest> {
  kind: 'chat' | 'completion';
  shape: GenerationShape;
  parse(body: unknown): Result<R>;
  /** The node's input, how many choices it must answer, and which of them the caller gets (best_of). */
  input(request: R): {
    input: unknown;
    count: number;
    pick?: ((choices: GenerationChoice[]) => GenerationChoice[]) | undefined;
  };
}

const chat: Endpoint<ChatCompletionRequest> = {
  kind: 'chat',
  shape: chatShape,
  parse: parseChatCompletionRequest,
  input: chatInput,
};

const completion: Endpoint<CompletionRequest> = {
  kind: 'completion',
  shape: completionShape,
  parse: parseCompletionRequest,
  input: completionInput,
};

export function generationRoutes(app: FastifyInstance, context: GatewayContext): void {
  app.post('/v1/chat/completions', (request, reply) => generate(context, chat, request, reply));
  app.post('/v1/completions', (request, reply) => generate(context, completion, request, reply));
}

async function generate<R extends ChatCompletionRequest | CompletionRequest>(
  context: GatewayContext,
  endpoint: Endpoint<R>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const principal = principalOf(request);
  const body = parsedOrThrow(endpoint.parse(request.body));
  const entry = modelFor(context.catalog, body.model, endpoint.kind);
  const budget = headerBudget(context, request);
  const { input, count, pick } = endpoint.input(body);
  const stream = body.stream === true;
  const logprobs = asksLogprobs(body);
  // best_of ranks the choices by their log probabilities: the node answers them even when not asked.
  const nodeLogprobs = logprobs || pick !== undefined;
  const { shape, kind } = endpoint;
  const envelope: Envelope = {
    id: shape.newId(),
    model: body.model,
    created: unixSeconds(),
    includeUsage: stream && body.stream_options?.include_usage === true,
  };
  let choices: GenerationChoice[] = [];
  const job = {
    principal,
    entry,
    kind,
    input,
    budget,
    publicId: envelope.id,
    signal: clientGoneSignal(reply),
    check: (result: { output: unknown }) => {
      choices = generationOutput(kind, result.output);
      checkChoiceCount(choices, count);
      checkLogprobs(choices, nodeLogprobs);
    },
  };

  if (!stream) {
    const run = await (await context.runner.start({ ...job, stream: false })).done;
    return shape.whole(envelope, pick?.(choices) ?? choices, run.usage);
  }

  // Per choice, what was streamed of it: its text, how many of its log probabilities, its calls.
  const streamed: Array<{ text: string; logprobs: number; calls: StreamedCalls } | undefined> = [];
  const withLogprobs = (entries: readonly TokenLogprobOut[] | undefined, offset: number) =>
    logprobs ? { entries: entries ?? [], offset } : undefined;
  return streamJob(context, request, reply, job, (sse) => {
    const opened = (index: number) => {
      let choice = streamed[index];
      if (choice === undefined) {
        choice = { text: '', logprobs: 0, calls: new StreamedCalls() };
        streamed[index] = choice;
        const opening = shape.opening(envelope, index);
        if (opening !== undefined) sse.send(opening);
      }
      return choice;
    };
    return {
      open: () => opened(0),
      chunk: ({ delta, logprobs: entries, choice: index = 0, toolCall }) => {
        // A node streaming a choice nobody asked for answered another request; its result says so.
        if (index >= count) return;
        const choice = opened(index);
        if (toolCall !== undefined) {
          const piece = kind === 'chat' ? choice.calls.add(toolCall) : undefined;
          if (piece !== undefined) sse.send(shape.toolCalls(envelope, [piece], index));
          return;
        }
        sse.send(shape.delta(envelope, delta, withLogprobs(entries, choice.text.length), index));
        choice.text += delta;
        choice.logprobs += entries?.length ?? 0;
      },
      finish: (run) => {
        for (const [index, answer] of choices.entries()) {
          const choice = opened(index);
          // A node that streamed less than its final text (or nothing at all) still delivers all of it.
          const rest = answer.text.startsWith(choice.text) ? answer.text.slice(choice.text.length) : '';
          const restLogprobs = answer.logprobs?.slice(choice.logprobs) ?? [];
          if (rest !== '' || restLogprobs.length > 0) {
            sse.send(shape.delta(envelope, rest, withLogprobs(restLogprobs, choice.text.length), index));
          }
          const calls = choice.calls.rest(answer.toolCalls ?? []);
          if (calls.length > 0) sse.send(shape.toolCalls(envelope, calls, index));
          sse.send(shape.closing(envelope, answer.finishReason, index));
        }
        if (envelope.includeUsage) sse.send(shape.usage(envelope, run.usage));
        sse.done();
      },
      fail: (error) => sse.fail(toOpenAIError(error)),
    };
  });
}
