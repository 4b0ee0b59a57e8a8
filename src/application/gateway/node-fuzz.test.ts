// Fuzzing the router from the nodes' side: three miners that, attempt by attempt, answer honestly or
// misbehave at random (refuse, fail with any code and flag, tamper with or forge their signed result,
// claim more GPU time than they took, replay an earlier result, answer twice, stream and then fail, send
// frames that break their schema, say nothing until cancelled). Whatever they do, each request gets a
// success or a registered error, is charged at most once and only on a result whose receipt its node
// signed, and nothing stays held.
import { getAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import type { JobAssign, JobResult } from '../../protocol/messages/jobs.ts';
import { mulberry32 } from '../../protocol/mulberry32.ts';
import { verifyReceipt } from '../../protocol/receipt.ts';
import { mutate, pick, type Random } from '../../protocol/testing/json-mutation.ts';
import { errorCodesIn } from '../testing/api-error.ts';
import {
  answerText,
  type GatewayHarness,
  startGatewayHarness,
  TEST_DOMAIN,
} from '../testing/gateway-harness.ts';

const CASES = Number(process.env.NEURINO_FUZZ_CASES ?? 300);
const SEED = Number(process.env.NEURINO_FUZZ_SEED ?? 20261127);

const developer = devAccount(8).address;
const stranger = devAccount(19);
let h: GatewayHarness;
let key: string;
let random: Random;
/** Results the nodes sent, for replays. */
const sent: JobResult[] = [];

type Behaviour = (peer: MinerPeer, assign: JobAssign) => Promise<void>;

const usage = { inputTokens: 4, outputTokens: 2 };
const output = (assign: JobAssign) =>
  assign.kind === 'completion'
    ? { choices: [{ text: 'hi', finishReason: 'stop' }] }
    : { text: 'hi', finishReason: 'stop' };

const BEHAVIOURS: Record<string, Behaviour> = {
  honest: (peer, assign) => answerText(peer, assign, ['Hel', 'lo']),
  refuse: async (peer, assign) => peer.fail(assign, 'invalid_request', 'the node says no', false),
  failAnyhow: async (peer, assign) =>
    peer.fail(
      assign,
      pick(random, ['node_failed', 'internal_error', 'made_up', 'no_capacity', 'pod_load_failed']),
      'x',
      random() < 0.5,
    ),
  tamper: async (peer, assign) => {
    peer.accept(assign);
    sent.push(
      await peer.result(assign, output(assign), {
        usage,
        gpuMs: 1,
        tamper: (r) => ({ ...r, output: { text: 'changed', finishReason: 'stop' } }),
      }),
    );
  },
  forge: async (peer, assign) => {
    peer.accept(assign);
    sent.push(await peer.result(assign, output(assign), { usage, gpuMs: 1, signer: stranger }));
  },
  overclaim: async (peer, assign) => {
    peer.accept(assign);
    sent.push(await peer.result(assign, output(assign), { usage, gpuMs: 3_600_000 }));
  },
  garbageOutput: async (peer, assign) => {
    peer.accept(assign);
    sent.push(await peer.result(assign, mutate(output(assign), random), { usage, gpuMs: 1 }));
  },
  replay: async (peer, assign) => {
    const old = sent.at(-1 - Math.floor(random() * Math.min(sent.length, 5)));
    if (old !== undefined) peer.send(old);
    // The replay ends nothing: the attempt fails after it.
    peer.fail(assign, 'node_failed', 'after a replay', true);
  },
  twice: async (peer, assign) => {
    peer.accept(assign);
    const result = await peer.result(assign, output(assign), { usage, gpuMs: 1 });
    sent.push(result);
    peer.send(result);
  },
  streamThenFail: async (peer, assign) => {
    peer.accept(assign);
    peer.chunk(assign, 0, 'partial ');
    peer.fail(assign, 'node_failed', 'lost it', true);
  },
  // Says nothing until the router gives up on it (not acknowledged in time) and cancels it; then, as a
  // real miner, reports the cancelled attempt's end, which frees its slot.
  silent: async (peer, assign) => {
    await peer.next('job.cancel', (cancel) => cancel.attemptId === assign.attemptId);
    peer.fail(assign, 'job_cancelled', 'cancelled by the router', false);
  },
  badFrame: async (peer, assign) => {
    peer.sendRaw(JSON.stringify({ type: 'job.result', attemptId: assign.attemptId, output: 5 }));
    peer.fail(assign, 'node_failed', 'after a bad frame', true);
  },
};
const NAMES = Object.keys(BEHAVIOURS);
const chosen: string[] = [];

beforeAll(async () => {
  random = mulberry32(SEED);
  // Suspensions short enough that the three nodes keep coming back within the run.
  h = await startGatewayHarness({ suspendMs: 20, acceptTimeoutMs: 150 });
  key = await h.key(developer);
  for (const i of [0, 1, 2]) {
    await h.peer(i, async (peer, assign) => {
      // Honest half of the time, so that jobs also succeed after misbehaving attempts.
      const name = random() < 0.5 ? 'honest' : pick(random, NAMES);
      chosen.push(name);
      await (BEHAVIOURS[name] as Behaviour)(peer, assign);
    });
  }
});

afterAll(async () => {
  await h?.close();
});

const receipts = async () => {
  await h.metering.flush();
  return h.ledger.receiptsFor({ payer: developer });
};

describe('node fuzz', () => {
  it(`answers ${CASES} requests to misbehaving nodes correctly, charging only signed work, once`, async () => {
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      const stream = random() < 0.3;
      const url = random() < 0.8 ? '/v1/chat/completions' : '/v1/completions';
      const body =
        url === '/v1/completions'
          ? { model: 'test-llm', prompt: 'x', stream }
          : { model: 'test-llm', messages: [{ role: 'user', content: 'x' }], stream };
      const before = (await receipts()).length;
      const from = chosen.length;
      const answer = await h.gateway.app.inject({
        method: 'POST',
        url,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'x-neurino-max-retries': '3',
        },
        payload: JSON.stringify(body),
      });
      const seen = `seed ${SEED} case ${i}: ${url}${stream ? ' streamed' : ''} nodes did ${chosen.slice(from).join(', ')}\n→ ${answer.statusCode} ${answer.body.slice(0, 300)}`;
      statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
      const codes = errorCodesIn(answer.body);
      const after = (await receipts()).length;
      if (codes.includes('internal_error')) failures.push(`${seen}\nan internal error`);
      for (const code of codes)
        if (!Object.hasOwn(ERROR_CODES, code)) failures.push(`${seen}\nunregistered ${code}`);
      if (after - before > 1) failures.push(`${seen}\ncharged ${after - before} times`);
      if (answer.statusCode >= 400 && after !== before)
        failures.push(`${seen}\ncharged for a failed request`);
      if (answer.statusCode === 200 && !stream && after !== before + 1)
        failures.push(`${seen}\nanswered unpaid`);
      for (let tries = 0; (h.metering.leases.lease(developer)?.held ?? 0n) !== 0n && tries < 200; tries++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      if ((h.metering.leases.lease(developer)?.held ?? 0n) !== 0n)
        failures.push(`${seen}\ncredits left held`);
    }
    expect(failures.slice(0, 5).join('\n\n'), `${failures.length} failing cases`).toBe('');
    // Every charge rests on a receipt its node signed, one per job.
    const stored = await receipts();
    const jobs = new Set(stored.map((r) => r.receipt.jobId));
    expect(jobs.size).toBe(stored.length);
    for (const { receipt, nodeSignature } of stored) {
      expect(await verifyReceipt(TEST_DOMAIN, receipt, nodeSignature, getAddress(receipt.node))).toBe(true);
    }
    expect(stored.length, JSON.stringify([...statuses])).toBeGreaterThan(CASES / 3);
    expect(stored.length, JSON.stringify([...statuses])).toBeLessThan(CASES);
    expect(new Set(chosen)).toEqual(new Set(NAMES));
  });
});
