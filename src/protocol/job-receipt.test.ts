import { maxUint256, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { checkJobResult, type Metering, receiptFor } from './job-receipt.ts';
import type { JobAssign, JobResult } from './messages/jobs.ts';
import { hashReceipt, receiptDigest, resultHash, signReceipt } from './receipt.ts';
import { sampleMessages } from './testing/samples.ts';
import { computeUnits } from './units.ts';

const node = privateKeyToAccount(generatePrivateKey());
const domain = { chainId: 31337, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' } as const;
const assign = sampleMessages().find((m) => m.type === 'job.assign') as JobAssign;

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

describe('checkJobResult', () => {
  it('accepts an honest result and returns its receipt', async () => {
    const checked = await checkJobResult(domain, assign, await finishedResult(), node.address);
    expect(checked.ok && checked.receipt.price).toBe(3000n * assign.pricePerUnit);
  });

  it('returns the receipt hashes it checked, so nobody hashes the receipt again', async () => {
    const checked = await checkJobResult(domain, assign, await finishedResult(), node.address);
    if (!checked.ok) throw checked.error;
    expect(checked.hashes).toEqual({
      structHash: hashReceipt(checked.receipt),
      digest: receiptDigest(domain, checked.receipt),
    });
  });

  it('refuses, as a bad result, a receipt whose price does not fit a uint256', async () => {
    const dear = { ...assign, pricePerUnit: maxUint256 };
    const checked = await checkJobResult(domain, dear, await finishedResult(), node.address);
    expect(!checked.ok && checked.error.code).toBe('bad_result');
    expect(!checked.ok && checked.error.message).toMatch(/receipt cannot be encoded: receipt price/);
  });

  it('refuses a result whose node is the zero address', async () => {
    const checked = await checkJobResult(domain, assign, await finishedResult(), zeroAddress);
    expect(!checked.ok && checked.error.message).toMatch(/not signed by the node/);
  });

  it('refuses a result for another attempt', async () => {
    const checked = await checkJobResult(
      domain,
      assign,
      await finishedResult({ attemptId: `0x${'9'.repeat(64)}` }),
      node.address,
    );
    expect(!checked.ok && checked.error.message).toMatch(/another attempt/);
  });

  it('refuses an output that does not match its hash', async () => {
    const checked = await checkJobResult(
      domain,
      assign,
      await finishedResult({ output: { text: 'Bye' } }),
      node.address,
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
    );
    expect(!checked.ok && checked.error.message).toMatch(/computeUnits/);
  });

  it('refuses a receipt signed by another key or over other numbers', async () => {
    const stranger = privateKeyToAccount(generatePrivateKey());
    expect((await checkJobResult(domain, assign, await finishedResult(), stranger.address)).ok).toBe(false);
    const lied = await finishedResult({ usage: { inputTokens: 5, outputTokens: 200 } });
    const checked = await checkJobResult(domain, assign, lied, node.address);
    expect(!checked.ok && checked.error.message).toMatch(/not signed by the node/);
  });
});
