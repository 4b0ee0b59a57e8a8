// What a miner session tells: its changes, to the hub and its listeners (the scheduler, the autoscaler),
// and each attempt's frames, to the attempt's listener.
import type { Hex } from 'viem';
import type { NeurinoError } from '../../protocol/errors.ts';
import type { JobChunk, JobResult } from '../../protocol/messages/jobs.ts';

/** What changed in a session; the hub passes it on to its listeners. */
export type SessionChange =
  | { kind: 'ready' }
  | { kind: 'capabilities' }
  /** A slot taken or freed; `podId`: by a job of that pod. */
  | { kind: 'slots'; podId?: Hex }
  | { kind: 'heartbeat' }
  | { kind: 'pod.loaded'; podId: Hex }
  | { kind: 'pod.unloaded'; podId: Hex }
  | { kind: 'pod.failed'; podId: Hex; code: string }
  | { kind: 'draining' }
  | { kind: 'closed'; code: number };

/** Receives one attempt's frames. Exactly one of `result` and `failed` is called, once. */
export interface AttemptListener {
  accepted(): void;
  chunk(chunk: JobChunk): void;
  result(result: JobResult): void;
  failed(error: NeurinoError): void;
}
