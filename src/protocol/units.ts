import { formatUnits, parseUnits } from 'viem';
import { FatalError } from './errors.ts';

/**
 * Compute units meter a job: GPU time × memory held.
 *
 *     computeUnits = ceil(gpuMs × vramMiB / 1024)        (GPU milliseconds × VRAM GiB)
 *
 * - gpuMs: wall time the pod held the GPU for this job, in milliseconds.
 * - vramMiB: VRAM the pod held, in MiB; on a CPU-only node the RAM it held, so CPU work is metered too.
 * - Rounded up, so any real work costs at least one unit; integer and bigint throughout, so the miner,
 *   the router and the contracts agree to the unit.
 *
 * Price in wei = computeUnits × pricePerUnit (the pod's price, wei per unit).
 */
export const MIB_PER_GIB = 1024n;
export const NEU_DECIMALS = 18;
export const BPS_DENOMINATOR = 10_000n;

export function computeUnits(gpuMs: number | bigint, vramMiB: number | bigint): bigint {
  const product = toUint(gpuMs, 'gpuMs') * toUint(vramMiB, 'vramMiB');
  return (product + MIB_PER_GIB - 1n) / MIB_PER_GIB;
}

/** Wei charged for `units` at `pricePerUnit` wei each. */
export function priceFor(units: bigint, pricePerUnit: bigint): bigint {
  return toUint(units, 'units') * toUint(pricePerUnit, 'pricePerUnit');
}

/**
 * The most a job can cost: the whole timeout on the pod's memory at its price. Reserved from the caller's
 * credits before dispatch and released down to the measured price afterwards.
 */
export function maxPriceFor(job: { timeoutMs: number; vramMiB: number; pricePerUnit: bigint }): bigint {
  return priceFor(computeUnits(job.timeoutMs, job.vramMiB), job.pricePerUnit);
}

/** `bps` basis points of `amount`, rounded down (the remainder stays with whoever takes the rest). */
export function shareOf(amount: bigint, bps: number | bigint): bigint {
  const b = toUint(bps, 'bps');
  if (b > BPS_DENOMINATOR) throw new FatalError('invalid_request', { message: `bps above 10000: ${b}` });
  return (toUint(amount, 'amount') * b) / BPS_DENOMINATOR;
}

/** Wei as NEU for people, e.g. `1.5`. */
export function formatNeu(wei: bigint): string {
  return formatUnits(wei, NEU_DECIMALS);
}

/** NEU as typed by people (`"1.5"`) to wei; throws `invalid_request` on anything that is not a decimal. */
export function parseNeu(neu: string): bigint {
  if (!/^\d{1,60}(\.\d{1,18})?$/.test(neu)) {
    throw new FatalError('invalid_request', {
      message: `not a NEU amount: ${JSON.stringify(neu.slice(0, 80))}`,
    });
  }
  return parseUnits(neu, NEU_DECIMALS);
}

function toUint(value: number | bigint, name: string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n) throw new FatalError('invalid_request', { message: `${name} must not be negative` });
    return value;
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new FatalError('invalid_request', {
      message: `${name} must be a non-negative integer, got ${value}`,
    });
  }
  return BigInt(value);
}
