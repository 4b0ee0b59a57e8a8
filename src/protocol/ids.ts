import { randomFillSync } from 'node:crypto';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { FatalError } from './errors.ts';
import { keccak256Hex } from './keccak.ts';

/** 32 random bytes as 0x-hex: on-chain job ids, challenge nonces. */
export function randomBytes32(): Hex {
  return `0x${randomFromPool(32).toString('hex')}`;
}

/** A new on-chain job id (bytes32). Random, so ids never collide across routers. */
export function newJobId(): Hex {
  return randomBytes32();
}

/**
 * The id of the n-th attempt (0, 1, ...) of a job: derived, so a receipt's attempt can be traced back to
 * its job and retries of one job never share an id.
 */
export function attemptIdFor(jobId: Hex, attempt: number): Hex {
  if (!Number.isInteger(attempt) || attempt < 0 || attempt > 0xffffffff) {
    throw new FatalError('invalid_request', { message: `attempt must be a uint32, got ${attempt}` });
  }
  if (typeof jobId !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(jobId)) {
    throw new FatalError('invalid_request', { message: 'jobId must be 32 bytes of 0x-hex' });
  }
  // abi.encodePacked(bytes32 jobId, uint32 attempt)
  const packed = Buffer.alloc(36);
  packed.write(jobId.slice(2), 0, 'hex');
  packed.writeUInt32BE(attempt, 32);
  return keccak256Hex(packed);
}

/** Prefixes of ids shown to API clients (OpenAI's own where OpenAI has one). */
export const ID_PREFIXES = {
  job: 'job_',
  chatCompletion: 'chatcmpl-',
  completion: 'cmpl-',
  response: 'resp_',
  /** An item of a response: a message, a function call, a function call's output. */
  responseMessage: 'msg_',
  functionCall: 'fc_',
  functionCallOutput: 'fco_',
  conversation: 'conv_',
  session: 'ses_',
  request: 'req_',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Random bytes drawn from the CSPRNG a few kilobytes at a time: ids are made several times per request.
 * Each byte is handed out once.
 */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

function randomByte(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++] as number;
}

/** `length` (≤ 4096) fresh random bytes; a view of the pool, valid until the next draw. */
function randomFromPool(length: number): Buffer {
  if (poolAt + length > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const bytes = pool.subarray(poolAt, poolAt + length);
  poolAt += length;
  return bytes;
}

/** `length` random base62 characters (unbiased: bytes ≥ 248 are redrawn). 24 chars ≈ 143 bits. */
export function randomBase62(length = 24): string {
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 248) out += BASE62[byte % 62];
  }
  return out;
}

/** A short prefixed id for the API, e.g. `job_3kTMd92jdhsk29dkeLq0zP3x`. */
export function newApiId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}${randomBase62()}`;
}

/** The id's kind when it has one of our prefixes and a well-formed body. */
export function apiIdKind(id: string): IdKind | undefined {
  for (const [kind, prefix] of Object.entries(ID_PREFIXES) as Array<[IdKind, string]>) {
    if (id.startsWith(prefix) && /^[0-9A-Za-z]{24}$/.test(id.slice(prefix.length))) return kind;
  }
  return undefined;
}

/** A node address in its checksummed form; throws `invalid_request` for anything else. */
export function normalizeAddress(value: string): Address {
  if (!isAddress(value, { strict: true })) {
    throw new FatalError('invalid_request', {
      message: `not an address: ${JSON.stringify(value.slice(0, 50))}`,
    });
  }
  return getAddress(value);
}

/** `0x1234…cdef`, for logs and dashboards. */
export function shortAddress(address: Address): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}
