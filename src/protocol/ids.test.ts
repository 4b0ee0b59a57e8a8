import { encodePacked, type Hex, keccak256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { NeurinoError } from './errors.ts';
import {
  apiIdKind,
  attemptIdFor,
  ID_PREFIXES,
  newApiId,
  newJobId,
  normalizeAddress,
  randomBase62,
  randomBytes32,
  shortAddress,
} from './ids.ts';

describe('on-chain ids', () => {
  it('newJobId and randomBytes32 are random bytes32', () => {
    const ids = new Set(Array.from({ length: 100 }, newJobId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^0x[0-9a-f]{64}$/);
    expect(randomBytes32()).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('attemptIdFor is derived: same inputs, same id; each attempt its own', () => {
    const job = newJobId();
    expect(attemptIdFor(job, 0)).toBe(attemptIdFor(job, 0));
    expect(attemptIdFor(job, 0)).not.toBe(attemptIdFor(job, 1));
    expect(attemptIdFor(job, 0)).not.toBe(attemptIdFor(newJobId(), 0));
    expect(attemptIdFor(job, 0xffffffff)).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('attemptIdFor is keccak256(abi.encodePacked(bytes32 jobId, uint32 attempt))', () => {
    for (const attempt of [0, 1, 255, 256, 0xffffffff]) {
      const job = newJobId();
      expect(attemptIdFor(job, attempt)).toBe(keccak256(encodePacked(['bytes32', 'uint32'], [job, attempt])));
      expect(attemptIdFor(job.toUpperCase().replace('0X', '0x') as Hex, attempt)).toBe(
        attemptIdFor(job, attempt),
      );
    }
  });

  it('attemptIdFor refuses attempt numbers outside uint32 and job ids that are not bytes32', () => {
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN])
      expect(() => attemptIdFor(newJobId(), bad)).toThrow(NeurinoError);
    for (const bad of ['0x', `0x${'ab'.repeat(31)}`, `0x${'zz'.repeat(32)}`, 'ab'.repeat(33)])
      expect(() => attemptIdFor(bad as Hex, 0)).toThrow(NeurinoError);
  });
});

describe('API ids', () => {
  it('are prefixed, short and recognisable', () => {
    const id = newApiId('chatCompletion');
    expect(id).toMatch(/^chatcmpl-[0-9A-Za-z]{24}$/);
    expect(apiIdKind(id)).toBe('chatCompletion');
    expect(apiIdKind(newApiId('job'))).toBe('job');
    for (const kind of Object.keys(ID_PREFIXES) as Array<keyof typeof ID_PREFIXES>) {
      expect(apiIdKind(newApiId(kind))).toBe(kind);
    }
  });

  it('apiIdKind refuses foreign and malformed ids', () => {
    for (const bad of [
      '',
      'job_',
      'job_short',
      `job_${'a'.repeat(25)}`,
      `job_${'-'.repeat(24)}`,
      `xyz_${'a'.repeat(24)}`,
    ]) {
      expect(apiIdKind(bad), bad).toBeUndefined();
    }
  });

  it('randomBase62 uses the whole alphabet without bias towards a few characters', () => {
    const text = Array.from({ length: 200 }, () => randomBase62()).join('');
    expect(text).toMatch(/^[0-9A-Za-z]+$/);
    expect(new Set(text).size).toBe(62);
    expect(randomBase62(5)).toHaveLength(5);
  });
});

describe('node addresses', () => {
  it('normalizeAddress returns the checksum form', () => {
    expect(normalizeAddress('0x70997970c51812dc3a010c7d01b50e0d17dc79c8')).toBe(
      '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    );
  });

  it('normalizeAddress refuses bad checksums and junk', () => {
    for (const bad of ['0x70997970C51812dc3A010C7d01b50e0d17dc79c8', '0x1', '', 'vitalik.eth']) {
      expect(() => normalizeAddress(bad), bad).toThrow(NeurinoError);
    }
  });

  it('shortAddress shortens for logs', () => {
    expect(shortAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8')).toBe('0x7099…79C8');
  });
});
