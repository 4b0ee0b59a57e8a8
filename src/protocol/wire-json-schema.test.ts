// The published JSON Schemas of the wire protocol (docs/schemas/) are what the decoders accept: the
// committed files match the zod schemas, every frame we send validates with a standard validator (Ajv),
// frames the decoders refuse for their shape are refused too, and docs/wire-protocol.md names every frame.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { decodeMinerMessage, decodeRouterMessage, encodeMessage } from './codec.ts';
import { MINER_MESSAGE_TYPES, ROUTER_MESSAGE_TYPES } from './messages/index.ts';
import { sampleMessages } from './testing/samples.ts';
import { renderJsonSchema, wireJsonSchemas } from './wire-json-schema.ts';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const files = wireJsonSchemas();

function validatorFor(name: string) {
  const file = files.find((f) => f.name === name);
  if (file === undefined) throw new Error(`no schema ${name}`);
  return new Ajv2020({ allErrors: true }).compile(file.schema);
}

const minerFrames = validatorFor('miner-messages.schema.json');
const routerFrames = validatorFor('router-messages.schema.json');

/** Sample frames as they travel, by sender. */
function wireSamples(): { miner: Record<string, unknown>[]; router: Record<string, unknown>[] } {
  const frames = sampleMessages().map((m) => JSON.parse(encodeMessage(m)) as Record<string, unknown>);
  return {
    miner: frames.filter((f) => MINER_MESSAGE_TYPES.has(String(f.type))),
    router: frames.filter((f) => ROUTER_MESSAGE_TYPES.has(String(f.type))),
  };
}

describe('wire protocol JSON Schemas', () => {
  it('are committed as generated (run `npm run gen:protocol` after changing a message)', async () => {
    for (const { name, schema } of files) {
      const committed = await readFile(join(root, 'docs', 'schemas', name), 'utf8');
      expect(committed, name).toBe(renderJsonSchema(schema));
    }
  });

  it('accept every frame we send, each under its sender only', () => {
    const { miner, router } = wireSamples();
    const sampled = new Set([...miner, ...router].map((f) => f.type));
    expect(sampled).toEqual(new Set([...MINER_MESSAGE_TYPES, ...ROUTER_MESSAGE_TYPES]));
    for (const frame of miner) {
      expect(minerFrames(frame), `${frame.type}: ${JSON.stringify(minerFrames.errors)}`).toBe(true);
      expect(routerFrames(frame), String(frame.type)).toBe(false);
    }
    for (const frame of router) {
      expect(routerFrames(frame), `${frame.type}: ${JSON.stringify(routerFrames.errors)}`).toBe(true);
      expect(minerFrames(frame), String(frame.type)).toBe(false);
    }
  });

  it('refuse what the decoders refuse for its shape', () => {
    const { miner } = wireSamples();
    const result = miner.find((f) => f.type === 'job.result');
    const hello = miner.find((f) => f.type === 'hello');
    if (result === undefined || hello === undefined) throw new Error('samples lack job.result or hello');
    const broken: Record<string, unknown>[] = [
      { ...result, signature: '0x1234' },
      { ...result, computeUnits: '0120' },
      { ...result, computeUnits: 120 },
      { ...result, gpuMs: -1 },
      { ...result, usage: { inputTokens: 1 } },
      { ...hello, node: '0xnot-an-address' },
      { ...hello, type: 'hullo' },
      (({ attemptId: _dropped, ...rest }) => rest)(result),
    ];
    for (const frame of broken) {
      const text = JSON.stringify(frame);
      expect(minerFrames(frame), text).toBe(false);
      expect(decodeMinerMessage(text).ok, text).toBe(false);
    }
  });

  it('are looser than the decoders only where JSON Schema cannot say it: an address checksum', () => {
    const { miner, router } = wireSamples();
    const hello = miner.find((f) => f.type === 'hello');
    // Mixed case that is not the EIP-55 checksum of this address.
    const badChecksum = { ...hello, node: '0x70997970c51812dc3A010C7d01b50e0d17dc79C8' };
    expect(minerFrames(badChecksum)).toBe(true);
    expect(decodeMinerMessage(JSON.stringify(badChecksum)).ok).toBe(false);
    // A pod.load whose pod id is not its spec's digest.
    const load = router.find((f) => f.type === 'pod.load');
    const mismatched = { ...load, podId: `0x${'ab'.repeat(32)}` };
    expect(routerFrames(mismatched)).toBe(true);
    expect(decodeRouterMessage(JSON.stringify(mismatched)).ok).toBe(false);
  });

  it('are described frame by frame in docs/wire-protocol.md', async () => {
    const doc = await readFile(join(root, 'docs', 'wire-protocol.md'), 'utf8');
    for (const type of [...MINER_MESSAGE_TYPES, ...ROUTER_MESSAGE_TYPES]) {
      expect(doc, type).toMatch(new RegExp(`^\\| \`${type.replace('.', '\\.')}\` `, 'm'));
    }
  });
});
