import { describe, expect, it } from 'vitest';
import type { MinerState } from './miner.ts';
import { NodeMetrics } from './node-metrics.ts';

const state = (status: MinerState['status']) =>
  ({
    status,
    connections: 2,
    slots: { total: 4, free: 1 },
    warmPods: ['0x01'],
    efficiency: 61.5,
  }) as unknown as MinerState;

describe('NodeMetrics', () => {
  it('counts attempts by pod, kind and outcome (an error by its code), their time and tokens', async () => {
    const metrics = new NodeMetrics();
    const base = { podId: '0x01' as const, pod: 'tiny', kind: 'chat' as const };
    metrics.attemptEnded({ ...base, ok: true, seconds: 0.2, usage: { inputTokens: 7, outputTokens: 3 } });
    metrics.attemptEnded({ ...base, ok: false, code: 'job_cancelled', seconds: 0.1 });
    // A paid cancel's tokens count though it did not finish.
    metrics.attemptEnded({
      ...base,
      ok: false,
      code: 'deadline_exceeded',
      seconds: 1,
      usage: { inputTokens: 7, outputTokens: 1 },
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('neurino_node_jobs_total{pod="tiny",kind="chat",outcome="succeeded"} 1');
    expect(text).toContain('neurino_node_jobs_total{pod="tiny",kind="chat",outcome="job_cancelled"} 1');
    expect(text).toContain('neurino_node_jobs_total{pod="tiny",kind="chat",outcome="deadline_exceeded"} 1');
    expect(text).toContain('neurino_node_job_seconds_count{pod="tiny",kind="chat"} 1');
    expect(text).toContain('neurino_node_tokens_total{pod="tiny",direction="input"} 14');
    expect(text).toContain('neurino_node_tokens_total{pod="tiny",direction="output"} 4');
  });

  it("reads the miner's state when scraped: connected, sessions, slots, warm pods, efficiency", async () => {
    const metrics = new NodeMetrics();
    let current = state('connecting');
    metrics.watch(() => current);
    expect(await metrics.registry.metrics()).toContain('neurino_node_connected 0');
    current = state('connected');
    const text = await metrics.registry.metrics();
    expect(text).toContain('neurino_node_connected 1');
    expect(text).toContain('neurino_node_sessions 2');
    expect(text).toContain('neurino_node_slots{state="free"} 1');
    expect(text).toContain('neurino_node_slots{state="busy"} 3');
    expect(text).toContain('neurino_node_warm_pods 1');
    expect(text).toContain('neurino_node_efficiency_gflops 61.5');
  });
});
