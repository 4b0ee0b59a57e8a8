import { describe, expect, it } from 'vitest';
import { promptAffinityKey } from './prompt-affinity-key.ts';

const system = { role: 'system', content: 'Be brief.' };
const question = { role: 'user', content: 'Which GPU?' };

describe('promptAffinityKey', () => {
  it("is the same for every turn of a conversation: its leading messages through the first user's", () => {
    const first = promptAffinityKey({ messages: [system, question] });
    const later = promptAffinityKey({
      messages: [
        system,
        question,
        { role: 'assistant', content: 'A100.' },
        { role: 'user', content: 'Why?' },
      ],
    });
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(later).toBe(first);
  });

  it('differs for another system prompt or another opening question', () => {
    const key = promptAffinityKey({ messages: [system, question] });
    expect(promptAffinityKey({ messages: [{ ...system, content: 'Be long.' }, question] })).not.toBe(key);
    expect(promptAffinityKey({ messages: [system, { ...question, content: 'How much?' }] })).not.toBe(key);
    expect(promptAffinityKey({ messages: [question] })).not.toBe(key);
  });

  it('has none for what is not a chat', () => {
    for (const input of [undefined, null, 'x', { prompt: 'x' }, { messages: [] }, { messages: 'x' }]) {
      expect(promptAffinityKey(input)).toBeUndefined();
    }
  });
});
