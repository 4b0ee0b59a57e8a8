import { z } from 'zod';
import { createError, FatalError, type NeurinoError } from './errors.ts';
import {
  MINER_MESSAGE_TYPES,
  type MinerMessage,
  MinerMessageSchema,
  type ProtocolMessage,
  ProtocolMessageSchema,
  ROUTER_MESSAGE_TYPES,
  type RouterMessage,
  RouterMessageSchema,
} from './messages/index.ts';
import { errorFromZod } from './schema-errors.ts';

/** Largest frame either side accepts; set the WebSocket server's `maxPayload` to the same. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Whether an encoded frame is small enough for the peer to take: UTF-8 takes at most three bytes per
 * UTF-16 code unit, so a frame of up to a third of the limit in code units is never counted.
 */
export function fitsInFrame(frame: string, maxBytes = MAX_FRAME_BYTES): boolean {
  return frame.length * 3 <= maxBytes || Buffer.byteLength(frame) <= maxBytes;
}

/** A frame's size for a message: MiB with one decimal. */
export function frameMiB(frame: string): string {
  return `${(Buffer.byteLength(frame) / 1024 / 1024).toFixed(1)} MiB`;
}

export type DecodeResult<M> = { ok: true; message: M } | { ok: false; error: NeurinoError };

export interface DecodeOptions {
  maxBytes?: number;
}

/** What `ws` hands to a 'message' listener, or a plain string. */
export type RawFrame = string | Buffer | ArrayBuffer | Buffer[];

/**
 * One message as a JSON text frame: bigints become decimal strings, everything else is as built. Not
 * checked against the schema here: the types fix what we build, and the receiving side checks every
 * frame (checking our own frames too cost about 0.1 ms per message on the per-job path). Gives the same
 * frame as `checkedEncodeMessage` for any valid message (tested).
 */
export function encodeMessage(message: ProtocolMessage): string {
  return JSON.stringify(message, bigintAsDecimal);
}

/**
 * Like `encodeMessage`, checked against the schema first: throws `schema_violation` when the message is
 * not valid, which is a bug on the sending side, never the peer's doing. For tests and tools.
 */
export function checkedEncodeMessage(message: ProtocolMessage): string {
  const encoded = z.safeEncode(ProtocolMessageSchema, message);
  if (!encoded.success) throw errorFromZod(encoded.error, 'schema_violation');
  return JSON.stringify(encoded.data);
}

function bigintAsDecimal(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Any protocol frame. Never throws: every failure comes back as `{ ok: false, error }`. */
export function decodeMessage(raw: RawFrame, options?: DecodeOptions): DecodeResult<ProtocolMessage> {
  return decodeWith(raw, ProtocolMessageSchema, undefined, options);
}

/** A frame received by the router: only what miners may send. */
export function decodeMinerMessage(raw: RawFrame, options?: DecodeOptions): DecodeResult<MinerMessage> {
  return decodeWith(raw, MinerMessageSchema, { types: MINER_MESSAGE_TYPES, sender: 'miner' }, options);
}

/** A frame received by a miner: only what routers may send. */
export function decodeRouterMessage(raw: RawFrame, options?: DecodeOptions): DecodeResult<RouterMessage> {
  return decodeWith(raw, RouterMessageSchema, { types: ROUTER_MESSAGE_TYPES, sender: 'router' }, options);
}

interface Direction {
  types: ReadonlySet<string>;
  sender: string;
}

const KNOWN_TYPES: ReadonlySet<string> = new Set([...MINER_MESSAGE_TYPES, ...ROUTER_MESSAGE_TYPES]);

function decodeWith<M>(
  raw: RawFrame,
  schema: z.ZodType<M>,
  direction: Direction | undefined,
  options: DecodeOptions | undefined,
): DecodeResult<M> {
  try {
    const maxBytes = options?.maxBytes ?? MAX_FRAME_BYTES;
    const size = byteLength(raw);
    if (size > maxBytes) return fail('frame_too_large', `frame of ${size} bytes exceeds ${maxBytes}`);
    let value: unknown;
    try {
      value = JSON.parse(toText(raw));
    } catch {
      return fail('protocol_error', 'frame is not valid JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return fail('protocol_error', 'frame is not a JSON object');
    }
    const type: unknown = (value as Record<string, unknown>).type;
    if (typeof type !== 'string') return fail('protocol_error', 'frame has no string `type`');
    const shown = JSON.stringify(type.slice(0, 64));
    if (!KNOWN_TYPES.has(type)) return fail('unknown_message_type', `unknown message type ${shown}`);
    if (direction !== undefined && !direction.types.has(type)) {
      return fail('protocol_error', `a ${direction.sender} never sends ${shown}`);
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return { ok: true, message: parsed.data };
    const error = errorFromZod(parsed.error, 'schema_violation');
    return { ok: false, error: createError('schema_violation', withType(error, type)) };
  } catch (cause) {
    // Schemas are not supposed to throw; if one does, the peer still gets a protocol error, not a crash.
    return {
      ok: false,
      error: new FatalError('protocol_error', { message: 'frame could not be decoded', cause }),
    };
  }
}

function withType(error: NeurinoError, type: string) {
  return {
    message: `${type}: ${error.message}`,
    ...(error.param === undefined ? {} : { param: error.param }),
    ...(error.details === undefined ? {} : { details: error.details }),
  };
}

function fail(code: 'frame_too_large' | 'protocol_error' | 'unknown_message_type', message: string) {
  return { ok: false as const, error: new FatalError(code, { message }) };
}

function byteLength(raw: RawFrame): number {
  // UTF-8 never takes fewer bytes than UTF-16 code units, so a long string is refused without counting.
  if (typeof raw === 'string') return raw.length > MAX_FRAME_BYTES * 4 ? raw.length : Buffer.byteLength(raw);
  if (Array.isArray(raw)) return raw.reduce((sum, part) => sum + part.byteLength, 0);
  return raw.byteLength;
}

function toText(raw: RawFrame): string {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}
