// The autoscaler's figures as Prometheus shows them: its requests by action, and each model's warm nodes
// beside its target and its spec's bounds, read when scraped.
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics.ts';
import type { PodStatus } from './ports.ts';

/** A pod as GET /pods tells it (the metrics read the same view). */
function pod(
  model: string,
  {
    warm,
    target,
    min,
    max,
    running,
    queued,
  }: Record<'warm' | 'target' | 'min' | 'max' | 'running' | 'queued', number>,
): PodStatus {
  return {
    podId: `0x${'00'.repeat(32)}`,
    model,
    aliases: [],
    runtime: 'llama-cpp',
    warmNodes: warm,
    targetNodes: target,
    autoscale: { min, max },
    jobs: { running, queued },
  };
}

describe('autoscaler metrics', () => {
  it('copy the requests sent and the warm nodes of each model at every scrape', async () => {
    let stats = {
      requests: { load: 2, unload: 1 },
      pods: [
        pod('llama-3-8b', { warm: 1, target: 3, min: 1, max: 8, running: 4, queued: 2 }),
        pod('qwen-2.5-7b', { warm: 0, target: 0, min: 0, max: 64, running: 0, queued: 0 }),
      ],
    };
    const metrics = new GatewayMetrics(
      { connectedNodes: () => 2, autoscaler: { requests: () => stats.requests, pods: () => stats.pods } },
      { defaultMetrics: false },
    );
    let text = await metrics.registry.metrics();
    expect(text).toMatch(/^neurino_autoscaler_requests_total\{action="load"\} 2$/m);
    expect(text).toMatch(/^neurino_autoscaler_requests_total\{action="unload"\} 1$/m);
    expect(text).toMatch(/^neurino_pod_warm_nodes\{model="llama-3-8b",bound="current"\} 1$/m);
    expect(text).toMatch(/^neurino_pod_warm_nodes\{model="llama-3-8b",bound="target"\} 3$/m);
    expect(text).toMatch(/^neurino_pod_warm_nodes\{model="llama-3-8b",bound="max"\} 8$/m);
    expect(text).toMatch(/^neurino_pod_warm_nodes\{model="qwen-2.5-7b",bound="min"\} 0$/m);
    expect(text).toMatch(/^neurino_pod_jobs\{model="llama-3-8b",state="running"\} 4$/m);
    expect(text).toMatch(/^neurino_pod_jobs\{model="llama-3-8b",state="queued"\} 2$/m);
    // A model the router no longer serves leaves the gauge.
    stats = {
      requests: { load: 3, unload: 1 },
      pods: [pod('llama-3-8b', { warm: 2, target: 2, min: 1, max: 8, running: 0, queued: 0 })],
    };
    text = await metrics.registry.metrics();
    expect(text).toMatch(/^neurino_autoscaler_requests_total\{action="load"\} 3$/m);
    expect(text).toMatch(/^neurino_pod_warm_nodes\{model="llama-3-8b",bound="current"\} 2$/m);
    expect(text).not.toContain('qwen-2.5-7b');
  });
});
