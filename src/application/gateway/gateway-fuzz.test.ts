// Fuzzing the gateway's HTTP entry points with a real miner on the tiny model behind them: seeded mutations
// of valid requests to every route (bodies, query strings, headers, raw bytes). Whatever comes in, each
// answer is a success or an OpenAI-style error with a registered code and its status, never an internal
// error; a refused or failed request charges nothing and leaves nothing held; and no request's input,
// however odd, gets the node that served it suspended (a caller must not be able to knock nodes out).
// A failure names its seed and case, which replay alone with NEURINO_FUZZ_SEED / NEURINO_FUZZ_CASE.
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { Miner } from '../../compute/miner/miner.ts';
import { startTestMiner, type TinyPod, tinyPod } from '../../compute/miner/testing/miner-fixture.ts';
import { ERROR_CODES, type ErrorCode } from '../../protocol/error-codes.ts';
import { mulberry32 } from '../../protocol/mulberry32.ts';
import { errorCodesIn } from '../testing/api-error.ts';
import type { KnownObjects } from '../testing/gateway-fuzz-bodies.ts';
import { type FuzzRequest, fuzzRequests } from '../testing/gateway-fuzz-requests.ts';
import { type GatewayHarness, minerAccount, startGatewayHarness } from '../testing/gateway-harness.ts';

const CASES = Number(process.env.NEURINO_FUZZ_CASES ?? 1_000);
const VALID_CASES = Number(process.env.NEURINO_FUZZ_VALID_CASES ?? 120);
/** Requests at once in the concurrent run: more than the tiny pod's two slots, within the queue's wait. */
const IN_FLIGHT = 4;
const SEED = Number(process.env.NEURINO_FUZZ_SEED ?? 20261127);
const ONLY = process.env.NEURINO_FUZZ_CASE === undefined ? undefined : Number(process.env.NEURINO_FUZZ_CASE);

const developer = devAccount(7).address;
let pod: TinyPod;
let h: GatewayHarness;
let miner: Miner;
let key: string;
const known: KnownObjects = {
  podId: '0x',
  response: 'resp_none',
  conversation: 'conv_none',
  job: 'job_none',
  item: 'msg_none',
};
const { responseBody, conversationBody, jobBody, mutated, valid } = fuzzRequests(known);

beforeAll(async () => {
  pod = await tinyPod();
  await pod.runtime.load();
  known.podId = pod.podId;
  h = await startGatewayHarness({ specs: [pod.spec], gateway: { bodyLimitBytes: 256 * 1024 } });
  key = await h.key(developer);
  ({ miner } = await startTestMiner(pod, h.wsUrl, { account: minerAccount(0) }));
  await h.nodesAvailable(1);
  const response = await send({ method: 'POST', url: '/v1/responses', body: responseBody() });
  known.response = (response.json() as { id: string }).id;
  const conversation = await send({ method: 'POST', url: '/v1/conversations', body: conversationBody() });
  known.conversation = (conversation.json() as { id: string }).id;
  const items = await send({ method: 'GET', url: `/v1/conversations/${known.conversation}/items` });
  known.item = (items.json() as { data: Array<{ id: string }> }).data[0]?.id ?? known.item;
  const jobRequest: FuzzRequest = { method: 'POST', url: '/v1/jobs', body: jobBody() };
  const job = await send(jobRequest);
  known.job = (job.json() as { id: string }).id;
  await settled(jobRequest, job);
});

afterAll(async () => {
  await miner?.stop();
  await h?.close();
  await pod?.cleanup();
});

function send(request: FuzzRequest) {
  const payload = request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  return h.gateway.app.inject({
    method: request.method,
    url: request.url,
    headers: {
      authorization: `Bearer ${key}`,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...request.headers,
    },
    ...(payload === undefined ? {} : { payload }),
  });
}

const receiptsOf = async (payer: Address) => {
  await h.metering.flush();
  const [row] = await h.store.query<{ n: unknown }>('select count(*) as n from receipts where payer = $1', [
    payer,
  ]);
  return Number(row?.n);
};
const held = () => h.metering.leases.lease(developer)?.held ?? 0n;

/**
 * Waits for a background response or an async job the case started, so its charge is its own; answers
 * how it ended (undefined when the case started none).
 */
async function settled(
  request: FuzzRequest,
  answer: { statusCode: number; json(): unknown },
): Promise<{ status?: unknown; error?: unknown } | undefined> {
  if (request.method !== 'POST' || answer.statusCode >= 300) return undefined;
  let body: { id?: unknown; status?: unknown };
  try {
    body = answer.json() as typeof body;
  } catch {
    return undefined;
  }
  const running = ['queued', 'in_progress', 'running'];
  if (typeof body.id !== 'string' || !running.includes(String(body.status))) return undefined;
  const url = request.url.startsWith('/v1/jobs') ? `/v1/jobs/${body.id}` : `/v1/responses/${body.id}`;
  for (let tries = 0; tries < 400; tries++) {
    const now = (await send({ method: 'GET', url })).json() as { status?: unknown; error?: unknown };
    if (!running.includes(String(now.status))) return now;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${url} did not end`);
}

/** What is wrong with a valid request's answer: refused, ended otherwise than answered, or an error inside. */
function validAnswerProblems(
  request: FuzzRequest,
  answer: { statusCode: number; body: string; headers: Record<string, unknown> },
  ended: { status?: unknown; error?: unknown } | undefined,
): string[] {
  if (answer.statusCode !== 200 && answer.statusCode !== 202) return ['refused'];
  if (ended !== undefined && !['completed', 'incomplete', 'succeeded'].includes(String(ended.status))) {
    return [`ended ${String(ended.status)}: ${JSON.stringify(ended.error)}`];
  }
  const problems: string[] = [];
  const streamed = String(answer.headers['content-type']).startsWith('text/event-stream');
  if (streamed && request.url !== '/v1/responses' && !answer.body.endsWith('data: [DONE]\n\n')) {
    problems.push('no [DONE]');
  }
  if (errorCodesIn(answer.body).length > 0) problems.push('an error in the answer');
  if (!streamed) problems.push(...echoProblems(request, answer.body));
  return problems;
}

/** An echoed completion's choices each begin with their prompt (n per prompt, prompt by prompt). */
function echoProblems(request: FuzzRequest, body: string): string[] {
  const asked = request.body as { echo?: unknown; prompt?: unknown; n?: unknown } | undefined;
  if (request.url !== '/v1/completions' || asked?.echo !== true) return [];
  const given = asked.prompt;
  // Token ids: the node spells them, and its text is what the answer begins with.
  const prompts = (typeof given === 'string' ? [given] : Array.isArray(given) ? given : []).map((p) =>
    typeof p === 'string' ? p : '',
  );
  const n = typeof asked.n === 'number' ? asked.n : 1;
  const { choices } = JSON.parse(body) as { choices: Array<{ index: number; text: string }> };
  return choices.flatMap((choice) =>
    choice.text.startsWith(prompts[Math.floor(choice.index / n)] ?? '')
      ? []
      : [`choice ${choice.index} does not begin with its prompt`],
  );
}

/** What is wrong with an answer: nothing, if it is a success or a registered error that charged nothing. */
async function check(
  answer: { statusCode: number; body: string; headers: Record<string, unknown>; json(): unknown },
  receiptsBefore: number,
): Promise<string[]> {
  const problems: string[] = [];
  if (errorCodesIn(answer.body).includes('internal_error')) problems.push('an internal error');
  if (answer.statusCode >= 400) {
    if (!String(answer.headers['content-type']).startsWith('application/json')) problems.push('not JSON');
    let error: { code?: unknown; message?: unknown } | undefined;
    try {
      error = (answer.json() as { error?: typeof error }).error;
    } catch {}
    const code = typeof error?.code === 'string' ? error.code : '';
    if (!Object.hasOwn(ERROR_CODES, code)) problems.push(`not a registered error code: ${code}`);
    else if (ERROR_CODES[code as ErrorCode].status !== answer.statusCode) {
      problems.push(
        `status ${answer.statusCode} for ${code}, registered as ${ERROR_CODES[code as ErrorCode].status}`,
      );
    }
    if (typeof error?.message !== 'string' || error.message === '') problems.push('no message');
    if ((await receiptsOf(developer)) !== receiptsBefore) problems.push('charged for a refused request');
  } else if (answer.statusCode >= 300) problems.push('a redirect');
  // Everything held for the case was given back once it ended.
  for (let tries = 0; held() !== 0n && tries < 200; tries++) await new Promise((r) => setTimeout(r, 10));
  if (held() !== 0n) problems.push('credits left held');
  const { suspended, available } = h.scheduler.stats();
  if (suspended !== 0 || available !== 1)
    problems.push(`the node was suspended or lost (${suspended}, ${available})`);
  return problems;
}

describe('gateway fuzz', () => {
  it(`answers ${CASES} mutated requests with a success or a registered error, charging only successes`, async () => {
    const random = mulberry32(SEED);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const request = mutated(random);
      if (ONLY !== undefined && i !== ONLY) continue;
      const where = `seed ${SEED} case ${i}: ${request.method} ${request.url} ${JSON.stringify(request.headers ?? {})} ${String(request.raw ?? JSON.stringify(request.body)).slice(0, 400)}`;
      const before = await receiptsOf(developer);
      const answer = await send(request);
      await settled(request, answer);
      const seen = `${where}\n→ ${answer.statusCode} ${answer.body.slice(0, 600)}`;
      statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
      const problems = await check(answer, before);
      for (const problem of problems) failures.push(`${seen}\n${problem}`);
    }
    expect(
      failures.slice(0, Number(process.env.NEURINO_FUZZ_SHOW ?? 5)).join('\n\n'),
      `${failures.length} failing cases`,
    ).toBe('');
    // The fuzz reached past the first checks: some mutated requests ran, most were refused.
    if (ONLY === undefined) {
      const ok = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
      expect(ok, JSON.stringify([...statuses])).toBeGreaterThan(CASES / 10);
      expect(ok, JSON.stringify([...statuses])).toBeLessThan(CASES);
    }
  });

  it(`runs ${VALID_CASES} valid requests combining optional fields, each answered and charged once`, async () => {
    const random = mulberry32(SEED + 1);
    const failures: string[] = [];
    for (let i = 0; i < VALID_CASES; i++) {
      const request = valid(random);
      if (ONLY !== undefined && i !== ONLY) continue;
      const before = await receiptsOf(developer);
      const answer = await send(request);
      const ended = await settled(request, answer);
      const seen = `seed ${SEED + 1} valid case ${i}: ${request.url} ${JSON.stringify(request.body)}\n→ ${answer.statusCode} ${answer.body.slice(0, 600)}`;
      const problems = await check(answer, before);
      const wrong = validAnswerProblems(request, answer, ended);
      problems.push(...wrong);
      if (wrong.length === 0) {
        // One receipt for a job that ran (a background one once it ended).
        const receipts = await receiptsOf(developer);
        const jobs = request.url === '/v1/conversations' ? 0 : 1;
        if (receipts !== before + jobs) problems.push(`${receipts - before} receipts`);
      }
      for (const problem of problems) failures.push(`${seen}\n${problem}`);
    }
    expect(
      failures.slice(0, Number(process.env.NEURINO_FUZZ_SHOW ?? 5)).join('\n\n'),
      `${failures.length} failing cases`,
    ).toBe('');
  });

  it(`runs ${VALID_CASES} valid requests ${IN_FLIGHT} at a time, each job charged once`, async () => {
    const random = mulberry32(SEED + 2);
    const requests = Array.from({ length: VALID_CASES }, () => valid(random));
    const before = await receiptsOf(developer);
    const failures: string[] = [];
    let jobs = 0;
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const request = requests[i] as FuzzRequest;
        const answer = await send(request);
        const ended = await settled(request, answer);
        const seen = `seed ${SEED + 2} concurrent case ${i}: ${request.url} ${JSON.stringify(request.body)}\n→ ${answer.statusCode} ${answer.body.slice(0, 400)}`;
        for (const problem of validAnswerProblems(request, answer, ended))
          failures.push(`${seen}\n${problem}`);
        if (request.url !== '/v1/conversations') jobs++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(failures.slice(0, 5).join('\n\n'), `${failures.length} failing cases`).toBe('');
    // Every job that ran paid once, whatever ran beside it; nothing stays held.
    expect((await receiptsOf(developer)) - before).toBe(jobs);
    for (let tries = 0; held() !== 0n && tries < 200; tries++) await new Promise((r) => setTimeout(r, 10));
    expect(held()).toBe(0n);
  });
});
