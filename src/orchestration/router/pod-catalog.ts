import type { Address, Hex } from 'viem';
import { FatalError } from '../../protocol/errors.ts';
import { type PodSpec, podId } from '../../protocol/pod-spec.ts';

/** A pod this router serves. */
export interface CatalogEntry {
  readonly podId: Hex;
  readonly spec: PodSpec;
  /** Wei per compute unit the job is paid at (the spec's price). */
  readonly pricePerUnit: bigint;
  /** Who registered the pod on-chain, when known; Settlement pays the deployer share from the registry. */
  readonly deployer: Address | undefined;
  /** Names clients ask for as `model`: the spec's name first, then aliases. */
  readonly models: readonly string[];
}

export interface AddPodOptions {
  deployer?: Address;
  /** More `model` names for the same pod (e.g. `gpt-3.5-turbo` for a drop-in replacement). */
  aliases?: readonly string[];
}

/** A pod as a catalog update lists it. */
export interface CatalogPod extends AddPodOptions {
  spec: PodSpec;
}

/** What `replace` changed: pods new to the catalog, pods gone from it, pods whose deployer it learned. */
export interface CatalogChanges {
  added: CatalogEntry[];
  removed: CatalogEntry[];
  updated: CatalogEntry[];
}

/**
 * The pods a router serves, by id and by model name. Adding the same spec twice is a no-op; a model name
 * already taken by another pod is refused, so `model` always means one pod.
 */
export class PodCatalog {
  readonly #byId = new Map<Hex, CatalogEntry>();
  readonly #byModel = new Map<string, CatalogEntry>();

  constructor(specs: Iterable<PodSpec> = []) {
    for (const spec of specs) this.add(spec);
  }

  add(spec: PodSpec, options: AddPodOptions = {}): CatalogEntry {
    const id = podId(spec);
    const existing = this.#byId.get(id);
    if (existing !== undefined) return existing;
    const entry = entryOf(spec, options);
    for (const model of entry.models) {
      const holder = this.#byModel.get(model);
      if (holder !== undefined) throw modelTaken(model, holder);
    }
    this.#put(entry);
    return entry;
  }

  /**
   * Makes the catalog serve exactly `pods` (a router reloading its spec files): new pods are added, pods
   * not listed removed (jobs already dispatched to them finish; new requests for their models are 404),
   * and a listed pod keeps its entry unless its deployer or aliases changed. All or nothing: two pods
   * claiming one model name change nothing.
   */
  replace(pods: readonly CatalogPod[]): CatalogChanges {
    const next = new Map<Hex, CatalogEntry>();
    const names = new Map<string, CatalogEntry>();
    for (const { spec, ...options } of pods) {
      const entry = entryOf(spec, options);
      if (next.has(entry.podId)) continue;
      for (const model of entry.models) {
        const holder = names.get(model);
        if (holder !== undefined) throw modelTaken(model, holder);
        names.set(model, entry);
      }
      next.set(entry.podId, entry);
    }
    const changes: CatalogChanges = { added: [], removed: [], updated: [] };
    for (const [id, entry] of this.#byId) {
      if (!next.has(id)) changes.removed.push(entry);
    }
    for (const entry of changes.removed) this.#byId.delete(entry.podId);
    this.#byModel.clear();
    for (const [id, entry] of next) {
      const current = this.#byId.get(id);
      const same =
        current !== undefined &&
        current.deployer === entry.deployer &&
        current.models.join('\n') === entry.models.join('\n');
      if (current === undefined) changes.added.push(entry);
      else if (!same) changes.updated.push(entry);
      this.#put(same ? current : entry);
    }
    return changes;
  }

  byModel(name: string): CatalogEntry | undefined {
    return this.#byModel.get(name);
  }

  byId(id: Hex): CatalogEntry | undefined {
    return this.#byId.get(id.toLowerCase() as Hex);
  }

  /** Like `byModel`, but an unknown name is the OpenAI-style 404 `model_not_found`. */
  requireModel(name: string): CatalogEntry {
    const entry = this.byModel(name);
    if (entry !== undefined) return entry;
    throw new FatalError('model_not_found', {
      message: `The model ${JSON.stringify(name.slice(0, 128))} does not exist`,
      param: 'model',
    });
  }

  list(): CatalogEntry[] {
    return [...this.#byId.values()];
  }

  get size(): number {
    return this.#byId.size;
  }

  #put(entry: CatalogEntry): void {
    this.#byId.set(entry.podId, entry);
    for (const model of entry.models) this.#byModel.set(model, entry);
  }
}

function entryOf(spec: PodSpec, options: AddPodOptions): CatalogEntry {
  return {
    podId: podId(spec),
    spec,
    pricePerUnit: spec.pricePerUnit,
    deployer: options.deployer,
    models: [...new Set([spec.name, ...(options.aliases ?? [])])],
  };
}

function modelTaken(model: string, holder: CatalogEntry): FatalError {
  return new FatalError('invalid_request', {
    message: `model name ${JSON.stringify(model)} is already served by pod ${holder.podId}`,
    details: { model, podId: holder.podId },
  });
}
