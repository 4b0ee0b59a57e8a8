import { maxUint256, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  checkJobResult,
  type Metering,
  maxMeteredGpuMs,
  observedAttempt,
  receiptFor,
} from './job-receipt.ts';
import type { JobAssign, JobResult } from './messages/jobs.ts';
import { hashReceipt, receiptDigest, resultHash, signReceipt } from './receipt.ts';
import { sampleMessages } from './testing/samples.ts';
import { computeUnits } from './units.ts';

const node = privateKeyToAccount(generatePrivateKey());
const domain = { chainId: 31337, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' } as const;
const assign = sampleMessages().find((m) => m.type === 'job.assign') as JobAssign;
/** What the router saw of the attempt: it took as long as the node metered, on a node with 2 GiB. */
const observed = { elapsedMs: 1500, memoryMiB: 2048 };

async function finishedResult(overrides: Partial<JobResult> = {}): Promise<JobResult> {
  const output = { text: 'Hello' };
  const metering: Metering = {
    attemptId: assign.attemptId,
    usage: { inputTokens: 5, outputTokens: 2 },
    gpuMs: 1500,
    vramMiB: 2048,
    computeUnits: computeUnits(1500, 2048),
    resultHash: resultHash(output),
    startedAt: 1000,
    finishedAt: 2500,
  };
  const signature = await signReceipt(node, domain, receiptFor(assign, metering, node.address));
  return { type: 'job.result', ...metering, output, signature, ...overrides };
}

describe('receiptFor', () => {
  it('builds the receipt from the assignment and the metering', async () => {
    const result = await finishedResult();
    const receipt = receiptFor(assign, result, node.address);
    expect(receipt).toMatchObject({
      jobId: assign.jobId,
      attemptId: assign.attemptId,
      podId: assign.podId,
      node: node.address,
      frontend: assign.frontend,
      payer: assign.payer,
      computeUnits: 3000n,
      price: 3000n * assign.pricePerUnit,
      inputTokens: 5,
      outputTokens: 2,
    });
  });

  it('uses the zero address when no frontend referred the job', async () => {
    const { frontend: _, ...direct } = assign;
    expect(receiptFor(direct, await finishedResult(), node.address).frontend).toBe(zeroAddress);
  });
});

describe('observedAttempt', () => {
  it('takes the time between sending and the result, and the memory the node announced', () => {
    expect(observedAttempt(100, 150.5, { gpus: [], ramMiB: 8_192 })).toEqual({
      elapsedMs: 50.5,
      memoryMiB: 8_192,
    });
    // A node that announced nothing has no memory to meter: any result from it is refused.
    expect(observedAttempt(100, 101, undefined)).toEqual({ elapsedMs: 1, memoryMiB: 0 });
  });
});

describe('checkJobResult', () => {
  it('accepts an honest result and returns its receipt', async () => {
    const checked = await checkJobResult(domain, assign, await finishedResult(), node.address, observed);
    expect(checked.ok && checked.receipt.price).toBe(3000n * assign.pricePerUnit);
  });

  it('returns the receipt hashes it checked, so nobody hashes the receipt again', async () => {
    const checked = await checkJobResult(domain, assign, await finishedResult(), node.address, observed);
    if (!checked.ok) throw checked.error;
    expect(checked.hashes).toEqual({
      structHash: hashReceipt(checked.receipt),
      digest: receiptDigest(domain, checked.receipt),
    });
  });

  it('refuses, as a bad result, a receipt whose price does not fit a uint256', async () => {
    const dear = { ...assign, pricePerUnit: maxUint256 };
    const checked = await checkJobResult(domain, dear, await finishedResult(), node.address, observed);
    expect(!checked.ok && checked.error.code).toBe('bad_result');
    expect(!checked.ok && checked.error.message).toMatch(/receipt cannot be encoded: receipt price/);
  });

  it('refuses a result whose node is the zero address', async () => {
    const checked = await checkJobResult(domain, assign, await finishedResult(), zeroAddress, observed);
    expect(!checked.ok && checked.error.message).toMatch(/not signed by the node/);
  });

  it('refuses a result for another attempt', async () => {
    const checked = await checkJobResult(
      domain,
      assign,
      await finishedResult({ attemptId: `0x${'9'.repeat(64)}` }),
      node.address,
      observed,
    );
    expect(!checked.ok && checked.error.message).toMatch(/another attempt/);
  });

  it('refuses an output that does not match its hash', async () => {
    const checked = await checkJobResult(
      domain,
      assign,
      await finishedResult({ output: { text: 'Bye' } }),
      node.address,
      observed,
    );
    expect(!checked.ok && checked.error.code).toBe('bad_result');
    expect(!checked.ok && checked.error.retryable).toBe(true);
  });

  it('refuses inflated compute units', async () => {
    const checked = await checkJobResult(
      domain,
      assign,
      await finishedResult({ computeUnits: 999_999n }),
      node.address,
      observed,
    );
    expect(!checked.ok && checked.error.message).toMatch(/computeUnits/);
  });

  it('accepts GPU time up to what the router saw the attempt take, give or take rounding', async () => {
    const justInTime = { ...observed, elapsedMs: 1499.2 };
    expect(maxMeteredGpuMs(1499.2)).toBeGreaterThanOrEqual(1500);
    expect((await checkJobResult(domain, assign, await finishedResult(), node.address, justInTime)).ok).toBe(
      true,
    );
  });

  it('refuses GPU time the attempt did not take: the price follows it', async () => {
    // Signed honestly over its own numbers: only the router's clock tells the 1,500 ms from the truth.
    const quick = { ...observed, elapsedMs: 20 };
    const checked = await checkJobResult(domain, assign, await finishedResult(), node.address, quick);
    expect(!checked.ok && [checked.error.code, checked.error.retryable]).toEqual(['bad_result', true]);
    expect(!checked.ok && checked.error.message).toBe(
      'gpuMs 1500 is more than the attempt took (at most 22 ms as the router saw it)',
    );
  });

  it('refuses more memory than the node announced', async () => {
    const small = { ...observed, memoryMiB: 1024 };
    const checked = await checkJobResult(domain, assign, await finishedResult(), node.address, small);
    expect(!checked.ok && checked.error.message).toBe("vramMiB 2048 is more than the node's 1024 MiB");
  });

  it('refuses a receipt signed by another key or over other numbers', async () => {
    const stranger = privateKeyToAccount(generatePrivateKey());
    expect(
      (await checkJobResult(domain, assign, await finishedResult(), stranger.address, observed)).ok,
    ).toBe(false);
    const lied = await finishedResult({ usage: { inputTokens: 5, outputTokens: 200 } });
    const checked = await checkJobResult(domain, assign, lied, node.address, observed);
    expect(!checked.ok && checked.error.message).toMatch(/not signed by the node/);
  });
});
