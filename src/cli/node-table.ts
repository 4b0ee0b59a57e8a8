// `neurino nodes` as a table: one line per connected node, what an operator scans for (is it taking jobs,
// how busy, on what hardware, for how long and how reliably, which models are warm and which it would load
// for a job, when it was last heard from). Uptime is the scheduler's (connected time over at least the
// last hour, so a new node ranks low), shown as what it is for a node seen for less than that hour: its
// share of the time seen, and that time.
import type { NodeStatus } from '../application/gateway/ports.ts';
import { textTable } from './text-table.ts';

const HEADERS = [
  'node',
  'state',
  'jobs',
  'hardware',
  'efficiency',
  'connected',
  'uptime',
  'warm',
  'cold',
  'last heard',
];

export function formatNodeTable(nodes: readonly NodeStatus[], now = Date.now()): string {
  if (nodes.length === 0) return 'no node is connected';
  const rows = nodes.map((n) => [
    n.node,
    stateOf(n, now),
    jobsOf(n),
    hardwareOf(n),
    efficiencyOf(n),
    ago(now - n.connectedAt),
    uptimeOf(n),
    warmOf(n),
    coldOf(n),
    // Before its first heartbeat, the node was last heard at its handshake.
    `${ago(now - (n.lastHeartbeat?.receivedAt ?? n.connectedAt))} ago`,
  ]);
  return textTable(HEADERS, rows);
}

/**
 * Jobs running of the node's slots, and the slots busy with anything else: attempts cancelled that the node
 * is still stopping, or work it took that this router did not assign.
 */
function jobsOf({ slots }: NodeStatus): string {
  const held = slots.total - slots.running - slots.free;
  return `${slots.running}/${slots.total}${held > 0 ? ` (+${held} busy)` : ''}`;
}

/** The warm models, and the memory their node's pods hold of what they may when it says. */
function warmOf(node: NodeStatus): string {
  const models = node.warmPods.map(modelOf).join(', ') || '-';
  // A router or node of an earlier version says nothing of memory.
  const memory = node.podMemory;
  if (memory === null || memory === undefined) return models;
  return `${models} (${size(memory.heldMiB)} of ${size(memory.budgetMiB)})`;
}

/** The models the node hosts and would load for a job (a router of an earlier version lists none). */
function coldOf(node: NodeStatus): string {
  const warm = new Set(node.warmPods.map((p) => p.podId));
  const cold = (node.hostedPods ?? []).filter((p) => !warm.has(p.podId));
  return cold.map(modelOf).join(', ') || '-';
}

function modelOf(pod: { podId: string; model: string | null }): string {
  return pod.model ?? `${pod.podId.slice(0, 10)}…`;
}

/** Below this much history the scheduler's figure reads low however steady the node: say what it is. */
const UPTIME_WINDOW_MS = 3_600_000;

function uptimeOf(node: NodeStatus): string {
  // A router of an earlier version sends no history.
  const seen = typeof node.seenMs === 'number' ? node.seenMs : 0;
  if (seen >= UPTIME_WINDOW_MS || seen <= 0) return `${(node.uptime * 100).toFixed(1)} %`;
  return `${((Math.min(node.connectedMs, seen) / seen) * 100).toFixed(1)} % of ${ago(seen)}`;
}

/** The announced figure, and the one the node is ranked by when its pace belies it. */
function efficiencyOf(node: NodeStatus): string {
  if (node.hardware === null) return '-';
  const announced = node.hardware.efficiency.toFixed(1);
  // A router of an earlier version sends no ranked figure.
  const ranked = node.rankedEfficiency;
  return typeof ranked === 'number' ? `${announced}, ranked as ${ranked.toFixed(1)}` : announced;
}

function stateOf(node: NodeStatus, now: number): string {
  if ((node.state !== 'suspended' && node.state !== 'paused') || node.suspendedUntil === null)
    return node.state;
  return `${node.state} ${ago(node.suspendedUntil - now)} more`;
}

function hardwareOf(node: NodeStatus): string {
  const hardware = node.hardware;
  if (hardware === null) return '-';
  if (hardware.gpus.length > 0) {
    return hardware.gpus.map((g) => `${g.name} ${gib(g.vramMiB)}`).join(', ');
  }
  return `CPU ${hardware.cpu.cores} cores, ${gib(hardware.ramMiB)}`;
}

function gib(mib: number): string {
  return `${Math.round((mib / 1024) * 10) / 10} GiB`;
}

/** MiB under a GiB, GiB above. */
function size(mib: number): string {
  return mib < 1024 ? `${mib} MiB` : gib(mib);
}

/** A duration for people: 850 ms, 12 s, 5 min, 3 h. */
function ago(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
