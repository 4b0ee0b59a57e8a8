import { type Address, getAddress, type Hex } from 'viem';
import type { PodSpec } from '../../protocol/pod-spec.ts';
import { EfficiencyRanking } from './efficiency-ranking.ts';
import type { WaitRank } from './fair-share.ts';
import type { IndexedHeap } from './indexed-heap.ts';
import { canLoad, misfit, type NodeHardware } from './node-fit.ts';
import { efficiencyBand, uptimeBand } from './node-rank.ts';
import type { WaitTicket } from './pod-waiters.ts';
import { NodeEntry, PodIndex } from './scheduler-index.ts';

/** A connected node as the scheduler sees it. */
export interface NodeSnapshot {
  node: Address;
  hardware: NodeHardware;
  warmPods: Iterable<Hex>;
  freeSlots: number;
  /** Pods keeping slots of their own on the node, and how many of those are free (see PodSlots). */
  podFreeSlots?: ReadonlyMap<Hex, number>;
  draining: boolean;
}

export interface PickRequest {
  podId: Hex;
  spec: PodSpec;
  /** The frontend that referred the request; its referred nodes come right after warm ones. */
  frontend?: Address | undefined;
  /** Nodes this request already tried. */
  exclude?: ReadonlySet<Address>;
  /**
   * A node to take over the others of its tier when it is free (one whose prompt cache may hold the
   * job's context): the tiers' order stands, the ranking within one gives way.
   */
  prefer?: Address | undefined;
}

export interface Pick {
  node: Address;
  warm: boolean;
  referred: boolean;
}

export interface SchedulerOptions {
  /** Consider nodes that run the pod's runtime but have not loaded it (default true). */
  allowCold?: boolean;
}

const FIRST_COME = (): WaitRank => [0, 0];

/**
 * Chooses the node for a job (whitepaper 2.2.2). Eligible: meets the pod's memory and software needs,
 * has the pod warm or can load it, has a free slot, is neither draining nor suspended, and was not tried
 * by this request. Order: warm and referred by the frontend, warm, cold and referred, cold; within a tier
 * by NodeRank (efficiency, votes, uptime). Pod indexes are built on first use and kept up to date.
 */
export class Scheduler {
  readonly #allowCold: boolean;
  readonly #entries = new Map<Address, NodeEntry>();
  readonly #pods = new Map<Hex, PodIndex>();
  readonly #votes = new Map<Address, bigint>();
  readonly #efficiency = new EfficiencyRanking();
  readonly #referrals = new Map<Address, Set<Address>>();
  readonly #referrers = new Map<Address, Set<Address>>();
  // A pause (a busy node that asked to be left alone a while) keeps the node capable: jobs wait for it.
  readonly #suspensions = new Map<Address, { until: number; timer: NodeJS.Timeout; pause: boolean }>();
  #joined = 0;

  constructor(options: SchedulerOptions = {}) {
    this.#allowCold = options.allowCold ?? true;
  }

  /** Adds or fully refreshes a node (on capabilities, pod loaded/unloaded, draining). */
  upsertNode(snapshot: NodeSnapshot): void {
    const node = getAddress(snapshot.node);
    let entry = this.#entries.get(node);
    if (entry === undefined) {
      entry = new NodeEntry(node, snapshot.hardware, this.#votes.get(node) ?? 0n, this.#joined++);
      this.#entries.set(node, entry);
    }
    entry.hardware = snapshot.hardware;
    const moved = this.#efficiency.connect(node, snapshot.hardware.efficiency);
    entry.efficiencyBand = efficiencyBand(this.#efficiency.ranked(node));
    entry.warm = new Set(snapshot.warmPods);
    entry.freeSlots = snapshot.freeSlots;
    entry.podFreeSlots = new Map(snapshot.podFreeSlots ?? []);
    entry.draining = snapshot.draining;
    this.#refresh(entry);
    for (const pod of this.#pods.values()) this.#place(entry, pod);
    this.#rerank(moved.filter((other) => other !== node));
  }

  removeNode(node: Address): void {
    const entry = this.#entries.get(getAddress(node));
    if (entry === undefined) return;
    this.#entries.delete(entry.node);
    this.#rerank(this.#efficiency.disconnect(entry.node));
    for (const [pod, heaps] of entry.placements) {
      for (const heap of heaps) heap.forget(entry);
      pod.members.delete(entry);
      pod.warmMembers.delete(entry);
      pod.waiters.wakeAll();
    }
    entry.placements.clear();
  }

  /**
   * The hot path on every assignment and every finished attempt. `pod`: the own slots free of the pod
   * whose job took or freed one, when it keeps slots of its own on the node.
   */
  setFreeSlots(node: Address, freeSlots: number, pod?: { podId: Hex; free: number }): void {
    const entry = this.#entries.get(node);
    if (entry === undefined) return;
    const podChanged = pod !== undefined && entry.podFreeSlots.get(pod.podId) !== pod.free;
    if (entry.freeSlots === freeSlots && !podChanged) return;
    entry.freeSlots = freeSlots;
    if (podChanged) entry.podFreeSlots.set(pod.podId, pod.free);
    this.#refresh(entry);
  }

  setWarm(node: Address, podId: Hex, warm: boolean): void {
    const entry = this.#entries.get(getAddress(node));
    if (entry === undefined) return;
    if (warm) entry.warm.add(podId);
    else entry.warm.delete(podId);
    entry.cannotLoad.delete(podId);
    const pod = this.#pods.get(podId);
    if (pod !== undefined) this.#place(entry, pod);
  }

  /** The node answered that it cannot load this pod: stop offering it cold jobs for it until it reconnects. */
  markCannotLoad(node: Address, podId: Hex): void {
    const entry = this.#entries.get(getAddress(node));
    if (entry === undefined) return;
    entry.cannotLoad.add(podId);
    const pod = this.#pods.get(podId);
    if (pod !== undefined) this.#place(entry, pod);
  }

  /** Token votes for a node (kept for nodes that are not connected yet). */
  setVotes(node: Address, votes: bigint): void {
    const address = getAddress(node);
    this.#votes.set(address, votes);
    const entry = this.#entries.get(address);
    if (entry === undefined || entry.votes === votes) return;
    entry.votes = votes;
    this.#refresh(entry);
  }

  /**
   * Ranks the node by at most `cap` instead of the efficiency it announces (its pace belies the claim:
   * pace-check.ts); undefined lifts the cap. Kept across reconnects, as votes are.
   */
  capEfficiency(node: Address, cap: number | undefined): void {
    this.#rerank(this.#efficiency.cap(getAddress(node), cap));
  }

  /** The cap set by capEfficiency, if any. */
  efficiencyCap(node: Address): number | undefined {
    return this.#efficiency.capOf(getAddress(node));
  }

  /**
   * The router timed the node's pace against a peer's: its announced efficiency counts in full from now
   * on (until then, no more than the best timed node's: efficiency-ranking.ts).
   */
  markTimed(node: Address): void {
    this.#rerank(this.#efficiency.timed(getAddress(node)));
  }

  /** The efficiency a connected node is ranked by when lower than the one it announces. */
  rankedEfficiency(node: Address): number | undefined {
    const entry = this.#entries.get(getAddress(node));
    if (entry === undefined) return undefined;
    const ranked = this.#efficiency.ranked(entry.node);
    return ranked < entry.hardware.efficiency ? ranked : undefined;
  }

  /** Share of time the node was connected recently, 0..1. */
  setUptime(node: Address, uptime: number): void {
    const entry = this.#entries.get(getAddress(node));
    const band = uptimeBand(uptime);
    if (entry === undefined || entry.uptimeBand === band) return;
    entry.uptimeBand = band;
    this.#refresh(entry);
  }

  /** The nodes a frontend refers its users to (replaces its previous list). */
  setReferrals(frontend: Address, nodes: Iterable<Address>): void {
    const from = getAddress(frontend);
    const previous = this.#referrals.get(from) ?? new Set<Address>();
    const next = new Set([...nodes].map((node) => getAddress(node)));
    this.#referrals.set(from, next);
    for (const node of new Set([...previous, ...next])) {
      const referrers = this.#referrers.get(node) ?? new Set<Address>();
      if (next.has(node)) referrers.add(from);
      else referrers.delete(from);
      if (referrers.size === 0) this.#referrers.delete(node);
      else this.#referrers.set(node, referrers);
      const entry = this.#entries.get(node);
      if (entry !== undefined) for (const pod of this.#pods.values()) this.#place(entry, pod);
    }
  }

  /** Takes the node out of every pick for `ms` (a failure); a later call replaces the period. */
  suspend(node: Address, ms: number): void {
    this.#takeOut(node, ms, false);
  }

  /**
   * Takes a busy node out of picks for `ms` (rate limited), still counted among the pod's capable nodes
   * while its pause ends before a job stops waiting; a later suspend or pause replaces the period.
   */
  pause(node: Address, ms: number): void {
    this.#takeOut(node, ms, true);
  }

  #takeOut(node: Address, ms: number, pause: boolean): void {
    const address = getAddress(node);
    const current = this.#suspensions.get(address);
    if (current !== undefined) clearTimeout(current.timer);
    const timer = setTimeout(() => this.unsuspend(address), ms);
    timer.unref();
    this.#suspensions.set(address, { until: Date.now() + ms, timer, pause });
    const entry = this.#entries.get(address);
    if (entry !== undefined) this.#refresh(entry, true);
  }

  unsuspend(node: Address): void {
    const address = getAddress(node);
    const current = this.#suspensions.get(address);
    if (current === undefined) return;
    clearTimeout(current.timer);
    this.#suspensions.delete(address);
    const entry = this.#entries.get(address);
    if (entry !== undefined) this.#refresh(entry, true);
  }

  isSuspended(node: Address): boolean {
    return this.#suspensions.has(getAddress(node));
  }

  /** When the node's suspension or pause ends (ms since the epoch), or undefined when it has neither. */
  suspendedUntil(node: Address): number | undefined {
    return this.#suspensions.get(getAddress(node))?.until;
  }

  /** Whether the node sits out a pause (busy), not a suspension (a fault). */
  isPaused(node: Address): boolean {
    return this.#suspensions.get(getAddress(node))?.pause === true;
  }

  /** The best eligible node, or undefined when none is free right now. */
  pick(request: PickRequest): Pick | undefined {
    const pod = this.#index(request);
    const exclude = request.exclude;
    const accept =
      exclude === undefined || exclude.size === 0 ? () => true : (e: NodeEntry) => !exclude.has(e.node);
    const referred =
      request.frontend === undefined ? undefined : pod.referred.get(getAddress(request.frontend));
    const tiers = [
      [referred?.warm, true, true],
      [pod.warm, true, false],
      [referred?.cold, false, true],
      [pod.cold, false, false],
    ] as const;
    const preferred = request.prefer === undefined ? undefined : this.#entries.get(request.prefer);
    // Past the pod's replica cap, jobs wait for its warm nodes rather than load it on another.
    let mayLoadCold: boolean | undefined;
    for (const [heap, warm, isReferred] of tiers) {
      if (heap === undefined) continue;
      if (!warm) {
        mayLoadCold ??= this.#mayLoadCold(pod, exclude);
        if (!mayLoadCold) continue;
      }
      // In a heap means available (a free slot, neither draining nor suspended).
      const entry =
        preferred !== undefined && heap.has(preferred) && accept(preferred) ? preferred : heap.first(accept);
      if (entry !== undefined) return { node: entry.node, warm, referred: isReferred };
    }
    return undefined;
  }

  /**
   * Nodes that could serve the request once a slot frees up (hosting the pod, neither draining, suspended
   * nor excluded; paused only when the pause ends by `until`). Zero means waiting is pointless: answer
   * `no_node_available`.
   */
  capableNodes(request: PickRequest, until = Number.NEGATIVE_INFINITY): number {
    const pod = this.#index(request);
    let count = pod.members.size;
    for (const [node, out] of this.#suspensions) {
      if (out.pause && out.until <= until) continue;
      const entry = this.#entries.get(node);
      if (entry !== undefined && pod.members.has(entry)) count--;
    }
    for (const node of request.exclude ?? []) {
      const entry = this.#entries.get(node);
      if (entry === undefined || !pod.members.has(entry)) continue;
      const out = this.#suspensions.get(node);
      if (out === undefined || (out.pause && out.until <= until)) count--;
    }
    return count;
  }

  /** When the first of the pod's paused nodes (not excluded) may be asked again; undefined if none is. */
  soonestResume(request: PickRequest): number | undefined {
    const pod = this.#index(request);
    let soonest: number | undefined;
    for (const [node, out] of this.#suspensions) {
      if (!out.pause || request.exclude?.has(node)) continue;
      const entry = this.#entries.get(node);
      if (entry !== undefined && pod.members.has(entry) && (soonest === undefined || out.until < soonest)) {
        soonest = out.until;
      }
    }
    return soonest;
  }

  /**
   * Resolves true at the next change that may let a pick for this pod succeed (or fail for good), false
   * on abort. A freed slot wakes one waiter, the first by `ticket`'s rank (default: arrival order); a
   * woken job that does not take a slot, or takes one while more are free, calls `handOff`.
   */
  waitForChange(
    request: PickRequest,
    signal?: AbortSignal,
    ticket: WaitTicket = { group: {}, rank: FIRST_COME },
  ): Promise<boolean> {
    return this.#index(request).waiters.wait(ticket, signal);
  }

  /** Passes a wake on to the next waiter of the pod, when some node has a slot free for it. */
  handOff(request: PickRequest): void {
    const pod = this.#index(request);
    if (pod.hasAvailable) pod.waiters.handOff();
  }

  stats(): { nodes: number; available: number; suspended: number; waiting: number; indexedPods: number } {
    let available = 0;
    for (const entry of this.#entries.values()) if (entry.available) available++;
    let waiting = 0;
    for (const pod of this.#pods.values()) waiting += pod.waiters.size;
    return {
      nodes: this.#entries.size,
      available,
      suspended: this.#suspensions.size,
      waiting,
      indexedPods: this.#pods.size,
    };
  }

  /** Moves these nodes in their heaps when the efficiency they are ranked by changed band. */
  #rerank(nodes: readonly Address[]): void {
    for (const node of nodes) {
      const entry = this.#entries.get(node);
      if (entry === undefined) continue;
      const band = efficiencyBand(this.#efficiency.ranked(node));
      if (entry.efficiencyBand === band) continue;
      entry.efficiencyBand = band;
      this.#refresh(entry);
    }
  }

  /**
   * Whether a job may load the pod on a cold node: fewer than its autoscale.max nodes hold it warm, not
   * counting those suspended or excluded (tried already), so a failing warm node does not keep the pod
   * from every other node.
   */
  #mayLoadCold(pod: PodIndex, exclude: ReadonlySet<Address> | undefined): boolean {
    if (pod.mayLoadCold) return true;
    let usable = 0;
    for (const entry of pod.warmMembers) {
      if (!this.#suspensions.has(entry.node) && !exclude?.has(entry.node)) usable++;
    }
    return usable < pod.spec.autoscale.max;
  }

  #index(request: PickRequest): PodIndex {
    let pod = this.#pods.get(request.podId);
    if (pod !== undefined) return pod;
    pod = new PodIndex(request.podId, request.spec);
    this.#pods.set(request.podId, pod);
    for (const entry of this.#entries.values()) this.#place(entry, pod);
    return pod;
  }

  #place(entry: NodeEntry, pod: PodIndex): void {
    const previous = entry.placements.get(pod) ?? [];
    const wasMember = pod.members.has(entry);
    const warm = entry.warm.has(pod.podId);
    const loadable =
      this.#allowCold && canLoad(entry.hardware, pod.spec, pod.podId) && !entry.cannotLoad.has(pod.podId);
    const fits = !entry.draining && (warm || loadable) && misfit(entry.hardware, pod.spec) === undefined;
    const heaps: IndexedHeap<NodeEntry>[] = [];
    if (fits) {
      heaps.push(warm ? pod.warm : pod.cold);
      for (const frontend of this.#referrers.get(entry.node) ?? []) {
        const referral = pod.referralHeaps(frontend);
        heaps.push(warm ? referral.warm : referral.cold);
      }
    }
    for (const heap of previous) if (!heaps.includes(heap)) heap.forget(entry);
    if (fits && warm) pod.warmMembers.add(entry);
    else pod.warmMembers.delete(entry);
    if (fits) {
      pod.members.add(entry);
      entry.placements.set(pod, heaps);
      const available = availableFor(entry, pod.podId);
      for (const heap of heaps) {
        if (available) heap.push(entry);
        else heap.remove(entry);
      }
    } else {
      pod.members.delete(entry);
      entry.placements.delete(pod);
    }
    if (fits || wasMember) pod.waiters.wakeAll();
  }

  /**
   * Re-ranks the node after a key change and moves it in or out of each pod's heaps when its availability
   * for that pod changed (a slot of the node's, or of the pod's own, taken or freed).
   */
  #refresh(entry: NodeEntry, capableChanged = false): void {
    entry.available = entry.freeSlots > 0 && !entry.draining && !this.#suspensions.has(entry.node);
    for (const [pod, heaps] of entry.placements) {
      const available = availableFor(entry, pod.podId);
      const was = heaps[0]?.has(entry) ?? false;
      for (const heap of heaps) {
        if (available === was) {
          if (available) heap.update(entry);
        } else if (available) heap.push(entry);
        else heap.remove(entry);
      }
      // A node filling its last slot changes nothing for waiters; a freed slot or a suspension does.
      if (capableChanged) pod.waiters.wakeAll();
      else if (available && !was) pod.waiters.slotFreed();
    }
  }
}

/** In the pod's heaps: a free slot, and one of the pod's own when it keeps some on the node. */
function availableFor(entry: NodeEntry, podId: Hex): boolean {
  return entry.available && (entry.podFreeSlots.size === 0 || (entry.podFreeSlots.get(podId) ?? 1) > 0);
}
