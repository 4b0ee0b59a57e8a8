// A streamed piece as `job.chunk` frames: long text cut on code point boundaries, its log probabilities
// with the first frame (more than a frame holds in frames of no text after it).
import { describe, expect, it } from 'vitest';
import { MAX_CHUNK_LOGPROBS } from '../../protocol/messages/jobs.ts';
import type { TokenLogprobOut } from '../../protocol/openai-logprobs.ts';
import { splitChunks } from './job-runner.ts';

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
