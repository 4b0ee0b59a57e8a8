import type { Hex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { devAccount } from '../../chain/dev-accounts.ts';
import type { NeurinoError } from '../../protocol/errors.ts';
import { attemptIdFor } from '../../protocol/ids.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { captureLogger } from '../../protocol/testing/capture-logger.ts';
import { SAMPLE_PAYER } from '../../protocol/testing/samples.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { MinerHub, type MinerHubOptions } from './miner-hub.ts';
import { CLOSE_CODES } from './miner-socket.ts';
import { allowlistNodeAdmission } from './node-admission.ts';
import type { AttemptListener } from './session-events.ts';
import { MinerPeer, type MinerPeerOptions, testCapabilities } from './testing/miner-peer.ts';
import { waitFor } from './testing/wait-for.ts';
import { serveMinerHub } from './testing/ws-loopback.ts';

const domain = { chainId: 31337, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' } as const;
const [minerA, minerB, stranger] = [devAccount(10), devAccount(11), devAccount(12)];
const podId: Hex = `0x${'ab'.repeat(32)}`;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startHub(options: Partial<MinerHubOptions> = {}) {
  const { logger, lines } = captureLogger();
  const hub = new MinerHub({
    routerId: 'router-test',
    domain,
    admission: allowlistNodeAdmission([minerA.address, minerB.address]),
    logger,
    heartbeatMs: 5_000,
    readmitEveryMs: 0,
    ...options,
  });
  const endpoint = await serveMinerHub(hub);
  const peers: MinerPeer[] = [];
  cleanups.push(async () => {
    for (const peer of peers) peer.terminate();
    await hub.close({ graceMs: 0 });
    await endpoint.close();
  });
  const options_ = (account = minerA, extra: Partial<MinerPeerOptions> = {}) => ({
    url: endpoint.url,
    account,
    domain,
    ...extra,
  });
  return {
    hub,
    lines,
    open: async (account = minerA, extra: Partial<MinerPeerOptions> = {}) => {
      const peer = await MinerPeer.open(options_(account, extra));
      peers.push(peer);
      return peer;
    },
    join: async (account = minerA, capabilities = testCapabilities()) => {
      const peer = await MinerPeer.join(options_(account), capabilities);
      peers.push(peer);
      await waitFor(() => hub.session(account.address)?.capabilities !== undefined, 'capabilities');
      return peer;
    },
  };
}

function assignment(attempt = 0): JobAssign {
  const jobId: Hex = `0x${'12'.repeat(32)}`;
  return {
    type: 'job.assign',
    jobId,
    attemptId: attemptIdFor(jobId, attempt),
    podId,
    kind: 'chat',
    input: { messages: [] },
    stream: false,
    deadlineAt: Date.now() + 60_000,
    payer: SAMPLE_PAYER,
    pricePerUnit: 1n,
  };
}

/** An attempt listener that resolves `failed` with the error the session reports. */
function attemptListener() {
  let fail: (error: NeurinoError) => void = () => {};
  const failed = new Promise<NeurinoError>((resolve) => {
    fail = resolve;
  });
  const listener: AttemptListener = {
    accepted: () => {},
    chunk: () => {},
    result: () => {},
    failed: (e) => fail(e),
  };
  return { listener, failed };
}

describe('MinerHub handshake', () => {
  it('admits a miner that signs the challenge, then takes its capabilities', async () => {
    const { hub, open } = await startHub({ heartbeatMs: 4_000 });
    const peer = await open();
    const welcome = await peer.handshake();
    expect(welcome).toMatchObject({ type: 'welcome', version: PROTOCOL_VERSION, heartbeatMs: 4_000 });
    const challenge = peer.received.find((m) => m.type === 'challenge');
    expect(challenge).toMatchObject({ routerId: 'router-test' });
    peer.send(testCapabilities({ slots: { total: 3, free: 3 }, warmPods: [podId] }));
    await waitFor(() => hub.session(minerA.address)?.capabilities !== undefined);
    const session = hub.session(minerA.address);
    expect(session).toMatchObject({ node: minerA.address, version: PROTOCOL_VERSION, freeSlots: 3 });
    expect(session?.id).toBe(welcome.type === 'welcome' ? welcome.sessionId : '');
    expect([...(session?.warmPods ?? [])]).toEqual([podId]);
    expect(hub.stats()).toMatchObject({ connectedNodes: 1, handshaking: 0, inFlightAttempts: 0 });
    expect(peer.badFrames).toEqual([]);
  });

  it('speaks the older version when the miner also supports it', async () => {
    const { open } = await startHub();
    const peer = await open(minerA, {
      hello: { version: PROTOCOL_VERSION + 1, minVersion: PROTOCOL_VERSION },
    });
    expect(await peer.handshake()).toMatchObject({ type: 'welcome', version: PROTOCOL_VERSION });
  });

  it('refuses a miner that only speaks newer versions, and closes', async () => {
    const { hub, open } = await startHub();
    const peer = await open(minerA, {
      hello: { version: PROTOCOL_VERSION + 2, minVersion: PROTOCOL_VERSION + 1 },
    });
    const answer = await peer.handshake();
    expect(answer).toMatchObject({ type: 'refused', code: 'unsupported_version' });
    expect(answer.type === 'refused' && answer.reason).toMatch(
      /router speaks protocol 1\.\.1, miner offered 2\.\.3/,
    );
    expect((await peer.closed).code).toBe(CLOSE_CODES.policyViolation);
    expect(hub.stats().refusals).toEqual({ unsupported_version: 1 });
  });

  it('refuses an answer signed by another key', async () => {
    const { hub, open } = await startHub();
    const peer = await open(minerA, { challengeSigner: stranger });
    expect(await peer.handshake()).toMatchObject({ type: 'refused', code: 'bad_signature' });
    await peer.closed;
    expect(hub.sessions()).toEqual([]);
  });

  it('refuses a node the admission does not know, with the reason', async () => {
    const { open } = await startHub();
    const peer = await open(stranger);
    const answer = await peer.handshake();
    expect(answer).toMatchObject({ type: 'refused', code: 'node_not_registered' });
    expect(answer.type === 'refused' && answer.reason).toContain(stranger.address);
  });

  it('refuses with service_unavailable when admission cannot decide', async () => {
    const { open, lines } = await startHub({
      admission: {
        check: async () => {
          throw new Error('rpc down');
        },
      },
    });
    const peer = await open();
    expect(await peer.handshake()).toMatchObject({ type: 'refused', code: 'service_unavailable' });
    expect(lines.some((l) => l.msg === 'could not check a miner admission')).toBe(true);
  });

  it('sheds handshakes past its limits, from one address and in all, before any work, and takes them again once they end', async () => {
    const { hub, open, lines } = await startHub({ maxHandshakesPerAddress: 2 });
    const [first, second] = [await open(minerA), await open(minerB)];
    await waitFor(() => hub.stats().handshaking === 2, 'two handshakes under way');
    const third = await open(minerA);
    expect(await third.next('refused')).toMatchObject({
      code: 'service_unavailable',
      reason: 'too many handshakes under way from 127.0.0.1 (2); retry later',
    });
    expect((await third.closed).code).toBe(CLOSE_CODES.tryAgainLater);
    expect(hub.stats()).toMatchObject({ handshaking: 2, refusals: { service_unavailable: 1 } });
    expect(lines.some((l) => l.level === 20 && /too many handshakes/.test(l.msg))).toBe(true);
    // A handshake that ends, admitted or not, frees its place.
    expect(await first.handshake()).toMatchObject({ type: 'welcome' });
    expect(await (await open(stranger)).handshake()).toMatchObject({ code: 'node_not_registered' });
    expect(await second.handshake()).toMatchObject({ type: 'welcome' });

    const busy = await startHub({ maxHandshakes: 1 });
    await busy.open(minerA);
    await waitFor(() => busy.hub.stats().handshaking === 1, 'one handshake under way');
    expect(await (await busy.open(minerB)).next('refused')).toMatchObject({
      reason: 'too many miners are connecting at once (1); retry later',
    });
  });

  it('refuses a challenge answered too late', async () => {
    const { open } = await startHub({ handshakeTimeoutMs: 100 });
    const peer = await open();
    peer.send({
      type: 'hello',
      version: PROTOCOL_VERSION,
      node: minerA.address,
      software: { neurino: '0', node: '0' },
    });
    await peer.next('challenge');
    expect(await peer.next('refused')).toMatchObject({ code: 'challenge_expired' });
    await peer.closed;
  });

  it('refuses a miner that never says hello', async () => {
    const { open } = await startHub({ handshakeTimeoutMs: 100 });
    const peer = await open();
    expect(await peer.next('refused')).toMatchObject({
      code: 'protocol_error',
      reason: expect.stringMatching(/handshake/),
    });
  });

  it('refuses a schema-failing hello with the failing field, logs it and keeps serving others', async () => {
    const { hub, open, join, lines } = await startHub();
    const peer = await open();
    peer.sendRaw(JSON.stringify({ type: 'hello', version: 'one', node: minerA.address, software: {} }));
    const refused = await peer.next('refused');
    expect(refused.code).toBe('protocol_error');
    expect(refused.reason).toMatch(/^hello: version/);
    expect((await peer.closed).code).toBe(CLOSE_CODES.policyViolation);
    const warning = lines.find((l) => l.msg === 'refused a bad frame from a miner');
    expect(warning).toMatchObject({ level: 40, err: { code: 'schema_violation' } });
    await join(minerB);
    expect(hub.stats().connectedNodes).toBe(1);
  });

  it('refuses frames that are not JSON, of unknown type, or out of order', async () => {
    const { open } = await startHub();
    const cases: Array<[string, RegExp]> = [
      ['not json', /not valid JSON/],
      ['{"type":"launch"}', /unknown message type "launch"/],
      ['{"type":"welcome","version":1,"sessionId":"x","heartbeatMs":1000}', /a miner never sends "welcome"/],
      [JSON.stringify(testCapabilities()), /expected `hello` during the handshake, got `capabilities`/],
    ];
    for (const [frame, reason] of cases) {
      const peer = await open();
      peer.sendRaw(frame);
      expect((await peer.next('refused')).reason).toMatch(reason);
    }
  });

  it('gives a node one session: a newer connection replaces the older one', async () => {
    const { hub, join } = await startHub();
    const first = await join(minerA);
    const oldSession = hub.session(minerA.address);
    await join(minerA);
    expect((await first.closed).code).toBe(CLOSE_CODES.replaced);
    expect(hub.sessions()).toHaveLength(1);
    expect(hub.session(minerA.address)).not.toBe(oldSession);
    expect(oldSession?.closed).toBe(true);
  });
});

describe('MinerHub sessions', () => {
  it('tracks warm pods and draining as the miner reports them', async () => {
    const { hub, join } = await startHub();
    const peer = await join();
    const session = hub.session(minerA.address);
    peer.send({ type: 'pod.loaded', podId, loadMs: 5 });
    await waitFor(() => session?.warmPods.has(podId) === true, 'pod.loaded');
    peer.send({ type: 'pod.unloaded', podId });
    await waitFor(() => session?.warmPods.has(podId) === false, 'pod.unloaded');
    peer.send({ type: 'draining', activeJobs: 0 });
    await waitFor(() => session?.draining === true, 'draining');
    expect(() => session?.startAttempt(assignment(), attemptListener().listener)).toThrow(/draining/);
  });

  it('logs a bad frame after the handshake without dropping the session, and closes after too many', async () => {
    const { hub, join, lines } = await startHub({ maxBadFrames: 2 });
    const peer = await join();
    peer.sendRaw('{"type":"heartbeat","at":"soon"}');
    peer.heartbeat();
    await waitFor(() => lines.filter((l) => l.msg === 'refused a bad frame from a miner').length === 1);
    expect(hub.stats().connectedNodes).toBe(1);
    peer.send({ type: 'hello', version: 1, node: minerA.address, software: { neurino: '0', node: '0' } });
    await waitFor(() => lines.some((l) => l.msg === 'miner broke the protocol'));
    expect(hub.stats().connectedNodes).toBe(1);
    peer.sendRaw('[]');
    expect((await peer.closed).code).toBe(CLOSE_CODES.policyViolation);
    await waitFor(() => hub.stats().connectedNodes === 0);
    expect(hub.stats().badFrames).toBe(3);
  });

  it('fails the attempt named by a malformed frame right away, as bad_result', async () => {
    const { hub, join } = await startHub();
    const peer = await join();
    const { listener, failed } = attemptListener();
    const assign = assignment();
    hub.session(minerA.address)?.startAttempt(assign, listener);
    await peer.next('job.assign');
    peer.sendRaw(JSON.stringify({ type: 'job.result', attemptId: assign.attemptId, output: 'x' }));
    const error = await failed;
    expect([error.code, error.retryable]).toEqual(['bad_result', true]);
    expect(await peer.next('job.cancel')).toMatchObject({
      attemptId: assign.attemptId,
      reason: 'malformed frame',
    });
    expect(hub.session(minerA.address)?.inFlight).toBe(0);
    // The broken result was the attempt's end on the node: its slot is free.
    expect(hub.session(minerA.address)?.freeSlots).toBe(2);
  });

  it('keeps the slot of an attempt failed by a malformed chunk until the node reports its end', async () => {
    const { hub, join } = await startHub();
    const peer = await join();
    const session = hub.session(minerA.address);
    const { listener, failed } = attemptListener();
    const assign = assignment();
    session?.startAttempt(assign, listener);
    await peer.next('job.assign');
    peer.sendRaw(JSON.stringify({ type: 'job.chunk', attemptId: assign.attemptId, seq: -1, delta: 5 }));
    expect((await failed).code).toBe('bad_result');
    expect(await peer.next('job.cancel')).toMatchObject({ attemptId: assign.attemptId });
    // The node still runs it until it reads the cancel.
    expect([session?.inFlight, session?.freeSlots]).toEqual([0, 1]);
    peer.fail(assign, 'job_cancelled', 'cancelled by the router', false);
    await waitFor(() => session?.freeSlots === 2, 'slot freed by the end');
  });

  it('counts slots as this router fills them', async () => {
    const { hub, join } = await startHub();
    const peer = await join(minerA, testCapabilities({ slots: { total: 2, free: 1 } }));
    const session = hub.session(minerA.address);
    expect(session?.freeSlots).toBe(1);
    session?.startAttempt(assignment(0), attemptListener().listener);
    expect([session?.freeSlots, session?.inFlight, hub.stats().inFlightAttempts]).toEqual([0, 1, 1]);
    expect(() => session?.startAttempt(assignment(1), attemptListener().listener)).toThrow(/busy/);
    await peer.result(assignment(0), 'done');
    await waitFor(() => session?.freeSlots === 1, 'slot freed by the result');
  });

  it("keeps a cancelled attempt's slot taken until the node reports the attempt's end", async () => {
    const { hub, join } = await startHub();
    const slotChanges: Array<string | undefined> = [];
    hub.subscribe((_, change) => {
      if (change.kind === 'slots') slotChanges.push(change.podId);
    });
    const peer = await join(minerA, testCapabilities({ slots: { total: 2, free: 2 } }));
    const session = hub.session(minerA.address);
    const heard: string[] = [];
    const listener: AttemptListener = {
      accepted: () => heard.push('accepted'),
      chunk: () => heard.push('chunk'),
      result: () => heard.push('result'),
      failed: (e) => heard.push(e.code),
    };
    session?.startAttempt(assignment(0), listener);
    session?.startAttempt(assignment(1), listener);
    slotChanges.length = 0;
    session?.cancelAttempt(assignment(0).attemptId, 'deadline exceeded');
    session?.cancelAttempt(assignment(1).attemptId, 'deadline exceeded');
    expect(await peer.next('job.cancel')).toMatchObject({ attemptId: assignment(0).attemptId });
    // The node is still stopping them: neither slot may take a job yet, nor has anything changed.
    expect([session?.freeSlots, session?.inFlight, slotChanges.length]).toEqual([0, 0, 0]);
    expect(() => session?.startAttempt(assignment(2), listener)).toThrow(/busy/);
    // A real miner reports a cancelled attempt's end with job.error; a result may also cross the cancel.
    peer.chunk(assignment(0), 0, 'late');
    peer.fail(assignment(0), 'job_cancelled', 'cancelled by the router', false);
    await waitFor(() => session?.freeSlots === 1, 'the first slot freed');
    await peer.result(assignment(1), 'crossed the cancel');
    await waitFor(() => session?.freeSlots === 2, 'the second slot freed');
    expect(slotChanges).toEqual([podId, podId]);
    // The listeners heard nothing after the cancel.
    expect(heard).toEqual([]);
  });

  it("frees a cancelled attempt's slot the node never reports ending once a silent node would be dropped", async () => {
    const { hub, join, lines } = await startHub({ heartbeatMs: 100, missedHeartbeats: 3 });
    const peer = await join(minerA, testCapabilities({ slots: { total: 1, free: 1 } }));
    // Alive, and saying its slot is free, but it never reports the cancelled attempt's end.
    const beating = setInterval(() => peer.heartbeat(1), 30);
    cleanups.push(async () => clearInterval(beating));
    const session = hub.session(minerA.address);
    session?.startAttempt(assignment(0), attemptListener().listener);
    await peer.next('job.assign');
    session?.cancelAttempt(assignment(0).attemptId, 'not accepted in time');
    expect(session?.freeSlots).toBe(0);
    await waitFor(() => session?.freeSlots === 1, 'slot freed after the grace');
    expect(session?.closed).toBe(false);
    expect(lines.some((l) => /never reported a cancelled attempt ending/.test(String(l.msg)))).toBe(true);
  });

  it('corrects the slots a node runs for others from the free slots its heartbeats count', async () => {
    const { hub, join } = await startHub();
    let slotChanges = 0;
    hub.subscribe((_, change) => {
      if (change.kind === 'slots') slotChanges++;
    });
    // Two of its three slots busy at the handshake: jobs it still ran when this session began.
    const peer = await join(minerA, testCapabilities({ slots: { total: 3, free: 1 } }));
    const session = hub.session(minerA.address);
    expect(session?.freeSlots).toBe(1);
    const heartbeatSeen = (free: number) =>
      waitFor(() => session?.lastHeartbeat?.slotsFree === free, `heartbeat with ${free} free`);
    // Those jobs ended: the node says so with its next heartbeat.
    peer.heartbeat(3);
    await heartbeatSeen(3);
    expect([session?.freeSlots, slotChanges]).toEqual([3, 1]);
    session?.startAttempt(assignment(0), attemptListener().listener);
    slotChanges = 0;
    // Sent before the assignment reached it: the node counts more free than the router, not fewer.
    peer.heartbeat(3);
    await heartbeatSeen(3);
    expect([session?.freeSlots, slotChanges]).toEqual([2, 0]);
    // Something else took a slot there (an attempt whose cancel the router stopped waiting on).
    peer.heartbeat(1);
    await heartbeatSeen(1);
    expect([session?.freeSlots, slotChanges]).toEqual([1, 1]);
  });

  it('counts the free slots a refusal carries, once the refused attempt is off the count', async () => {
    const { hub, join } = await startHub();
    let slotChanges = 0;
    hub.subscribe((_, change) => {
      if (change.kind === 'slots') slotChanges++;
    });
    const peer = await join(minerA, testCapabilities({ slots: { total: 3, free: 3 } }));
    const session = hub.session(minerA.address);
    const failures: string[] = [];
    const listener = attemptListener().listener;
    session?.startAttempt(assignment(0), listener);
    session?.startAttempt(assignment(1), { ...listener, failed: (e) => failures.push(e.code) });
    slotChanges = 0;
    // Two of its slots busy with work from before this session: the second attempt finds none free.
    peer.fail(assignment(1), 'no_capacity', 'no free slot', true, 0);
    await waitFor(() => failures.length === 1, 'the refusal');
    expect([session?.freeSlots, session?.inFlight, slotChanges]).toEqual([0, 1, 1]);
    // A refusal without the count (a pod's memory, not a slot) leaves the count as it was.
    peer.heartbeat(2);
    await waitFor(() => session?.freeSlots === 2, 'the heartbeat');
    session?.startAttempt(assignment(2), { ...listener, failed: (e) => failures.push(e.code) });
    peer.fail(assignment(2), 'no_capacity', 'memory held by busy pods', true);
    await waitFor(() => failures.length === 2, 'the second refusal');
    expect(session?.freeSlots).toBe(2);
  });

  it('fails the jobs left on a node that drained and closed normally as busy, and as dropped otherwise', async () => {
    const { hub, join } = await startHub();
    const drained = await join(minerA, testCapabilities({ slots: { total: 2, free: 2 } }));
    const crossed = attemptListener();
    hub.session(minerA.address)?.startAttempt(assignment(0), crossed.listener);
    // It said it drains as the assignment was on its way, and closed with nothing running.
    drained.send({ type: 'draining', activeJobs: 0 });
    drained.close();
    expect(await crossed.failed).toMatchObject({ code: 'node_draining', retryable: true });
    // Killed while draining: its jobs may have run, so the node is at fault.
    const killed = await join(minerB, testCapabilities({ slots: { total: 2, free: 2 } }));
    const running = attemptListener();
    hub.session(minerB.address)?.startAttempt(assignment(1), running.listener);
    killed.send({ type: 'draining', activeJobs: 1 });
    await waitFor(() => hub.session(minerB.address)?.draining === true, 'draining');
    killed.terminate();
    expect(await running.failed).toMatchObject({ code: 'node_disconnected', retryable: true });
  });

  it('drops a session whose heartbeats stop; its running attempts fail as retryable', async () => {
    const { hub, join } = await startHub({ heartbeatMs: 150, missedHeartbeats: 3 });
    const alive = await join(minerA);
    alive.startHeartbeats(30);
    const silent = await join(minerB);
    const { listener, failed } = attemptListener();
    hub.session(minerB.address)?.startAttempt(assignment(), listener);
    const error = await failed;
    expect([error.code, error.retryable]).toEqual(['node_timeout', true]);
    await silent.closed;
    expect(hub.session(minerB.address)).toBeUndefined();
    expect(hub.stats()).toMatchObject({ connectedNodes: 1, heartbeatTimeouts: 1 });
    expect(hub.session(minerA.address)?.closed).toBe(false);
  });

  it('fails running attempts as node_disconnected when the miner drops the socket', async () => {
    const { hub, join } = await startHub();
    const peer = await join();
    const { listener, failed } = attemptListener();
    hub.session(minerA.address)?.startAttempt(assignment(), listener);
    await peer.next('job.assign');
    peer.terminate();
    expect(await failed).toMatchObject({ code: 'node_disconnected', retryable: true });
    await waitFor(() => hub.sessions().length === 0);
  });

  it('tells every listener about changes, and survives a listener that throws', async () => {
    const { hub, join, lines } = await startHub();
    const kinds: string[] = [];
    hub.subscribe(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = hub.subscribe((_, change) => kinds.push(change.kind));
    const peer = await join();
    peer.heartbeat();
    await waitFor(() => kinds.includes('heartbeat'));
    unsubscribe();
    expect(kinds.slice(0, 3)).toEqual(['ready', 'capabilities', 'heartbeat']);
    expect(lines.some((l) => l.msg === 'hub listener failed')).toBe(true);
  });

  it('drains on close: tells miners, waits for running attempts, then refuses newcomers', async () => {
    const { hub, join, open } = await startHub();
    const peer = await join();
    const { listener } = attemptListener();
    const assign = assignment();
    hub.session(minerA.address)?.startAttempt(assign, listener);
    await peer.next('job.assign');
    const closing = hub.close({ graceMs: 30_000 });
    expect(await peer.next('drain')).toMatchObject({ reason: 'router is shutting down' });
    const late = await open(minerB);
    expect(await late.next('refused')).toMatchObject({ code: 'service_unavailable' });
    peer.fail(assign, 'node_failed', 'stopping', true);
    await closing;
    expect((await peer.closed).code).toBe(CLOSE_CODES.goingAway);
  });
});
