// `neurino pods` as a table: one line per model a router serves, what an operator scans to see how it is
// scaled (nodes holding it warm against the autoscaler's target and the spec's bounds) and how busy it is.
import type { PodStatus } from '../application/gateway/ports.ts';
import { textTable } from './text-table.ts';

const HEADERS = ['model', 'runtime', 'warm', 'target', 'bounds', 'running', 'queued', 'pod'];

export function formatPodTable(pods: readonly PodStatus[]): string {
  if (pods.length === 0) return 'the router serves no model';
  const rows = pods.map((p) => [
    p.aliases.length === 0 ? p.model : `${p.model} (${p.aliases.join(', ')})`,
    p.runtime,
    String(p.warmNodes),
    String(p.targetNodes),
    `${p.autoscale.min}–${p.autoscale.max}`,
    String(p.jobs.running),
    String(p.jobs.queued),
    `${p.podId.slice(0, 10)}…`,
  ]);
  return textTable(HEADERS, rows);
}
