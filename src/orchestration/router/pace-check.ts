import type { Address, Hex } from 'viem';
import type { JobKind } from '../../protocol/pod-spec.ts';

/** One answered job as the router timed it. */
export interface PaceSample {
  podId: Hex;
  kind: JobKind;
  node: Address;
  /** The efficiency the node announces now. */
  claimed: number;
  inputTokens: number;
  outputTokens: number;
  /** From sending the assignment to receiving the result, on this router's clock. */
  elapsedMs: number;
}

export interface PaceVerdict {
  node: Address;
  /** The efficiency to rank the node by, or undefined when its claim stands. */
  cap: number | undefined;
  /** The cap the previous verdict gave (undefined: the claim stood). */
  previous: number | undefined;
  claimed: number;
  podId: Hex;
  kind: JobKind;
  /** What the node's pace on `podId`'s jobs of `kind` implies, by its peers' ratios. */
  implied: number;
  /** Work per second: tokens written (chat, completion), tokens embedded, or jobs (generic). */
  pace: number;
}

/** A node's timed pace on one pod's jobs of one kind, as operators see it. */
export interface PaceReport {
  podId: Hex;
  kind: JobKind;
  /** Moving average of work per second (tokens written, tokens embedded, or generic jobs). */
  perSecond: number;
  /** Jobs timed (the average weighs the last 16 or so). */
  jobs: number;
}

export interface PaceCheckOptions {
  /** A claim stands unless the pace implies less than claimed / tolerance (default 4). */
  tolerance?: number;
  /** Jobs timed before a node's pace counts, for itself or as a peer (default 8). */
  minSamples?: number;
  /** Fewer tokens say more about the prompt and the hop than about the work (default 16). */
  minTokens?: number;
  /** How long a pod's yardstick is reused before the peers' ratios are read again (default 10 s). */
  refreshMs?: number;
  /** Node-and-pod paces kept at most; the least recently timed go first (default 100,000). */
  maxTracked?: number;
  now?: () => number;
  /** Called once per node, the first time its pace is compared with a peer's (its claim checked). */
  onTimed?: (node: Address) => void;
}

interface Pace {
  samples: number;
  /** Moving average of ln(tokens per second). */
  logPace: number;
  claimed: number;
}

interface Yardstick {
  /** ln(pace / claimed) of every node with enough samples, ascending. */
  sorted: number[];
  /** Each counted node's value in `sorted` when it was read. */
  byNode: Map<Address, number>;
  readAt: number;
}

/** Past this many samples the average moves by 1/WINDOW of each new one. */
const WINDOW = 16;

/**
 * One job moves the average by at most this much (ln 4) over WINDOW: a job stuck behind a stall or a
 * long prompt says little about the node's pace, and a node's real change still shows within ~30 jobs.
 */
const MAX_STEP = Math.log(4);

/** A cap that moves by less than this ratio is not worth a verdict (the ranking's bands are 10 %). */
const NOTEWORTHY = Math.log(1.1);

/**
 * Checks the efficiency a node announces (its own benchmark, which ranks it: node-rank.ts) against the
 * pace at which it serves jobs, as this router times them. A node's pace on a pod's jobs of one kind is its
 * work per second of attempt time (tokens written for chat and completions, tokens embedded, generic jobs
 * done); its peers on the same pod and kind say how much pace a unit of announced
 * efficiency buys there (the lower median of their ratios, the node itself left out: a node cannot move
 * its own yardstick, and is capped only when at least half its peers get several times more pace from
 * each unit they announce). A node whose pace implies less than `1/tolerance` of what it announces is
 * ranked by the implied figure until its pace catches up with its claim: announcing a faster GPU than one
 * has wins no jobs for long. The tolerance absorbs what honestly differs between nodes (load, prompt
 * lengths, GPUs whose FLOP/s and memory bandwidth do not scale together).
 */
export class PaceCheck {
  readonly #tolerance: number;
  readonly #minSamples: number;
  readonly #minTokens: number;
  readonly #refreshMs: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  /** Per track (a pod's jobs of one kind), per node. */
  readonly #paces = new Map<string, Map<Address, Pace>>();
  /** Insertion order is recency of timing, for eviction. */
  readonly #recent = new Map<string, { track: string; node: Address }>();
  readonly #yardsticks = new Map<string, Yardstick>();
  /** Per node, the tracks whose pace caps it, and the cap each implies. */
  readonly #caps = new Map<Address, Map<string, number>>();
  /** Per capped node, the cap its last verdict gave. */
  readonly #given = new Map<Address, number>();
  /** Nodes compared with a peer at least once. */
  readonly #timed = new Set<Address>();
  readonly #onTimed: ((node: Address) => void) | undefined;

  constructor(options: PaceCheckOptions = {}) {
    this.#tolerance = options.tolerance ?? 4;
    this.#minSamples = options.minSamples ?? 8;
    this.#minTokens = options.minTokens ?? 16;
    this.#refreshMs = options.refreshMs ?? 10_000;
    this.#maxTracked = options.maxTracked ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#onTimed = options.onTimed;
  }

  /** Times one finished job; returns a verdict when the node's cap is set, lifted, or moves by 10 % or more. */
  observe(sample: PaceSample): PaceVerdict | undefined {
    const { podId, kind, node, claimed, elapsedMs } = sample;
    const work = this.#workOf(sample);
    if (work === undefined || !(elapsedMs > 0) || !(claimed > 0)) return undefined;
    // Jobs of one kind are compared with each other: an embedding's tokens are far cheaper than an answer's.
    const track = `${podId}:${kind}`;
    const pace = this.#record(track, node, Math.log((work * 1000) / elapsedMs), claimed);
    if (pace.samples < this.#minSamples) return undefined;
    const reference = this.#reference(track, node);
    if (reference === undefined) return undefined;
    if (!this.#timed.has(node)) {
      this.#timed.add(node);
      this.#onTimed?.(node);
    }
    const implied = Math.exp(pace.logPace - reference);
    const cap = implied * this.#tolerance < claimed ? implied : undefined;
    const tracks = this.#caps.get(node) ?? new Map<string, number>();
    if (cap === undefined) tracks.delete(track);
    else tracks.set(track, cap);
    if (tracks.size === 0) this.#caps.delete(node);
    else this.#caps.set(node, tracks);
    const after = this.cap(node);
    const previous = this.#given.get(node);
    if (after === undefined && previous === undefined) return undefined;
    if (after !== undefined && previous !== undefined && Math.abs(Math.log(after / previous)) < NOTEWORTHY) {
      return undefined;
    }
    if (after === undefined) this.#given.delete(node);
    else this.#given.set(node, after);
    return { node, cap: after, previous, claimed, podId, kind, implied, pace: Math.exp(pace.logPace) };
  }

  /** The efficiency this node's paces imply at most, or undefined when its claim stands. */
  cap(node: Address): number | undefined {
    const tracks = this.#caps.get(node);
    if (tracks === undefined) return undefined;
    return Math.min(...tracks.values());
  }

  /** The node's paces, by pod and kind (read on demand: a scan of the pods' tracks). */
  pacesOf(node: Address): PaceReport[] {
    const reports: PaceReport[] = [];
    for (const [track, paces] of this.#paces) {
      const pace = paces.get(node);
      if (pace === undefined) continue;
      const [podId, kind] = track.split(':') as [Hex, JobKind];
      reports.push({ podId, kind, perSecond: Math.exp(pace.logPace), jobs: pace.samples });
    }
    return reports;
  }

  /** What the job did, in the unit its kind is timed by; undefined when too little to time. */
  #workOf(sample: PaceSample): number | undefined {
    if (sample.kind === 'generic') return 1;
    const tokens = sample.kind === 'embeddings' ? sample.inputTokens : sample.outputTokens;
    return tokens >= this.#minTokens ? tokens : undefined;
  }

  #record(track: string, node: Address, logPace: number, claimed: number): Pace {
    let paces = this.#paces.get(track);
    if (paces === undefined) {
      paces = new Map();
      this.#paces.set(track, paces);
    }
    let pace = paces.get(node);
    if (pace === undefined) {
      pace = { samples: 0, logPace, claimed };
      paces.set(node, pace);
    }
    pace.samples++;
    const step = Math.max(-MAX_STEP, Math.min(MAX_STEP, logPace - pace.logPace));
    pace.logPace += step / Math.min(pace.samples, WINDOW);
    pace.claimed = claimed;
    const key = `${track}${node}`;
    this.#recent.delete(key);
    this.#recent.set(key, { track, node });
    if (this.#recent.size > this.#maxTracked) this.#evictOldest();
    return pace;
  }

  #evictOldest(): void {
    const [key, oldest] = this.#recent.entries().next().value as [string, { track: string; node: Address }];
    this.#recent.delete(key);
    const paces = this.#paces.get(oldest.track);
    paces?.delete(oldest.node);
    if (paces?.size === 0) {
      this.#paces.delete(oldest.track);
      this.#yardsticks.delete(oldest.track);
    }
  }

  /** The lower median ln(pace / claimed) of the track's other timed nodes, or undefined when it has none. */
  #reference(track: string, node: Address): number | undefined {
    let yardstick = this.#yardsticks.get(track);
    const own = yardstick?.byNode.get(node);
    const others = yardstick === undefined ? 0 : yardstick.sorted.length - (own === undefined ? 0 : 1);
    // Read again when stale, or when nobody else was timed yet (cheap then): two nodes compare from the start.
    if (yardstick === undefined || others === 0 || this.#now() - yardstick.readAt >= this.#refreshMs) {
      yardstick = this.#read(track);
      this.#yardsticks.set(track, yardstick);
    }
    return lowerMedianWithout(yardstick.sorted, yardstick.byNode.get(node));
  }

  #read(track: string): Yardstick {
    const byNode = new Map<Address, number>();
    for (const [node, pace] of this.#paces.get(track) ?? []) {
      if (pace.samples >= this.#minSamples) byNode.set(node, pace.logPace - Math.log(pace.claimed));
    }
    const sorted = [...byNode.values()].sort((a, b) => a - b);
    return { sorted, byNode, readAt: this.#now() };
  }
}

/**
 * The median of ascending `sorted` with one occurrence of `value` left out (none when it is undefined); of
 * an even count, the lower middle value.
 */
export function lowerMedianWithout(sorted: readonly number[], value: number | undefined): number | undefined {
  const skip = value === undefined ? -1 : indexOf(sorted, value);
  const length = sorted.length - (skip >= 0 ? 1 : 0);
  if (length === 0) return undefined;
  // The k-th value of the list without `skip`, read in place.
  const at = (k: number) => sorted[skip >= 0 && k >= skip ? k + 1 : k] as number;
  return at((length - 1) >> 1);
}

/** An index of `value` in ascending `sorted` (binary search), or -1. */
function indexOf(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const here = sorted[mid] as number;
    if (here === value) return mid;
    if (here < value) low = mid + 1;
    else high = mid - 1;
  }
  return -1;
}
