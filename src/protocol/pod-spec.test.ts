import { keccak256, sha256, stringToBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NeurinoError } from './errors.ts';
import { canonicalPodSpec, PodSpecSchema, parsePodSpec, podId, podSpecDigest } from './pod-spec.ts';
import { samplePodSpec } from './testing/samples.ts';

const wire = () => z.encode(PodSpecSchema, samplePodSpec()) as Record<string, unknown>;

describe('PodSpec', () => {
  it('parses its wire form back to the same spec', () => {
    const parsed = parsePodSpec(JSON.parse(JSON.stringify(wire())));
    expect(parsed).toEqual({ ok: true, value: samplePodSpec() });
  });

  it('accepts each runtime', () => {
    for (const runtime of ['llama-cpp', 'openai-upstream', 'snarkjs-groth16', 'process']) {
      expect(parsePodSpec({ ...wire(), runtime }).ok, runtime).toBe(true);
    }
  });

  it('refuses bad fields with their path', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ runtime: 'docker' }, 'runtime'],
      [{ name: '' }, 'name'],
      [{ name: '-leading-dash' }, 'name'],
      [{ name: 'x'.repeat(129) }, 'name'],
      [{ kinds: [] }, 'kinds'],
      [{ kinds: ['chat', 'chat'] }, 'kinds'],
      [{ kinds: ['images'] }, 'kinds[0]'],
      [{ artifact: { uri: 'file://x', sha256: 'ABC' } }, 'artifact.sha256'],
      [{ artifact: { uri: '', sha256: 'e3'.repeat(32) } }, 'artifact.uri'],
      [{ minVramMiB: -1 }, 'minVramMiB'],
      [{ minVramMiB: 1.5 }, 'minVramMiB'],
      [{ pricePerUnit: 1000 }, 'pricePerUnit'],
      [{ pricePerUnit: '-1' }, 'pricePerUnit'],
      [{ deployerShareBps: 10_001 }, 'deployerShareBps'],
      [{ autoscale: { min: 5, max: 2 } }, 'autoscale.min'],
      [{ autoscale: { min: 0, max: 0 } }, 'autoscale.max'],
      [{ autoscale: { min: 0, max: 5000 } }, 'autoscale.max'],
      [{ validation: { method: 'vibes' } }, 'validation.method'],
      [{ validation: { method: 'reexecute' }, deterministic: false }, 'validation.method'],
      [{ validation: { method: 'reexecute', tolerance: -1 }, deterministic: true }, 'validation.tolerance'],
      [{ software: { cuda: '' } }, 'software.cuda'],
      [
        { options: { command: { deep: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) } } },
        'options.command',
      ],
    ];
    for (const [change, path] of cases) {
      const parsed = parsePodSpec({ ...wire(), ...change });
      expect(parsed.ok, path).toBe(false);
      if (!parsed.ok) expect(parsed.error.param, JSON.stringify(change)).toBe(path);
    }
  });

  it('refuses unknown fields so the digest is unambiguous', () => {
    const parsed = parsePodSpec({ ...wire(), gpuVendor: 'nvidia' });
    expect(!parsed.ok && parsed.error.message).toMatch(/gpuVendor/);
    expect(parsePodSpec({ ...wire(), artifact: { uri: 'x', sha256: 'e3'.repeat(32), size: 1 } }).ok).toBe(
      false,
    );
  });

  it('refuses what is not an object', () => {
    for (const value of [null, 'spec', [], 5]) expect(parsePodSpec(value).ok).toBe(false);
  });
});

describe('podSpecDigest and podId', () => {
  it('are sha256 of the canonical JSON and keccak256 of that digest', () => {
    const spec = samplePodSpec();
    const canonical = canonicalPodSpec(spec);
    expect(canonical.startsWith('{"artifact":')).toBe(true);
    expect(canonical).toContain('"pricePerUnit":"1000000000"');
    expect(podSpecDigest(spec)).toBe(sha256(stringToBytes(canonical)));
    expect(podId(spec)).toBe(keccak256(podSpecDigest(spec)));
  });

  it('do not depend on key order, and change with any field', () => {
    const spec = samplePodSpec();
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as typeof spec;
    expect(podId(reordered)).toBe(podId(spec));
    expect(podId(samplePodSpec({ pricePerUnit: spec.pricePerUnit + 1n }))).not.toBe(podId(spec));
    expect(podId(samplePodSpec({ name: 'other' }))).not.toBe(podId(spec));
  });

  it('refuse to digest an invalid spec', () => {
    expect(() => podSpecDigest(samplePodSpec({ deployerShareBps: 20_000 }))).toThrow(NeurinoError);
    expect(() => podSpecDigest(samplePodSpec({ deployerShareBps: 20_000 }))).toThrow(/deployerShareBps/);
  });
});
