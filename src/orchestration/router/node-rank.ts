/**
 * Ranking among eligible nodes (whitepaper 2.2.2, after "pod warm" and "referred by the frontend", which
 * the scheduler handles as tiers): most efficient GPU, then most votes, then best uptime. Efficiency
 * comes from a benchmark that varies by a few per cent between runs, so it is compared in 10 % bands:
 * otherwise votes and uptime would never matter. Ties go to the node with more free slots (spreads
 * load), then to the node that joined first (stable order).
 */
export interface NodeRank {
  efficiencyBand: number;
  votes: bigint;
  /** Uptime in whole per cent. */
  uptimeBand: number;
  freeSlots: number;
  joinOrder: number;
}

const BAND_RATIO = Math.log(1.1);

export function efficiencyBand(efficiency: number): number {
  return efficiency > 0 ? Math.floor(Math.log(efficiency) / BAND_RATIO) : Number.MIN_SAFE_INTEGER;
}

export function uptimeBand(uptime: number): number {
  return Math.round(Math.min(1, Math.max(0, uptime)) * 100);
}

/** True when `a` ranks before `b`. */
export function ranksBefore(a: NodeRank, b: NodeRank): boolean {
  if (a.efficiencyBand !== b.efficiencyBand) return a.efficiencyBand > b.efficiencyBand;
  if (a.votes !== b.votes) return a.votes > b.votes;
  if (a.uptimeBand !== b.uptimeBand) return a.uptimeBand > b.uptimeBand;
  if (a.freeSlots !== b.freeSlots) return a.freeSlots > b.freeSlots;
  return a.joinOrder < b.joinOrder;
}
