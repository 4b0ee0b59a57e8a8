// Token bytes from a GGUF vocabulary of each kind read: SentencePiece's byte tokens and `▁`, GPT-2's
// byte-to-unicode characters; control tokens and other vocabularies have none. The vocabularies here are
// the metadata a model file carries, as node-llama-cpp reads it.
import type { LlamaModel, Token } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { tokenBytesOf } from './llama-token-bytes.ts';

function modelWith(ggml: Record<string, unknown>): LlamaModel {
  return { fileInfo: { metadata: { tokenizer: { ggml } } } } as unknown as LlamaModel;
}

const bytes = (model: LlamaModel, token: number) => {
  const read = tokenBytesOf(model)?.(token as Token);
  return read === undefined ? undefined : [...read];
};

describe('tokenBytesOf', () => {
  it('reads SentencePiece byte tokens and spaces', () => {
    const model = modelWith({
      model: 'llama',
      tokens: ['<s>', '<0xE2>', '\u2581the', 'é'],
      token_type: [3, 6, 1, 1],
    });
    expect(bytes(model, 0)).toBeUndefined();
    expect(bytes(model, 1)).toEqual([0xe2]);
    expect(bytes(model, 2)).toEqual([...Buffer.from(' the')]);
    expect(bytes(model, 3)).toEqual([0xc3, 0xa9]);
  });

  it("reads GPT-2's byte-level characters back to bytes", () => {
    // Ġ stands for the space, Ċ for the newline, âĤ¬ for the three bytes of €.
    const model = modelWith({
      model: 'gpt2',
      tokens: ['\u0120hello', '\u010a', '\u00e2\u0124\u00ac', 'x\u4e00'],
    });
    expect(bytes(model, 0)).toEqual([...Buffer.from(' hello')]);
    expect(bytes(model, 1)).toEqual([10]);
    expect(bytes(model, 2)).toEqual([0xe2, 0x82, 0xac]);
    // A character outside the table: not a byte-level token.
    expect(bytes(model, 3)).toBeUndefined();
  });

  it('reads no other vocabulary, and no token beyond it', () => {
    expect(tokenBytesOf(modelWith({ model: 'bert', tokens: ['a'] }))).toBeUndefined();
    expect(tokenBytesOf(modelWith({ model: 'llama' }))).toBeUndefined();
    expect(bytes(modelWith({ model: 'llama', tokens: ['a'] }), 5)).toBeUndefined();
  });
});
