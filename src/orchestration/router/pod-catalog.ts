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
    const models = [...new Set([spec.name, ...(options.aliases ?? [])])];
    for (const model of models) {
      const holder = this.#byModel.get(model);
      if (holder !== undefined) {
        throw new FatalError('invalid_request', {
          message: `model name ${JSON.stringify(model)} is already served by pod ${holder.podId}`,
          details: { model, podId: holder.podId },
        });
      }
    }
    const entry: CatalogEntry = {
      podId: id,
      spec,
      pricePerUnit: spec.pricePerUnit,
      deployer: options.deployer,
      models,
    };
    this.#byId.set(id, entry);
    for (const model of models) this.#byModel.set(model, entry);
    return entry;
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
}
