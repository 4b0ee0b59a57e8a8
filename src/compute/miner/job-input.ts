// A job's input checked against the OpenAI schema of its kind (src/protocol/openai.ts) and turned into
// the pod runtime's requests. The router checked it too; a miner checks again because it trusts no peer.
import { FatalError, type NeurinoError } from '../../protocol/errors.ts';
import {
  chatLogprobsFields,
  choiceSeed,
  choicesOf,
  completionEchoField,
  completionLogprobsFields,
  completionSuffixField,
  inputsOf,
  parseChatCompletionRequest,
  parseCompletionRequest,
  parseEmbeddingRequest,
  podMessages,
  samplingFields,
} from '../../protocol/openai.ts';
import { podResponseFormat } from '../../protocol/openai-features.ts';
import { podTools } from '../../protocol/openai-tools.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import type { ChatRequest, CompletionRequest, EmbeddingRequest } from '../pods/types.ts';

export type JobWork =
  /** One request per choice (`n` of them), each with its own seed when the caller gave one. */
  | { kind: 'chat'; requests: ChatRequest[]; n: number }
  /** One request per choice of each prompt (`n` each), prompt by prompt. */
  | { kind: 'completion'; requests: CompletionRequest[]; n: number }
  | { kind: 'embeddings'; request: EmbeddingRequest; dimensions?: number };

export type JobInputResult = { ok: true; work: JobWork } | { ok: false; error: NeurinoError };

/** Streamed or not (the assignment's flag), the same work: every choice of every prompt streams. */
export function jobWork(kind: JobKind, input: unknown): JobInputResult {
  switch (kind) {
    case 'chat': {
      const parsed = parseChatCompletionRequest(input);
      if (!parsed.ok) return parsed;
      const n = choicesOf(parsed.value);
      const format = podResponseFormat(parsed.value.response_format);
      const request = {
        ...samplingFields(parsed.value),
        ...chatLogprobsFields(parsed.value),
        messages: podMessages(parsed.value.messages),
        ...(format === undefined ? {} : { response_format: format }),
        ...podTools(parsed.value),
        ...(parsed.value.truncation === 'auto' ? { truncation: 'auto' as const } : {}),
      };
      return { ok: true, work: { kind, requests: perChoice(request, parsed.value), n } };
    }
    case 'completion': {
      const parsed = parseCompletionRequest(input);
      if (!parsed.ok) return parsed;
      const prompts = inputsOf(parsed.value.prompt);
      const n = choicesOf(parsed.value);
      const shared = {
        ...samplingFields(parsed.value),
        ...completionLogprobsFields(parsed.value),
        ...completionSuffixField(parsed.value),
      };
      // A prompt's first choice scores it when echo asks (its choices share it).
      const echo = completionEchoField(parsed.value);
      const requests = prompts.flatMap((prompt) =>
        perChoice({ ...shared, prompt }, parsed.value).map((request, choice) =>
          choice === 0 ? { ...request, ...echo } : request,
        ),
      );
      return { ok: true, work: { kind, requests, n } };
    }
    case 'embeddings': {
      const parsed = parseEmbeddingRequest(input);
      if (!parsed.ok) return parsed;
      const { input: texts, dimensions, model } = parsed.value;
      return {
        ok: true,
        work: {
          kind,
          request: {
            input: texts,
            ...(model === undefined ? {} : { model }),
            ...(dimensions === undefined ? {} : { dimensions }),
          },
          ...(dimensions === undefined ? {} : { dimensions }),
        },
      };
    }
    case 'generic':
      return refuse(
        'unsupported_parameter',
        undefined,
        'LLM pods run chat, completion and embeddings jobs only',
      );
  }
}

/** `request` once per choice the caller asked for, seeded apart when it is seeded. */
function perChoice<R extends { seed?: number }>(
  request: R,
  asked: { n?: number | null | undefined; seed?: number | null | undefined },
): R[] {
  return Array.from({ length: choicesOf(asked) }, (_, choice) => {
    const seed = choiceSeed(asked.seed, choice);
    return seed === undefined ? request : { ...request, seed };
  });
}

function refuse(code: 'unsupported_parameter', param: string | undefined, message: string): JobInputResult {
  return { ok: false, error: new FatalError(code, { message, ...(param === undefined ? {} : { param }) }) };
}
