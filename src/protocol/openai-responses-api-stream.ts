import type {
  ResponseOutputItem,
  ResponseStreamEvent,
  ResponseTextDeltaEvent,
} from 'openai/resources/responses/responses';
import { newApiId } from './ids.ts';
import type { TokenLogprobOut } from './openai-logprobs.ts';
import type { TokenUsage, ToolCallDeltaOut, ToolCallOut } from './openai-responses.ts';
import { asksResponseLogprobs } from './openai-responses-api.ts';
import {
  functionCallItem,
  messageItem,
  type ResponseAnswer,
  type ResponseEnvelope,
  type ResponseObject,
  type ResponseStatus,
  responseObject,
  statusOf,
} from './openai-responses-api-output.ts';
import { StreamedCalls } from './openai-streamed-calls.ts';

type Distribute<T> = T extends unknown ? Omit<T, 'sequence_number'> : never;

/** Log probabilities as the stream's text events carry them (without bytes, as OpenAI sends them). */
function deltaLogprobs(entries: readonly TokenLogprobOut[]): ResponseTextDeltaEvent.Logprob[] {
  return entries.map(({ token, logprob, top }) => ({
    token,
    logprob,
    top_logprobs: top.map((alt) => ({ token: alt.token, logprob: alt.logprob })),
  }));
}
/** An event before it is numbered. */
export type UnnumberedEvent = Distribute<ResponseStreamEvent>;
/** A numbered event of a response's stream. */
export type ResponseEvent = ResponseStreamEvent;

/** The event that ends a response's stream with the whole response (its end, whatever it was). */
export function isFinalEvent(event: ResponseEvent | undefined): boolean {
  return (
    event?.type === 'response.completed' ||
    event?.type === 'response.incomplete' ||
    event?.type === 'response.failed'
  );
}

/**
 * A response streamed as OpenAI streams one: `response.created` and `response.in_progress`, the message
 * item opened at the first text (its part added, text deltas, then done), each function call as an item
 * added at its first piece, its arguments' deltas, done when the next call begins or the answer ends, and
 * `response.completed` (or `response.incomplete`) with the whole response. Every event is numbered in
 * order (`sequence_number`); the sink frames it as a server-sent event named by its type.
 */
export class ResponseEventWriter {
  #sequence = 0;
  #message: { id: string; text: string; index: number } | undefined;
  #messageDone = false;
  /** The calls' items, by the calls' places: opened at their first piece, done at the next or the end. */
  readonly #callItems: Array<{ id: string; index: number; done: boolean }> = [];
  readonly #calls = new StreamedCalls();
  readonly #output: ResponseOutputItem[] = [];
  /** The streamed text's log probabilities, when asked (else undefined). */
  readonly #logprobs: TokenLogprobOut[] | undefined;

  constructor(
    private readonly envelope: ResponseEnvelope,
    private readonly sink: (event: ResponseStreamEvent) => void,
  ) {
    this.#logprobs = asksResponseLogprobs(envelope.request) ? [] : undefined;
  }

  /** `response.created`, then `response.in_progress` unless it waits for a node first (`queued`). */
  start(status: 'in_progress' | 'queued' = 'in_progress'): void {
    const response = responseObject(this.envelope, status, []);
    this.#send({ type: 'response.created', response: response as never });
    if (status === 'in_progress') this.inProgress();
  }

  /** `response.in_progress`: its job runs on a node. */
  inProgress(): void {
    const response = responseObject(this.envelope, 'in_progress', []);
    this.#send({ type: 'response.in_progress', response: response as never });
  }

  /** A piece of the text, with its tokens' log probabilities when they were asked. */
  text(delta: string, logprobs: readonly TokenLogprobOut[] = []): void {
    if (delta === '' && logprobs.length === 0) return;
    // The text comes before the calls: a node writing more after them answers with its result.
    if (this.#callItems.length > 0) return;
    const message = this.#openMessage();
    message.text += delta;
    this.#logprobs?.push(...logprobs);
    this.#send({
      type: 'response.output_text.delta',
      item_id: message.id,
      output_index: message.index,
      content_index: 0,
      delta,
      logprobs: this.#logprobs === undefined ? [] : deltaLogprobs(logprobs),
    });
  }

  /**
   * A piece of a call as the node streams it: the call's item is added at its first piece (the message,
   * or the call before, done then), its arguments follow as deltas, so a client may run a call while the
   * next one streams.
   */
  toolCall(piece: ToolCallDeltaOut): void {
    const accepted = this.#calls.add(piece);
    if (accepted !== undefined) this.#callPiece(accepted);
  }

  /** A piece of text or of a call, as a node streams it. */
  piece(piece: {
    delta: string;
    logprobs?: readonly TokenLogprobOut[] | undefined;
    toolCall?: ToolCallDeltaOut | undefined;
  }): void {
    if (piece.toolCall !== undefined) this.toolCall(piece.toolCall);
    else this.text(piece.delta, piece.logprobs);
  }

  /**
   * The rest of the answer (text the node had not streamed, its calls); returns the whole response, which
   * `end` sends (the caller may keep it first, so a client that sees the end finds it stored).
   */
  finish(answer: ResponseAnswer, usage: TokenUsage): ResponseObject {
    const status = statusOf(answer);
    const calls = answer.toolCalls ?? [];
    if (!this.#messageDone && answer.text.startsWith(this.#message?.text ?? '')) {
      const rest = answer.logprobs?.slice(this.#logprobs?.length ?? 0) ?? [];
      this.text(answer.text.slice(this.#message?.text.length ?? 0), this.#logprobs === undefined ? [] : rest);
    }
    if (!this.#messageDone && (this.#message !== undefined || calls.length === 0)) this.#closeMessage(status);
    for (const piece of this.#calls.rest(calls)) this.#callPiece(piece);
    for (const [index, call] of calls.entries()) {
      const opened = this.#callItems[index];
      if (opened === undefined) continue;
      if (opened.done) this.#output[opened.index] = functionCallItem(opened.id, call, status);
      else this.#closeCall(opened, call, status);
    }
    // The response holds the result's calls: none a node streamed beyond them.
    const beyond = new Set(this.#callItems.slice(calls.length).map((opened) => opened.index));
    const output = this.#output.filter((_, index) => !beyond.has(index));
    return responseObject(this.envelope, status, output, usage);
  }

  /**
   * Ends the items a failed job left open as `incomplete` (the text and the calls' arguments as streamed
   * so far), so that every item added is done; returns the response's output, for its `response.failed`.
   */
  cut(): ResponseOutputItem[] {
    if (this.#message !== undefined && !this.#messageDone) this.#closeMessage('incomplete');
    for (const [index, opened] of this.#callItems.entries()) {
      const streamed = this.#calls.streamed(index);
      if (!opened.done && streamed !== undefined) this.#closeCall(opened, streamed, 'incomplete');
    }
    return [...this.#output];
  }

  #callPiece(piece: ToolCallDeltaOut): void {
    const { id, name } = piece;
    if (id !== undefined && name !== undefined) {
      if (this.#message !== undefined && !this.#messageDone) this.#closeMessage('completed');
      const before = this.#callItems.at(-1);
      const streamed = this.#calls.streamed(this.#callItems.length - 1);
      if (before !== undefined && !before.done && streamed !== undefined) {
        this.#closeCall(before, streamed, 'completed');
      }
      const opened = { id: newApiId('functionCall'), index: this.#output.length, done: false };
      this.#callItems.push(opened);
      this.#send({
        type: 'response.output_item.added',
        output_index: opened.index,
        item: functionCallItem(opened.id, { id, name, arguments: '' }, 'in_progress'),
      });
    }
    const opened = this.#callItems[piece.index];
    // A call done as streamed takes no more (the result's call stands in the response).
    if (opened === undefined || opened.done || piece.arguments === '') return;
    this.#send({
      type: 'response.function_call_arguments.delta',
      item_id: opened.id,
      output_index: opened.index,
      delta: piece.arguments,
    });
  }

  #closeCall(
    opened: { id: string; index: number; done: boolean },
    call: ToolCallOut,
    status: ResponseStatus,
  ): void {
    const { id, index: output_index } = opened;
    const { name, arguments: args } = call;
    this.#send({
      type: 'response.function_call_arguments.done',
      item_id: id,
      output_index,
      name,
      arguments: args,
    });
    const item = functionCallItem(id, call, status);
    this.#output.push(item);
    opened.done = true;
    this.#send({ type: 'response.output_item.done', output_index, item });
  }

  /**
   * The last event, with the whole response: `response.completed`, `response.incomplete`, or
   * `response.failed` for one that failed or was cancelled (OpenAI's stream has no event of its own for
   * that; the response's status tells).
   */
  end(response: ResponseObject): void {
    const type =
      response.status === 'incomplete'
        ? 'response.incomplete'
        : response.status === 'failed' || response.status === 'cancelled'
          ? 'response.failed'
          : 'response.completed';
    this.#send({ type, response: response as never });
  }

  /**
   * The event that ends a failed stream: OpenAI's `error` event, with the error body too, which is what
   * the SDK throws on.
   */
  error(body: {
    error: { message: string; code: string | null; param: string | null };
  }): ResponseStreamEvent {
    const { message, code, param } = body.error;
    return {
      ...body,
      type: 'error',
      message,
      code,
      param,
      sequence_number: this.#sequence++,
    } as ResponseStreamEvent;
  }

  #openMessage(): { id: string; text: string; index: number } {
    if (this.#message !== undefined) return this.#message;
    const message = { id: newApiId('responseMessage'), text: '', index: this.#output.length };
    this.#message = message;
    this.#send({
      type: 'response.output_item.added',
      output_index: message.index,
      item: messageItem(message.id, undefined, 'in_progress'),
    });
    this.#send({
      type: 'response.content_part.added',
      item_id: message.id,
      output_index: message.index,
      content_index: 0,
      part: { type: 'output_text', text: '', annotations: [] },
    });
    return message;
  }

  #closeMessage(status: ResponseStatus): void {
    const { id, text, index } = this.#openMessage();
    const where = { item_id: id, output_index: index, content_index: 0 };
    const logprobs = this.#logprobs;
    this.#send({
      type: 'response.output_text.done',
      ...where,
      text,
      logprobs: logprobs === undefined ? [] : deltaLogprobs(logprobs),
    });
    const item = messageItem(id, text, status, logprobs);
    this.#messageDone = true;
    this.#send({ type: 'response.content_part.done', ...where, part: item.content[0] as never });
    this.#output.push(item);
    this.#send({ type: 'response.output_item.done', output_index: index, item });
  }

  #send(event: UnnumberedEvent): void {
    this.sink({ ...event, sequence_number: this.#sequence++ } as ResponseStreamEvent);
  }
}
