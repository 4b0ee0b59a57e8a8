// The whole router on a real chain (anvil with the protocol deployed): a staked miner is admitted and an
// unregistered one refused, jobs are charged once and their receipts attested by the router, and across a
// restart every receipt settles exactly once, with on-chain earnings equal to the stored receipts. Against
// PGlite and, when the suite runs one, a real PostgreSQL server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { type Address, getAddress, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/free-port.ts';
import { testDatabaseUrl } from '../../test/support/postgres.ts';
import { devAccount, devRoleAccount } from '../chain/dev-accounts.ts';
import { computeCreditsAbi } from '../chain/generated/index.ts';
import { ensurePodRegistered } from '../chain/pod-registration.ts';
import { CreditLedger } from '../orchestration/metering/credit-ledger.ts';
import { chainCreditsSource } from '../orchestration/metering/credits-source.ts';
import type { StoredReceipt } from '../orchestration/metering/receipt-rows.ts';
import { MinerPeer, testCapabilities } from '../orchestration/router/testing/miner-peer.ts';
import { aggregateReceipts } from '../orchestration/settlement/aggregate.ts';
import { splitLines } from '../orchestration/settlement/split.ts';
import {
  BUYBACK_BPS,
  FRONTEND_BPS,
  type ProtocolFixture,
  startProtocolFixture,
} from '../orchestration/settlement/testing/protocol-fixture.ts';
import { openStore } from '../orchestration/store/open-store.ts';
import { randomBase62 } from '../protocol/ids.ts';
import { podId } from '../protocol/pod-spec.ts';
import { hashReceipt } from '../protocol/receipt.ts';
import { isReceiptAttested } from '../protocol/receipt-attestation.ts';
import type { PodStatus } from './gateway/ports.ts';
import { readOperationsFile } from './router/operations-file.ts';
import type { RouterOptions, RunningRouter } from './router/router-options.ts';
import { routerDatabaseDir, startRouter } from './router-process.ts';
import { answerText, testPodSpec } from './testing/gateway-harness.ts';

const spec = testPodSpec();
const id = podId(spec);
const router = devRoleAccount('router');
const podDeployer = devRoleAccount('podDeployer');
const frontend = devRoleAccount('frontend').address;
const developer = devAccount(5).address;
const node = devAccount(10);
const stranger = devAccount(12);
const FUNDED = parseEther('100');
const OPERATOR_TOKEN = 'op-token-for-the-router-process-test';

interface Backend {
  kind: 'pglite' | 'postgres';
  /** Store options for startRouter, the same on every start (a restart finds its receipts). */
  storeOptions(): Promise<Pick<RouterOptions, 'dataDir' | 'databaseUrl'>>;
  dispose(): Promise<void>;
}

function pgliteBackend(): Backend {
  let dir: string | undefined;
  return {
    kind: 'pglite',
    async storeOptions() {
      dir ??= await mkdtemp(join(tmpdir(), 'neurino-router-'));
      return { dataDir: dir };
    },
    async dispose() {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(serverUrl: string): Backend {
  const name = `neurino_router_${randomBase62(10).toLowerCase()}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let created = false;
  return {
    kind: 'postgres',
    async storeOptions() {
      if (!created) await admin(`create database ${name}`);
      created = true;
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return { databaseUrl: url.toString() };
    },
    async dispose() {
      if (created) await admin(`drop database if exists ${name} with (force)`);
    },
  };
}

const serverUrl = testDatabaseUrl();
const backends = serverUrl === undefined ? [pgliteBackend()] : [pgliteBackend(), postgresBackend(serverUrl)];

describe.each(backends)('router process on $kind', (backend) => {
  let fixture: ProtocolFixture;
  let running: RunningRouter | undefined;
  let key: string;

  const start = async (extra: Partial<RouterOptions> = {}) =>
    startRouter({
      port: 0,
      rpcUrl: fixture.anvil.rpcUrl,
      addressBook: fixture.book,
      routerAccount: router,
      pods: [spec],
      batch: { maxReceipts: 2, maxDelayMs: 60_000 },
      logger: pino({ level: process.env.NEURINO_TEST_LOG ?? 'silent' }),
      gateway: { frontend, defaultMetrics: false },
      drainGraceMs: 5_000,
      ...(await backend.storeOptions()),
      ...extra,
    });

  const joinMiner = async (r: RunningRouter) => {
    const peer = await MinerPeer.join(
      { url: r.wsUrl, account: node, domain: fixture.domain },
      testCapabilities({ warmPods: [id] }),
    );
    peer.startHeartbeats(1_000);
    peer.serve((assign) => answerText(peer, assign, ['Hi', ' there']));
    while (!r.hub.sessions().some((s) => s.snapshot() !== undefined))
      await new Promise((ok) => setTimeout(ok, 5));
    return peer;
  };

  const chat = (r: RunningRouter, stream = false) =>
    fetch(`${r.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: spec.name, messages: [{ role: 'user', content: 'hi' }], stream }),
    });

  beforeAll(async () => {
    fixture = await startProtocolFixture(await freePort());
    await fixture.registerNode(node, parseEther('1000'));
    await ensurePodRegistered({
      publicClient: fixture.publicClient,
      walletClient: fixture.walletFor(podDeployer),
      podRegistry: fixture.book.contracts.podRegistry,
      spec,
    });
    await fixture.fund(developer, FUNDED);
  });

  afterAll(async () => {
    await running?.stop();
    await fixture?.stop();
    await backend.dispose();
  });

  it('refuses to start with a key that cannot settle', async () => {
    await expect(
      startRouter({
        rpcUrl: fixture.anvil.rpcUrl,
        addressBook: fixture.book,
        routerAccount: stranger,
        pods: [spec],
        batch: { maxReceipts: 2, maxDelayMs: 1_000 },
        logger: pino({ level: 'silent' }),
      }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      startRouter({
        rpcUrl: fixture.anvil.rpcUrl,
        addressBook: { ...fixture.book, chainId: 1 },
        routerAccount: router,
        pods: [spec],
        batch: { maxReceipts: 2, maxDelayMs: 1_000 },
        logger: pino({ level: 'silent' }),
      }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('admits a staked miner and refuses an unregistered one with the reason', async () => {
    running = await start();
    expect(running.wsUrl).toBe(`${running.url.replace('http', 'ws')}/v1/miners`);
    key = (await running.apiKeys.create({ account: developer })).key;
    const impostor = await MinerPeer.open({ url: running.wsUrl, account: stranger, domain: fixture.domain });
    const answer = await impostor.handshake();
    expect(answer).toMatchObject({ type: 'refused', code: 'node_not_registered' });
    expect(answer.type === 'refused' && answer.reason).toMatch(/regist/);
    impostor.close();
    await joinMiner(running);
    const health = await (await fetch(`${running.url}/health`)).json();
    expect(health).toMatchObject({
      status: 'ok',
      checks: { store: { ok: true }, chain: { ok: true } },
      nodes: { connected: 1 },
    });
  });

  // PGlite holds one router; on a shared server every router adds its counts to the store.
  it.runIf(backend.kind === 'postgres')(
    'counts its rate limits in the server its routers share',
    async () => {
      const r = running as RunningRouter;
      const refused = await fetch(`${r.url}/v1/models`, {
        headers: { authorization: `Bearer nrn_${'w'.repeat(40)}` },
      });
      expect(refused.status).toBe(401);
      const store = await openStore(await storeOf(backend));
      try {
        let rows: Array<{ count: number }> = [];
        for (let i = 0; i < 100 && rows.length === 0; i++) {
          rows = await store.query("select count from rate_windows where limiter = 'invalid-keys'");
          if (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(rows.map((row) => Number(row.count))).toEqual([1]);
      } finally {
        await store.close();
      }
    },
  );

  it('serves jobs, charged once each, their receipts attested by the router', async () => {
    const r = running as RunningRouter;
    for (const stream of [false, true, false]) {
      const response = await chat(r, stream);
      expect(response.status).toBe(200);
      await response.text();
    }
    // Answered means journaled; the store receives the journal in batches.
    await r.metering.flush();
    const receipts = await r.ledger.receiptsFor({ payer: developer });
    expect(receipts.length).toBe(3);
    for (const stored of receipts) {
      expect(stored.receipt).toMatchObject({ node: node.address, frontend, podId: id });
      const evidence = await r.ledger.attestedReceipt(stored.receipt.jobId);
      expect(evidence?.receiptHash).toBe(hashReceipt(stored.receipt));
      expect(evidence && isReceiptAttested(fixture.domain, evidence, router.address)).toBe(true);
    }
    const before = await r.batcher.stats();
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    const after = await r.batcher.stats();
    expect(metrics).toMatch(/neurino_settlement_lag_seconds \d/);
    expect(metrics).toMatch(/neurino_connected_nodes 1/);
    expect(metrics).toMatch(/neurino_metering_unstored_entries \d/);
    expect(metrics).toMatch(/neurino_metering_store_retrying 0/);
    expect(metrics).toMatch(/neurino_metering_rejected_entries_total 0/);
    // The autoscaler is wired: the pod's spec keeps no node warm, and nothing was idle long enough.
    expect(metrics).toMatch(/^neurino_autoscaler_requests_total\{action="unload"\} 0$/m);
    expect(metrics).toMatch(/^neurino_pod_warm_nodes\{model="[^"]+",bound="min"\} 0$/m);
    expect(metrics).toMatch(/^neurino_pod_warm_nodes\{model="[^"]+",bound="target"\} \d+$/m);
    // Totals the store keeps, copied in when scraped (a batch may settle meanwhile).
    const total = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
    const batches = total('neurino_settlement_batches_total');
    const settledReceipts = total('neurino_settlement_receipts_total');
    expect(batches).toBeGreaterThanOrEqual(before.batchesSettled);
    expect(batches).toBeLessThanOrEqual(after.batchesSettled);
    expect(settledReceipts).toBeGreaterThanOrEqual(before.receiptsSettled);
    expect(settledReceipts).toBeLessThanOrEqual(after.receiptsSettled);
    expect(metrics).toMatch(/^neurino_pod_jobs\{model="[^"]+",state="queued"\} 0$/m);
    // The pods as the autoscaler sizes them, beside the nodes (open here: no operators' port).
    const pods = (await (await fetch(`${r.url}/pods`)).json()) as { object: string; data: PodStatus[] };
    expect(pods).toEqual({
      object: 'list',
      data: [
        {
          podId: id,
          model: spec.name,
          aliases: [],
          runtime: spec.runtime,
          warmNodes: 1,
          targetNodes: expect.any(Number),
          autoscale: spec.autoscale,
          jobs: { running: 0, queued: 0 },
        },
      ],
    });
  });

  it('serves the pods of a reload: new ones, not removed ones, and learns a deployer registered since', async () => {
    const r = running as RunningRouter;
    const models = async () =>
      (
        (await (
          await fetch(`${r.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })
        ).json()) as {
          data: Array<{ id: string }>;
        }
      ).data.map((m) => m.id);
    const added = testPodSpec({ name: `added-${backend.kind}` });
    const first = await r.updatePods([spec, added]);
    expect(first.added.map((e) => e.spec.name)).toEqual([added.name]);
    expect(first.removed).toEqual([]);
    expect((await models()).sort()).toEqual([spec.name, added.name].sort());
    expect(r.catalog.byModel(added.name)?.deployer).toBeUndefined();
    // Registered on-chain since: the next reload learns its deployer, so its jobs settle.
    await ensurePodRegistered({
      publicClient: fixture.publicClient,
      walletClient: fixture.walletFor(podDeployer),
      podRegistry: fixture.book.contracts.podRegistry,
      spec: added,
    });
    const second = await r.updatePods([spec, added]);
    expect(second.updated.map((e) => e.spec.name)).toEqual([added.name]);
    expect(r.catalog.byModel(added.name)?.deployer).toBe(podDeployer.address);
    const third = await r.updatePods([spec]);
    expect(third.removed.map((e) => e.spec.name)).toEqual([added.name]);
    expect(await models()).toEqual([spec.name]);
    const gone = await fetch(`${r.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: added.name, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
    // Two pods under one model name: nothing changes.
    await expect(r.updatePods([spec, testPodSpec({ pricePerUnit: 9n })])).rejects.toThrow(/already served/);
    expect(await models()).toEqual([spec.name]);
  });

  it('settles every receipt exactly once across a restart, paying each party what the receipts say', async () => {
    await (running as RunningRouter).stop();
    // Restarted with the operators' own listener: /metrics and /nodes move there behind the operator
    // token, and close with it.
    running = await start({ operations: { port: 0, token: OPERATOR_TOKEN } });
    expect(
      (await running.ledger.receiptsFor({ payer: developer })).every((r) => r.settledAt !== undefined),
    ).toBe(true);
    await joinMiner(running);
    expect((await chat(running)).status).toBe(200);
    const { operationsUrl } = running;
    expect(operationsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const asOperator = { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } };
    expect((await fetch(`${operationsUrl}/nodes`)).status).toBe(401);
    const listed = (await (await fetch(`${operationsUrl}/nodes`, asOperator)).json()) as {
      data: { node: string }[];
    };
    expect(listed.data.map((n) => n.node)).toEqual([node.address]);
    expect((await fetch(`${operationsUrl}/pods`)).status).toBe(401);
    const pods = (await (await fetch(`${operationsUrl}/pods`, asOperator)).json()) as { data: PodStatus[] };
    expect(pods.data.map((p) => [p.podId, p.warmNodes])).toEqual([[id, 1]]);
    const metrics = await fetch(`${operationsUrl}/metrics`, asOperator);
    expect(await metrics.text()).toMatch(/neurino_connected_nodes 1/);
    const { dataDir } = await backend.storeOptions();
    if (dataDir !== undefined) {
      // Where `neurino router keys` finds the running router that holds the PGlite directory.
      expect(await readOperationsFile(dataDir)).toEqual({ url: operationsUrl, pid: process.pid });
    }
    expect((await fetch(`${running.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${running.url}/pods`)).status).toBe(404);
    expect((await fetch(`${running.url}/health`)).status).toBe(200);
    await running.stop();
    running = undefined;
    await expect(fetch(`${operationsUrl}/health`)).rejects.toThrow();
    if (dataDir !== undefined) expect(await readOperationsFile(dataDir)).toBeUndefined();

    const store = await openStore(await storeOf(backend));
    try {
      const ledger = new CreditLedger({
        store,
        credits: chainCreditsSource({
          publicClient: fixture.publicClient,
          computeCredits: fixture.book.contracts.computeCredits,
        }),
      });
      const receipts = await ledger.receiptsFor({ payer: developer });
      expect(receipts.length).toBe(4);
      expect(receipts.every((r) => r.settledAt !== undefined && r.batch !== undefined)).toBe(true);
      const expected = expectedEarnings(receipts);
      const batches = new Set(receipts.map((r) => r.batch?.sequence));
      expect(await fixture.nextSequence(router.address)).toBe(BigInt(batches.size));
      for (const party of [node.address, podDeployer.address, frontend]) {
        expect(await fixture.earningsOf(party)).toBe(expected.earnings.get(getAddress(party)) ?? 0n);
      }
      const charged = receipts.reduce((sum, r) => sum + r.charged, 0n);
      expect(charged).toBeGreaterThan(0n);
      const credits = await fixture.publicClient.readContract({
        address: fixture.book.contracts.computeCredits,
        abi: computeCreditsAbi,
        functionName: 'balanceOf',
        args: [developer],
      });
      expect(credits).toBe(FUNDED - charged);
    } finally {
      await store.close();
    }
  });
});

async function storeOf(backend: Backend) {
  const options = await backend.storeOptions();
  return options.dataDir !== undefined
    ? { dataDir: routerDatabaseDir(options.dataDir) }
    : { databaseUrl: options.databaseUrl ?? '' };
}

/** What Settlement pays per batch, computed from the stored receipts the way the contract does. */
function expectedEarnings(receipts: readonly StoredReceipt[]) {
  const bySequence = new Map<bigint, StoredReceipt[]>();
  for (const r of receipts) {
    const sequence = r.batch?.sequence ?? -1n;
    bySequence.set(sequence, [...(bySequence.get(sequence) ?? []), r]);
  }
  const split = { earnings: new Map<Address, bigint>(), buyback: 0n };
  for (const batch of bySequence.values()) {
    const { lines } = aggregateReceipts(
      batch.map(({ receipt, charged }) => ({ ...receipt, price: charged })),
    );
    splitLines(
      lines,
      {
        termsOf: () => ({ deployer: podDeployer.address, deployerShareBps: spec.deployerShareBps }),
        buybackBps: BUYBACK_BPS,
        frontendBps: FRONTEND_BPS,
      },
      split,
    );
  }
  return split;
}
