// A streamed piece as `job.chunk` frames: long text cut on code point boundaries, its log probabilities
// with the first frame (more than a frame holds in frames of no text after it); a call's piece likewise.
import { describe, expect, it } from 'vitest';
import { MAX_CHUNK_LOGPROBS, type ToolCallDelta } from '../../protocol/messages/jobs.ts';
import type { TokenLogprobOut } from '../../protocol/openai-logprobs.ts';
import { splitCallPiece, splitChunks } from './job-runner.ts';

const entry = (token: string): TokenLogprobOut => ({
  token,
  logprob: -1,
  bytes: [...Buffer.from(token)],
  top: [],
});

function frames(text: string, logprobs?: TokenLogprobOut[], max?: number) {
  const out: Array<{ delta: string; logprobs: number | undefined }> = [];
  splitChunks(text, (delta, entries) => out.push({ delta, logprobs: entries?.length }), logprobs, max);
  return out;
}

describe('splitChunks', () => {
  it('cuts long text without halving a surrogate pair, and sends nothing for nothing', () => {
    expect(frames('abcdef', undefined, 4)).toEqual([
      { delta: 'abcd', logprobs: undefined },
      { delta: 'ef', logprobs: undefined },
    ]);
    expect(frames('abc😀', undefined, 4).map((f) => f.delta)).toEqual(['abc', '😀']);
    expect(frames('')).toEqual([]);
  });

  it('puts the log probabilities on the first frame, and the rest of a long list after it', () => {
    expect(frames('abcdef', [entry('ab'), entry('cdef')], 4)).toEqual([
      { delta: 'abcd', logprobs: 2 },
      { delta: 'ef', logprobs: 0 },
    ]);
    const many = Array.from({ length: MAX_CHUNK_LOGPROBS + 3 }, () => entry(''));
    expect(frames('x', many)).toEqual([
      { delta: 'x', logprobs: MAX_CHUNK_LOGPROBS },
      { delta: '', logprobs: 3 },
    ]);
    // Entries of tokens with no text yet still leave.
    expect(frames('', [entry('')])).toEqual([{ delta: '', logprobs: 1 }]);
  });
});

describe('splitCallPiece', () => {
  const split = (piece: ToolCallDelta, max: number) => {
    const out: ToolCallDelta[] = [];
    splitCallPiece(piece, (part) => out.push(part), max);
    return out;
  };

  it("cuts a call's long arguments, naming the call in the first frame only", () => {
    expect(split({ index: 2, id: 'call_1', name: 'f', arguments: '{"a":12}' }, 4)).toEqual([
      { index: 2, id: 'call_1', name: 'f', arguments: '{"a"' },
      { index: 2, arguments: ':12}' },
    ]);
    expect(split({ index: 0, arguments: 'abcdef' }, 4)).toEqual([
      { index: 0, arguments: 'abcd' },
      { index: 0, arguments: 'ef' },
    ]);
  });

  it('sends the piece that opens a call even when it has no arguments yet', () => {
    expect(split({ index: 0, id: 'call_1', name: 'f', arguments: '' }, 4)).toEqual([
      { index: 0, id: 'call_1', name: 'f', arguments: '' },
    ]);
  });
});
