import { describe, expect, it } from 'vitest';
import {
  checkedEncodeMessage,
  decodeMessage,
  decodeMinerMessage,
  decodeRouterMessage,
  encodeMessage,
  MAX_FRAME_BYTES,
} from './codec.ts';
import { NeurinoError } from './errors.ts';
import { MINER_MESSAGE_TYPES, type ProtocolMessage, ROUTER_MESSAGE_TYPES } from './messages/index.ts';
import { mulberry32 } from './mulberry32.ts';
import { sampleMessages } from './testing/samples.ts';

function wire(message: ProtocolMessage): Record<string, unknown> {
  return JSON.parse(encodeMessage(message));
}

function decodeError(raw: string | Buffer) {
  const result = decodeMessage(raw);
  if (result.ok) throw new Error(`expected a failure for ${String(raw).slice(0, 100)}`);
  return result.error;
}

describe('encodeMessage / decodeMessage', () => {
  it('covers every message type with a sample', () => {
    const types = new Set(sampleMessages().map((m) => m.type));
    expect(types).toEqual(new Set([...MINER_MESSAGE_TYPES, ...ROUTER_MESSAGE_TYPES]));
  });

  it('round-trips every message type', () => {
    for (const message of sampleMessages()) {
      const result = decodeMessage(encodeMessage(message));
      expect(result, message.type).toEqual({ ok: true, message });
    }
  });

  it('carries bigints as decimal strings on the wire', () => {
    const assign = sampleMessages().find((m) => m.type === 'job.assign');
    expect(wire(assign as ProtocolMessage).pricePerUnit).toBe('1000000000');
  });

  it('decodes Buffer, ArrayBuffer and fragmented Buffer[] frames as ws delivers them', () => {
    const message = sampleMessages()[0] as ProtocolMessage;
    const text = encodeMessage(message);
    const buffer = Buffer.from(text);
    const arrayBuffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
    for (const raw of [buffer, arrayBuffer, [buffer.subarray(0, 10), buffer.subarray(10)]]) {
      expect(decodeMessage(raw)).toEqual({ ok: true, message });
    }
  });

  it('normalises hex from the wire', () => {
    const hello = wire(sampleMessages()[0] as ProtocolMessage);
    const result = decodeMessage(JSON.stringify({ ...hello, node: String(hello.node).toLowerCase() }));
    expect(result.ok && result.message.type === 'hello' && result.message.node).toBe(
      '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    );
  });

  it('ignores unknown fields from newer peers', () => {
    const heartbeat = { type: 'heartbeat', at: 1, slotsFree: 0, load: 0, gpuTempC: 71 };
    const result = decodeMessage(JSON.stringify(heartbeat));
    expect(result).toEqual({ ok: true, message: { type: 'heartbeat', at: 1, slotsFree: 0, load: 0 } });
  });

  it('checked, throws schema_violation when asked to encode an invalid message (our own bug)', () => {
    const bad = { type: 'heartbeat', at: -1, slotsFree: 0, load: 0 } as ProtocolMessage;
    expect(() => checkedEncodeMessage(bad)).toThrow(NeurinoError);
    try {
      checkedEncodeMessage(bad);
    } catch (error) {
      expect((error as NeurinoError).code).toBe('schema_violation');
      expect((error as NeurinoError).param).toBe('at');
    }
    // Unchecked, the same bug never gets past the receiving side.
    const received = decodeMessage(encodeMessage(bad));
    expect(received.ok ? undefined : received.error.code).toBe('schema_violation');
  });

  it('encodes every valid message exactly as the checked encoder does', () => {
    for (const message of sampleMessages()) {
      const fast = encodeMessage(message);
      const checked = checkedEncodeMessage(message);
      expect(JSON.parse(fast), message.type).toEqual(JSON.parse(checked));
      expect(decodeMessage(fast)).toEqual(decodeMessage(checked));
    }
  });
});

describe('decodeMessage refuses bad frames with a clear error', () => {
  it('not JSON', () => {
    const error = decodeError('{"type":');
    expect(error.code).toBe('protocol_error');
    expect(error.message).toMatch(/not valid JSON/);
  });

  it('JSON that is not an object', () => {
    for (const raw of ['[]', '1', 'null', '"hello"', 'true'])
      expect(decodeError(raw).code).toBe('protocol_error');
  });

  it('no type or a non-string type', () => {
    expect(decodeError('{}').message).toMatch(/no string `type`/);
    expect(decodeError('{"type":5}').code).toBe('protocol_error');
  });

  it('an unknown type, quoted and truncated', () => {
    const error = decodeError(JSON.stringify({ type: `x${'y'.repeat(10_000)}` }));
    expect(error.code).toBe('unknown_message_type');
    expect(error.message.length).toBeLessThan(120);
    expect(decodeError('{"type":"__proto__"}').code).toBe('unknown_message_type');
    expect(decodeError('{"type":"toString"}').code).toBe('unknown_message_type');
  });

  it('a schema failure, naming the message type and the field path', () => {
    const capabilities = wire(sampleMessages().find((m) => m.type === 'capabilities') as ProtocolMessage);
    const gpus = [{ name: 'A100', vramMiB: -1 }];
    const error = decodeError(JSON.stringify({ ...capabilities, gpus }));
    expect(error.code).toBe('schema_violation');
    expect(error.param).toBe('gpus[0].vramMiB');
    expect(error.message).toMatch(/^capabilities: gpus\[0\]\.vramMiB: /);
    expect(error.retryable).toBe(false);
  });

  it('free slots above total', () => {
    const capabilities = wire(sampleMessages().find((m) => m.type === 'capabilities') as ProtocolMessage);
    const error = decodeError(JSON.stringify({ ...capabilities, slots: { total: 1, free: 2 } }));
    expect(error.param).toBe('slots.free');
  });

  it('a result that finishes before it starts', () => {
    const result = wire(sampleMessages().find((m) => m.type === 'job.result') as ProtocolMessage);
    expect(decodeError(JSON.stringify({ ...result, finishedAt: 0 })).param).toBe('finishedAt');
  });

  it('a streamed embeddings job', () => {
    const assign = wire(sampleMessages().find((m) => m.type === 'job.assign') as ProtocolMessage);
    expect(decodeError(JSON.stringify({ ...assign, kind: 'embeddings', stream: true })).param).toBe('stream');
  });

  it('a job input nested too deep to hash safely', () => {
    const assign = wire(sampleMessages().find((m) => m.type === 'job.assign') as ProtocolMessage);
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const frame = JSON.stringify({ ...assign, input: 'DEEP' }).replace('"DEEP"', deep);
    expect(decodeError(frame).param).toBe('input');
  });

  it('a pod.load whose id does not match its spec', () => {
    const load = wire(sampleMessages().find((m) => m.type === 'pod.load') as ProtocolMessage);
    const error = decodeError(JSON.stringify({ ...load, podId: `0x${'0'.repeat(64)}` }));
    expect(error.param).toBe('podId');
    expect(error.message).toMatch(/does not match the spec/);
  });

  it('a result without its output says the output is missing, not too deep', () => {
    const result = wire(sampleMessages().find((m) => m.type === 'job.result') as ProtocolMessage);
    const { output: _missing, ...rest } = result as Record<string, unknown>;
    const error = decodeError(JSON.stringify(rest));
    expect(error.param).toBe('output');
    expect(error.message).toBe('job.result: output: required');
    const deep = decodeError(
      JSON.stringify({ ...result, output: { x: Number.MAX_VALUE } }).replace(
        '1.7976931348623157e+308',
        '1e999',
      ),
    );
    expect(deep.message).toMatch(/finite numbers/);
  });

  it('a job error naming a field longer than a request path can be', () => {
    const error = wire(sampleMessages().find((m) => m.type === 'job.error') as ProtocolMessage);
    expect(decodeError(JSON.stringify({ ...error, param: 'x'.repeat(257) })).param).toBe('param');
  });

  it("a chunk mixing text and a call's piece, or a call's later piece naming it", () => {
    const chunk = { type: 'job.chunk', attemptId: `0x${'1'.repeat(64)}`, seq: 0, delta: '' };
    const first = { index: 0, id: 'call_1', name: 'get_weather', arguments: '' };
    expect(decodeMessage(JSON.stringify({ ...chunk, toolCall: first })).ok).toBe(true);
    expect(decodeError(JSON.stringify({ ...chunk, delta: 'x', toolCall: first })).param).toBe('toolCall');
    const unnamed = { index: 0, id: 'call_1', arguments: 'x' };
    expect(decodeError(JSON.stringify({ ...chunk, toolCall: unnamed })).param).toBe('toolCall.name');
    const badName = { ...first, name: 'no spaces' };
    expect(decodeError(JSON.stringify({ ...chunk, toolCall: badName })).param).toBe('toolCall.name');
    expect(decodeError(JSON.stringify({ ...chunk, toolCall: { index: 128, arguments: '' } })).param).toBe(
      'toolCall.index',
    );
  });

  it("a chunk of a prompt's log probabilities carrying anything else, or a first entry half-scored", () => {
    const chunk = { type: 'job.chunk', attemptId: `0x${'1'.repeat(64)}`, seq: 0, delta: '' };
    const unscored = { token: 'a', logprob: null, bytes: [97], top: null };
    const scored = { token: 'b', logprob: -1, bytes: [98], top: [] };
    const promptLogprobs = [unscored, scored];
    expect(decodeMessage(JSON.stringify({ ...chunk, promptLogprobs })).ok).toBe(true);
    expect(decodeError(JSON.stringify({ ...chunk, delta: 'x', promptLogprobs })).param).toBe(
      'promptLogprobs',
    );
    expect(decodeError(JSON.stringify({ ...chunk, logprobs: [scored], promptLogprobs })).param).toBe(
      'promptLogprobs',
    );
    expect(decodeError(JSON.stringify({ ...chunk, promptLogprobs: [] })).param).toBe('promptLogprobs');
    const halfScored = { ...unscored, top: [] };
    expect(decodeMessage(JSON.stringify({ ...chunk, promptLogprobs: [halfScored] })).ok).toBe(false);
    // An answer's own entries are always scored.
    expect(decodeMessage(JSON.stringify({ ...chunk, delta: 'a', logprobs: [unscored] })).ok).toBe(false);
  });

  it('oversized strings and arrays', () => {
    const chunk = { type: 'job.chunk', attemptId: `0x${'1'.repeat(64)}`, seq: 0, delta: 'x'.repeat(70_000) };
    expect(decodeError(JSON.stringify(chunk)).param).toBe('delta');
    const capabilities = wire(sampleMessages().find((m) => m.type === 'capabilities') as ProtocolMessage);
    const warmPods = Array.from({ length: 300 }, () => `0x${'2'.repeat(64)}`);
    expect(decodeError(JSON.stringify({ ...capabilities, warmPods })).param).toBe('warmPods');
  });

  it('frames above the size limit, before parsing them', () => {
    const big = JSON.stringify({ type: 'job.chunk', delta: 'x'.repeat(200) });
    const result = decodeMessage(big, { maxBytes: 100 });
    expect(!result.ok && result.error.code).toBe('frame_too_large');
    const huge = Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20);
    expect(decodeError(huge).code).toBe('frame_too_large');
  });

  it('counts bytes, not characters', () => {
    const text = JSON.stringify({ type: 'heartbeat', pad: '€'.repeat(40) });
    expect(text.length).toBeLessThan(100);
    const result = decodeMessage(text, { maxBytes: 100 });
    expect(!result.ok && result.error.code).toBe('frame_too_large');
  });
});

describe('direction', () => {
  it('a router accepts only what miners send', () => {
    const assign = sampleMessages().find((m) => m.type === 'job.assign') as ProtocolMessage;
    const result = decodeMinerMessage(encodeMessage(assign));
    expect(!result.ok && result.error.code).toBe('protocol_error');
    expect(!result.ok && result.error.message).toMatch(/a miner never sends "job.assign"/);
    const hello = sampleMessages()[0] as ProtocolMessage;
    expect(decodeMinerMessage(encodeMessage(hello)).ok).toBe(true);
  });

  it('a miner accepts only what routers send', () => {
    const result = decodeRouterMessage(encodeMessage(sampleMessages()[0] as ProtocolMessage));
    expect(!result.ok && result.error.code).toBe('protocol_error');
    const assign = sampleMessages().find((m) => m.type === 'job.assign') as ProtocolMessage;
    expect(decodeRouterMessage(encodeMessage(assign)).ok).toBe(true);
  });

  it('every type belongs to exactly one direction', () => {
    for (const type of MINER_MESSAGE_TYPES) expect(ROUTER_MESSAGE_TYPES.has(type), type).toBe(false);
  });
});

describe('fuzz: decoding never throws', () => {
  const samples = sampleMessages().map(wire);
  const junk: unknown[] = [
    null,
    true,
    -1,
    1e308,
    0.5,
    '',
    'x'.repeat(300),
    '0x',
    [],
    {},
    [1, [2]],
    { __proto__: 1 },
    '__proto__',
    -0,
  ];

  function mutate(value: unknown, random: () => number, depth = 0): unknown {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    if (depth > 4 || random() < 0.3) return pick(junk);
    if (Array.isArray(value)) {
      const copy = value.map((v) => (random() < 0.3 ? mutate(v, random, depth + 1) : v));
      if (random() < 0.2) copy.push(pick(junk));
      return random() < 0.1 ? [] : copy;
    }
    if (value !== null && typeof value === 'object') {
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const keys = Object.keys(copy);
      for (const key of keys) {
        const roll = random();
        if (roll < 0.15) delete copy[key];
        else if (roll < 0.45) copy[key] = mutate(copy[key], random, depth + 1);
      }
      if (random() < 0.1) copy[pick(['type', 'extra', '__proto__', 'constructor'])] = pick(junk);
      return copy;
    }
    return pick(junk);
  }

  it('survives structured mutations of valid messages', () => {
    const random = mulberry32(1234);
    let accepted = 0;
    for (let i = 0; i < 4000; i++) {
      const base = samples[i % samples.length] as Record<string, unknown>;
      const frame = JSON.stringify({ ...(mutate(base, random) as object), type: base.type });
      const result = decodeMessage(frame);
      if (result.ok) accepted++;
      else {
        expect(result.error).toBeInstanceOf(NeurinoError);
        expect(['schema_violation', 'protocol_error', 'unknown_message_type']).toContain(result.error.code);
      }
      expect(decodeMinerMessage(frame).ok || decodeRouterMessage(frame).ok).toBe(result.ok);
    }
    // Mutations sometimes only touch optional or extra fields; most break the message.
    expect(accepted).toBeLessThan(4000);
  });

  it('survives random bytes and truncated frames', () => {
    const random = mulberry32(99);
    const encoded = sampleMessages().map(encodeMessage);
    for (let i = 0; i < 3000; i++) {
      const text = encoded[i % encoded.length] as string;
      const cut = text.slice(0, Math.floor(random() * text.length));
      const bytes = Buffer.from(
        Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)),
      );
      for (const raw of [cut, bytes, Buffer.concat([Buffer.from(cut), bytes])]) {
        const result = decodeMessage(raw);
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(result.error).toBeInstanceOf(NeurinoError);
      }
    }
  });
});
