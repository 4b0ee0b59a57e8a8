// Leaving out the oldest messages to fit a context: the system messages and the last message stay, a tool
// result never without its call, and the fewest are left out.
import { describe, expect, it } from 'vitest';
import { answerRoom, fitToContext, withoutOldest } from './message-truncation.ts';
import type { NormalizedMessage } from './types.ts';

const m = (role: NormalizedMessage['role'], content: string): NormalizedMessage => ({ role, content });
const conversation = [
  m('system', 'S'),
  m('user', 'u1'),
  { ...m('assistant', ''), toolCalls: [{ id: 'c1', name: 'f', arguments: '{}' }] },
  { ...m('tool', 'r1'), toolCallId: 'c1' },
  m('assistant', 'a1'),
  m('user', 'u2'),
];
const contents = (messages: readonly NormalizedMessage[]) => messages.map((x) => x.content);
/** One token per character, as a stand-in tokenizer. */
const length = (messages: readonly NormalizedMessage[]) =>
  messages.reduce((n, x) => n + x.content.length + 1, 0);

describe('message truncation', () => {
  it('leaves out the oldest after the system messages, and a tool result with its call', () => {
    expect(contents(withoutOldest(conversation, 1))).toEqual(['S', '', 'r1', 'a1', 'u2']);
    expect(contents(withoutOldest(conversation, 2))).toEqual(['S', 'a1', 'u2']);
    expect(contents(withoutOldest(conversation, 0))).toEqual(contents(conversation));
  });

  it('leaves out the fewest that make room, never the last message', () => {
    // Whole: 2+3+1+3+3+3 = 15 tokens.
    expect(fitToContext(conversation, length, 5, 20)).toMatchObject({ truncated: 0 });
    const cut = fitToContext(conversation, length, 5, 14);
    expect(contents(cut.messages)).toEqual(['S', 'a1', 'u2']);
    expect(cut.truncated).toBe(3);
    const most = fitToContext(conversation, length, 5, 6);
    expect(contents(most.messages)).toEqual(['S', 'u2']);
    expect(most.truncated).toBe(4);
    expect(fitToContext([m('user', 'long')], length, 5, 3)).toMatchObject({ truncated: 0 });
  });

  it('gives an answer the room it may use, within a quarter to half the context', () => {
    expect(answerRoom(undefined, 1024)).toBe(256);
    expect(answerRoom(100, 1024)).toBe(100);
    expect(answerRoom(4096, 1024)).toBe(512);
  });
});
