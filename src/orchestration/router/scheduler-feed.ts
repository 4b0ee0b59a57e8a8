import { isBusyCode } from './attempt-failure.ts';
import type { MinerHub } from './miner-hub.ts';
import type { MinerSession } from './miner-session.ts';
import type { Scheduler } from './scheduler.ts';
import type { SessionChange } from './session-events.ts';
import { UptimeTracker } from './uptime-tracker.ts';

/**
 * Keeps the scheduler in step with the hub: capabilities and pod changes re-index the node, slot changes
 * only move it in its heaps (the hot path), heartbeats refresh its uptime, a closed session removes it.
 * Returns the unsubscribe function.
 */
export function feedScheduler(hub: MinerHub, scheduler: Scheduler, uptime = new UptimeTracker()): () => void {
  const onChange = (session: MinerSession, change: SessionChange) => {
    const { node } = session;
    switch (change.kind) {
      case 'ready':
        uptime.connected(node);
        return;
      case 'slots': {
        const { podId } = change;
        const free = podId === undefined ? undefined : session.podOwnFreeSlots(podId);
        scheduler.setFreeSlots(
          node,
          session.freeSlots,
          podId === undefined || free === undefined ? undefined : { podId, free },
        );
        return;
      }
      case 'heartbeat':
        scheduler.setUptime(node, uptime.uptime(node));
        return;
      case 'closed':
        // A replaced session closes after its successor is in: leave the successor alone.
        if (hub.session(node) !== undefined && hub.session(node) !== session) return;
        uptime.disconnected(node);
        scheduler.removeNode(node);
        return;
      case 'pod.failed':
        // Busy (its memory held by pods running jobs, draining) is not unable: it may load the pod later.
        if (!isBusyCode(change.code)) scheduler.markCannotLoad(node, change.podId);
        return;
      case 'pod.loaded':
      case 'pod.unloaded':
        scheduler.setWarm(node, change.podId, change.kind === 'pod.loaded');
        return;
      case 'capabilities':
      case 'draining': {
        const snapshot = session.snapshot();
        if (snapshot === undefined) return;
        scheduler.upsertNode(snapshot);
        scheduler.setUptime(node, uptime.uptime(node));
        return;
      }
    }
  };
  for (const session of hub.sessions()) {
    onChange(session, { kind: 'ready' });
    onChange(session, { kind: 'capabilities' });
  }
  return hub.subscribe(onChange);
}
