import type { Address, Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import { lowerMedianWithout, PaceCheck, type PaceCheckOptions, type PaceVerdict } from './pace-check.ts';

const honest = devAccount(10).address;
const other = devAccount(11).address;
const liar = devAccount(12).address;
const podA: Hex = `0x${'aa'.repeat(32)}`;
const podB: Hex = `0x${'bb'.repeat(32)}`;

/** `jobs` jobs of `tokens` output tokens at `tokensPerSecond`; the verdicts they gave. */
function serve(
  check: PaceCheck,
  node: Address,
  claimed: number,
  tokensPerSecond: number,
  { jobs = 8, podId = podA, tokens = 64, kind = 'chat' as JobKind } = {},
): PaceVerdict[] {
  const verdicts: PaceVerdict[] = [];
  const work = kind === 'generic' ? 1 : tokens;
  for (let i = 0; i < jobs; i++) {
    const elapsedMs = (work / tokensPerSecond) * 1000;
    const [inputTokens, outputTokens] = kind === 'embeddings' ? [tokens, 0] : [3, tokens];
    const verdict = check.observe({ podId, kind, node, claimed, inputTokens, outputTokens, elapsedMs });
    if (verdict !== undefined) verdicts.push(verdict);
  }
  return verdicts;
}

const check = (options: PaceCheckOptions = {}) => new PaceCheck({ refreshMs: 0, ...options });

describe('PaceCheck', () => {
  it('lets claims stand while paces follow them', () => {
    const pace = check();
    expect(serve(pace, honest, 100, 50)).toEqual([]);
    expect(serve(pace, other, 200, 100)).toEqual([]);
    // Three times faster a claim than the pace shows is within the default tolerance of 4.
    expect(serve(pace, liar, 300, 50)).toEqual([]);
    expect(pace.cap(liar)).toBeUndefined();
    // What operators see of it: the pace per pod and kind, and the jobs timed.
    serve(pace, honest, 100, 2_000, { kind: 'embeddings', podId: podB, jobs: 2 });
    expect(pace.pacesOf(honest)).toEqual([
      { podId: podA, kind: 'chat', perSecond: expect.closeTo(50, 6), jobs: 8 },
      { podId: podB, kind: 'embeddings', perSecond: expect.closeTo(2_000, 6), jobs: 2 },
    ]);
    expect(pace.pacesOf(devAccount(19).address)).toEqual([]);
  });

  it('times embeddings by the tokens embedded and generic jobs by the job, each kind against its own', () => {
    const pace = check();
    serve(pace, honest, 100, 50);
    // Embeddings run a hundred times more tokens a second than answers: their own yardstick, no cap.
    serve(pace, honest, 100, 5_000, { kind: 'embeddings' });
    expect(serve(pace, other, 100, 5_000, { kind: 'embeddings' })).toEqual([]);
    expect(serve(pace, liar, 1_000, 5_000, { kind: 'embeddings' })[0]).toMatchObject({
      kind: 'embeddings',
      cap: expect.closeTo(100, 6),
    });
    // A short embedding input says little: not timed.
    const short = check();
    serve(short, honest, 100, 5_000, { kind: 'embeddings' });
    expect(serve(short, liar, 1_000, 5_000, { kind: 'embeddings', tokens: 15, jobs: 20 })).toEqual([]);
    // Generic jobs (a proof of one circuit, say) by the job, whatever their tokens.
    const jobs = check();
    serve(jobs, honest, 100, 2, { kind: 'generic', tokens: 0 });
    expect(serve(jobs, liar, 1_000, 2, { kind: 'generic', tokens: 0 })[0]).toMatchObject({
      kind: 'generic',
      cap: expect.closeTo(100, 6),
      pace: expect.closeTo(2, 6),
    });
  });

  it('lets a few stalled jobs move a timed pace by a little only', () => {
    const pace = check();
    serve(pace, honest, 100, 50);
    serve(pace, other, 100, 50);
    // Four jobs a hundred times slower (a stall): taken whole they would put its pace below a quarter.
    expect(serve(pace, honest, 100, 0.5, { jobs: 4 })).toEqual([]);
    expect(pace.cap(honest)).toBeUndefined();
  });

  it('ranks a node that announces far more than its pace by what the pace implies', () => {
    const pace = check();
    serve(pace, honest, 100, 50);
    const verdicts = serve(pace, liar, 1_000, 50);
    // At its eighth job the liar is timed enough: its peer's 0.5 tokens/s per unit puts it at 100.
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ node: liar, claimed: 1_000, podId: podA });
    expect(verdicts[0]?.cap).toBeCloseTo(100, 6);
    expect(verdicts[0]?.pace).toBeCloseTo(50, 6);
    expect(pace.cap(liar)).toBeCloseTo(100, 6);
    // The honest node is measured against the liar's low ratio, not its own: it stays uncapped.
    expect(serve(pace, honest, 100, 50)).toEqual([]);
    expect(pace.cap(honest)).toBeUndefined();
    // Its pace wavering by a few per cent gives no further verdicts; falling by half does.
    expect(serve(pace, liar, 1_000, 48, { jobs: 16 })).toEqual([]);
    const moved = serve(pace, liar, 1_000, 20, { jobs: 16 });
    expect(moved[0]).toMatchObject({ previous: expect.closeTo(100, 6) });
    expect(moved[0]?.cap).toBeLessThan(100 / 1.1);
  });

  it('needs a timed peer on the same pod, enough jobs, and answers long enough to time', () => {
    const pace = check();
    expect(serve(pace, liar, 1_000, 50, { jobs: 50 })).toEqual([]);
    serve(pace, honest, 100, 50, { podId: podB });
    expect(serve(pace, liar, 1_000, 50, { jobs: 50 })).toEqual([]);
    serve(pace, honest, 100, 50, { jobs: 7 });
    expect(serve(pace, liar, 1_000, 50)).toEqual([]);
    const short = check();
    serve(short, honest, 100, 50);
    expect(serve(short, liar, 1_000, 50, { tokens: 15, jobs: 20 })).toEqual([]);
    expect(serve(short, liar, 1_000, 50, { tokens: 16 })).toHaveLength(1);
  });

  it('takes the median of the peers, so one odd peer does not move the yardstick', () => {
    const pace = check();
    serve(pace, honest, 100, 50);
    serve(pace, other, 100, 50);
    // A node that under-claims (its ratio far above the others) does not make the honest ones look slow:
    // of two peers, the lower ratio is the yardstick.
    const modest = devAccount(13).address;
    serve(pace, modest, 1, 50);
    expect(pace.cap(honest)).toBeUndefined();
    expect(serve(pace, honest, 100, 50)).toEqual([]);
    expect(serve(pace, liar, 1_000, 50)[0]?.cap).toBeCloseTo(100, 6);
  });

  it('lifts the cap once the pace keeps up with the claim again', () => {
    const pace = check();
    serve(pace, honest, 100, 50);
    serve(pace, liar, 1_000, 50);
    expect(pace.cap(liar)).toBeDefined();
    // Reconnected with an honest claim: the next timed job lifts the cap.
    const lifted = serve(pace, liar, 120, 50, { jobs: 1 });
    expect(lifted).toEqual([expect.objectContaining({ node: liar, cap: undefined, claimed: 120 })]);
    expect(pace.cap(liar)).toBeUndefined();
    // Or a pace that rises to what it claims (moving average, so it takes some jobs).
    serve(pace, liar, 1_000, 50, { jobs: 1 });
    expect(pace.cap(liar)).toBeDefined();
    expect(serve(pace, liar, 1_000, 500, { jobs: 40 }).at(-1)).toMatchObject({ cap: undefined });
  });

  it('caps by the lowest figure any pod implies, and lifts pod by pod', () => {
    const pace = check();
    serve(pace, honest, 100, 50);
    serve(pace, honest, 100, 20, { podId: podB });
    serve(pace, liar, 1_000, 50);
    const onB = serve(pace, liar, 1_000, 4, { podId: podB });
    expect(onB[0]?.cap).toBeCloseTo(20, 6);
    expect(pace.cap(liar)).toBeCloseTo(20, 6);
    // Pod A alone still caps it at 100 once pod B's pace catches up.
    const caughtUp = serve(pace, liar, 1_000, 200, { podId: podB, jobs: 40 });
    expect(caughtUp.at(-1)?.cap).toBeCloseTo(100, 6);
  });

  it('reads the peers again only when its yardstick is stale', () => {
    let now = 0;
    const pace = new PaceCheck({ refreshMs: 10_000, now: () => now });
    serve(pace, honest, 100, 50);
    serve(pace, other, 100, 50);
    now += 10_000;
    expect(serve(pace, liar, 1_000, 5)[0]?.cap).toBeCloseTo(10, 6);
    // The honest peers slow down tenfold; the liar is still judged by the ratios read before.
    serve(pace, honest, 100, 5, { jobs: 40 });
    serve(pace, other, 100, 5, { jobs: 40 });
    expect(serve(pace, liar, 1_000, 5, { jobs: 1 })).toEqual([]);
    now += 10_000;
    // Read again: the peers' moving averages are near 5 tokens/s for 100 now, so the liar's 5 imply ~84.
    const cap = serve(pace, liar, 1_000, 5, { jobs: 1 })[0]?.cap;
    expect(cap).toBeGreaterThan(80);
    expect(cap).toBeLessThan(100);
  });

  it('ignores what cannot be timed, and forgets the least recently timed past its bound', () => {
    const pace = check({ maxTracked: 2 });
    const sample = { podId: podA, kind: 'chat' as const, node: honest, inputTokens: 3, outputTokens: 64 };
    expect(pace.observe({ ...sample, claimed: 0, elapsedMs: 10 })).toBe(undefined);
    expect(pace.observe({ ...sample, claimed: 1, elapsedMs: 0 })).toBe(undefined);
    serve(pace, honest, 100, 50);
    serve(pace, other, 100, 50, { podId: podB });
    serve(pace, liar, 1_000, 50, { podId: podB, jobs: 1 });
    // The honest node's pace on pod A was forgotten: nothing to compare the liar with there.
    expect(serve(pace, liar, 1_000, 50)).toEqual([]);
  });
});

describe('lowerMedianWithout', () => {
  it('reads the (lower) median of a sorted list with one value left out, in place', () => {
    expect(lowerMedianWithout([], undefined)).toBeUndefined();
    expect(lowerMedianWithout([1], 1)).toBeUndefined();
    expect(lowerMedianWithout([1, 2, 3], undefined)).toBe(2);
    expect(lowerMedianWithout([1, 2, 3, 4], undefined)).toBe(2);
    expect(lowerMedianWithout([1, 2, 3], 1)).toBe(2);
    expect(lowerMedianWithout([1, 2, 3], 3)).toBe(1);
    expect(lowerMedianWithout([1, 2, 3], 2)).toBe(1);
    expect(lowerMedianWithout([1, 2, 3, 10], 10)).toBe(2);
    expect(lowerMedianWithout([1, 2, 2, 9], 2)).toBe(2);
    // A value not in the list leaves it whole.
    expect(lowerMedianWithout([1, 2, 3], 7)).toBe(2);
  });
});
