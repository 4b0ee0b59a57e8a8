// What callers send and models write may hold any character, U+0000 and half surrogate pairs included,
// which PostgreSQL's text and jsonb cannot: a job's request and result are kept as written (json), an error message with the
// character kept visible as U+FFFD, and the job's receipt is stored with the rest, not set aside.
import { describe, expect, it } from 'vitest';
import { newApiId, randomBytes32 } from '../../protocol/ids.ts';
import { signedReceipt } from '../settlement/testing/protocol-fixture.ts';
import { attemptOf, newPayer, useMeteringChain } from './testing/metering-fixture.ts';
import { meteringCombos, meteringSuite } from './testing/metering-suite.ts';

const env = useMeteringChain();
const NUL = 'a\u0000b';
/** Half a surrogate pair: JavaScript strings may hold one, PostgreSQL's text may not. */
const HALF = 'x\ud800y';

describe.each(meteringCombos())('Metering text with U+0000 on $kind with $mode', (combo) => {
  const s = meteringSuite(combo, env.credits);

  it('stores the job as written and its receipt', async () => {
    const payer = newPayer();
    await env.chain.fund(payer, 10_000n);
    const m = (await s.open(`router-text-${combo.journal}`)).metering;
    const request = {
      messages: [
        { role: 'user', content: NUL },
        { role: 'user', content: HALF },
      ],
      [NUL]: 1,
      z: 2,
      a: 3,
    };
    /** A chat job of this request, held. */
    const reserved = async () => {
      const job = { jobId: randomBytes32(), publicId: newApiId('job') };
      const { podId } = env.ctx;
      await m.reserve({
        jobId: job.jobId,
        payer,
        amount: 100n,
        job: { publicId: job.publicId, apiKeyId: 'key_1', podId, kind: 'chat', request },
      });
      return job;
    };
    const paid = await reserved();
    const signed = await signedReceipt(env.ctx.domain, env.ctx.node, {
      jobId: paid.jobId,
      podId: env.ctx.podId,
      payer,
      price: 40n,
    });
    await m.charge({
      jobId: paid.jobId,
      ...signed,
      ending: () => ({
        status: 'succeeded',
        result: { text: NUL + HALF },
        attempts: [attemptOf(signed.receipt)],
      }),
    });
    const refused = await reserved();
    await m.release(refused.jobId, {
      status: 'failed',
      errorCode: 'invalid_request',
      errorMessage: `no such tool: "${NUL}\ud800"`,
    });
    await m.flush();

    expect(m.stats().rejected).toBe(0);
    expect((await s.ledger.receiptsFor({ payer })).map((r) => r.receipt.jobId)).toEqual([paid.jobId]);
    const job = await s.jobs.get(paid.publicId);
    expect(job?.request).toEqual(request);
    // As written: the keys in their order.
    expect(Object.keys(job?.request as object)).toEqual(Object.keys(request));
    expect(job?.result).toEqual({ text: NUL + HALF });
    const failed = await s.jobs.get(refused.publicId);
    expect(failed?.error).toEqual({ code: 'invalid_request', message: 'no such tool: "a\uFFFDb\uFFFD"' });
  });
});
