// Machine-wide CPU time over a stretch of the bench, from os.cpus(): every process on the machine counts
// (router, miners, load generator, PGlite, V8's own threads, the kernel), which is what a throughput run
// on a shared machine spends per request.
import { cpus } from 'node:os';

export interface CpuTimes {
  /** Milliseconds all cores spent busy (user, nice, system, interrupts). */
  busyMs: number;
  idleMs: number;
}

/** The machine's cumulative CPU times so far. */
export function machineCpuTimes(): CpuTimes {
  let busyMs = 0;
  let idleMs = 0;
  for (const { times } of cpus()) {
    busyMs += times.user + times.nice + times.sys + times.irq;
    idleMs += times.idle;
  }
  return { busyMs, idleMs };
}

/** What the machine spent between two readings. */
export function cpuSpent(from: CpuTimes, to: CpuTimes): CpuTimes {
  return { busyMs: to.busyMs - from.busyMs, idleMs: to.idleMs - from.idleMs };
}

/** The sum of two spans. */
export function addCpu(a: CpuTimes, b: CpuTimes): CpuTimes {
  return { busyMs: a.busyMs + b.busyMs, idleMs: a.idleMs + b.idleMs };
}
