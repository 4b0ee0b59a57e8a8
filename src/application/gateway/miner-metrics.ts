// Metrics of the miner endpoint, read from the router core when scraped: handshakes under way and
// refused by reason (a flood of strangers shows as shed `service_unavailable` ones), bad frames and
// heartbeat timeouts. Totals kept by the hub are copied into counters at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import { copiedCounter } from './copied-counter.ts';
import type { MinerEndpointStats } from './ports.ts';

export function registerMinerMetrics(registers: Registry[], stats: () => MinerEndpointStats): void {
  new Gauge({
    name: 'neurino_miner_handshakes_in_progress',
    help: 'Miner handshakes under way (hello, challenge, on-chain admission)',
    registers,
    collect() {
      this.set(stats().handshaking);
    },
  });
  new Counter({
    name: 'neurino_miner_handshakes_refused_total',
    help: 'Miner handshakes refused, by code (service_unavailable includes those shed past the limits)',
    labelNames: ['code'],
    registers,
    collect() {
      this.reset();
      for (const [code, count] of Object.entries(stats().refusals)) {
        if (count !== undefined) this.inc({ code }, count);
      }
    },
  });
  copiedCounter(
    registers,
    'neurino_miner_bad_frames_total',
    'Frames from miners that failed to decode or came out of turn',
    () => stats().badFrames,
  );
  copiedCounter(
    registers,
    'neurino_miner_heartbeat_timeouts_total',
    'Miner sessions dropped for missing heartbeats',
    () => stats().heartbeatTimeouts,
  );
}
