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
import type { PromptTokenLogprobOut, TokenLogprobOut } from '../../../protocol/openai-logprobs.ts';
import { type EchoedPrompt, unixSeconds } from '../../../protocol/openai-responses.ts';
import { StreamedCalls } from '../../../protocol/openai-streamed-calls.ts';
import type { Result } from '../../../protocol/schema-errors.ts';
import { principalOf } from '../auth.ts';
import { clientGoneSignal, type GatewayContext, headerBudget, parsedOrThrow } from '../context.ts';
import { type CompletionAnswer, chatInput, completionInput } from '../pod-input.ts';
import { modelFor } from '../pod-lookup.ts';
import { checkChoiceCount, checkLogprobs, type GenerationChoice, generationOutput } from '../pod-output.ts';
import { streamJob } from '../streamed-job.ts';
import { chatShape, completionShape, type Envelope, type GenerationShape } from './generation-shapes.ts';

interface Endpoint<R extends ChatCompletionRequest | CompletionRequest> {
  kind: 'chat' | 'completion';
  shape: GenerationShape;
  parse(body: unknown): Result<R>;
  /**
   * The node's input, how many choices it must answer, whether with log probabilities, and what the
   * answer makes of them (a completion's best_of and echo).
   */
  input(request: R): {
    input: unknown;
    count: number;
    nodeLogprobs: boolean;
    answer?: CompletionAnswer | undefined;
  };
}

const chat: Endpoint<ChatCompletionRequest> = {
  kind: 'chat',
  shape: chatShape,
  parse: parseChatCompletionRequest,
  input: (request) => ({ ...chatInput(request), nodeLogprobs: asksLogprobs(request) }),
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
  const { input, count, nodeLogprobs, answer } = endpoint.input(body);
  const stream = body.stream === true;
  const logprobs = asksLogprobs(body);
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
      answer?.check(choices);
    },
  };

  if (!stream) {
    const run = await (await context.runner.start({ ...job, stream: false })).done;
    return shape.whole(envelope, answer?.choices(choices) ?? choices, run.usage);
  }

  // Per choice, what was streamed of it: its text (after the prompt it echoes), how many of its log
  // probabilities, its calls.
  const streamed: Array<
    { echoed: number; text: string; logprobs: number; calls: StreamedCalls } | undefined
  > = [];
  const withLogprobs = (entries: readonly TokenLogprobOut[] | undefined, offset: number) =>
    logprobs ? { entries: entries ?? [], offset } : undefined;
  // Echo: each prompt's entries (with logprobs) and, for token ids, its text, streamed by the node before
  // its first choice's text.
  const promptParts = new Map<number, { text: string; entries: PromptTokenLogprobOut[] }>();
  const echoOf = answer?.echoOf;
  const groupOf = (index: number) => answer?.promptOf(index) ?? 0;
  return streamJob(context, request, reply, job, (sse) => {
    const opened = (index: number, echoed?: EchoedPrompt) => {
      let choice = streamed[index];
      if (choice === undefined) {
        const parts = promptParts.get(groupOf(index));
        const prompt =
          echoOf === undefined ? undefined : (echoed?.text ?? echoOf(index) ?? parts?.text ?? '');
        choice = { echoed: prompt?.length ?? 0, text: '', logprobs: 0, calls: new StreamedCalls() };
        streamed[index] = choice;
        const opening = shape.opening(envelope, index);
        if (opening !== undefined) sse.send(opening);
        if (prompt !== undefined) {
          const entries = echoed?.logprobs ?? parts?.entries ?? [];
          sse.send(shape.echo(envelope, prompt, logprobs ? entries : undefined, index));
        }
      }
      return choice;
    };
    return {
      // An echoed choice opens with its prompt, whose entries may still be on their way.
      open: () => (echoOf === undefined ? opened(0) : undefined),
      chunk: ({ delta, logprobs: entries, choice: index = 0, toolCall, promptLogprobs, promptText }) => {
        // A node streaming a choice nobody asked for answered another request; its result says so.
        if (index >= count) return;
        if (promptLogprobs !== undefined || promptText !== undefined) {
          // Held until the choice's first text: a long prompt comes in several chunks.
          if (echoOf !== undefined && streamed[index] === undefined) {
            const parts = promptParts.get(groupOf(index)) ?? { text: '', entries: [] };
            parts.text += promptText ?? '';
            parts.entries.push(...(promptLogprobs ?? []));
            promptParts.set(groupOf(index), parts);
          }
          return;
        }
        const choice = opened(index);
        if (toolCall !== undefined) {
          const piece = kind === 'chat' ? choice.calls.add(toolCall) : undefined;
          if (piece !== undefined) sse.send(shape.toolCalls(envelope, [piece], index));
          return;
        }
        const offset = choice.echoed + choice.text.length;
        sse.send(shape.delta(envelope, delta, withLogprobs(entries, offset), index));
        choice.text += delta;
        choice.logprobs += entries?.length ?? 0;
      },
      finish: (run) => {
        for (const [index, answered] of (answer?.choices(choices) ?? choices).entries()) {
          const choice = opened(index, answered.echo);
          // A node that streamed less than its final text (or nothing at all) still delivers all of it.
          const rest = answered.text.startsWith(choice.text) ? answered.text.slice(choice.text.length) : '';
          const restLogprobs = answered.logprobs?.slice(choice.logprobs) ?? [];
          if (rest !== '' || restLogprobs.length > 0) {
            const offset = choice.echoed + choice.text.length;
            sse.send(shape.delta(envelope, rest, withLogprobs(restLogprobs, offset), index));
          }
          const calls = choice.calls.rest(answered.toolCalls ?? []);
          if (calls.length > 0) sse.send(shape.toolCalls(envelope, calls, index));
          sse.send(shape.closing(envelope, answered.finishReason, index));
        }
        if (envelope.includeUsage) sse.send(shape.usage(envelope, run.usage));
        sse.done();
      },
      fail: (error) => sse.fail(toOpenAIError(error)),
    };
  });
}
