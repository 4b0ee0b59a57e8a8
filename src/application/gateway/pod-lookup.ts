// Which pod serves a request: by model name on the OpenAI routes, by name or 0x id on the jobs API.
import type { Hex } from 'viem';
import { FatalError } from '../../protocol/errors.ts';
import type { JobKind } from '../../protocol/pod-spec.ts';
import type { CatalogEntry, ModelCatalog } from './ports.ts';

const POD_ID = /^0x[0-9a-fA-F]{64}$/;

function lookup(catalog: ModelCatalog, name: string): CatalogEntry | undefined {
  return catalog.byModel(name) ?? (POD_ID.test(name) ? catalog.byId(name.toLowerCase() as Hex) : undefined);
}

const KIND_NAMES: Record<JobKind, string> = {
  chat: 'chat completions',
  completion: 'completions',
  embeddings: 'embeddings',
  generic: 'generic jobs',
};

/** The pod behind an OpenAI `model`; 404 model_not_found, or 400 when the pod does not do this kind. */
export function modelFor(catalog: ModelCatalog, model: string, kind: JobKind): CatalogEntry {
  const entry = lookup(catalog, model);
  const shown = JSON.stringify(model.slice(0, 256));
  if (entry === undefined) {
    throw new FatalError('model_not_found', { message: `The model ${shown} does not exist`, param: 'model' });
  }
  if (!entry.spec.kinds.includes(kind)) {
    throw new FatalError('unsupported_parameter', {
      message: `The model ${shown} does not serve ${KIND_NAMES[kind]}`,
      param: 'model',
    });
  }
  return entry;
}

/** The pod named by the jobs API's `pod` field; 404 pod_not_found. */
export function podFor(catalog: ModelCatalog, pod: string): CatalogEntry {
  const entry = lookup(catalog, pod);
  if (entry === undefined) {
    throw new FatalError('pod_not_found', {
      message: `The pod ${JSON.stringify(pod.slice(0, 130))} does not exist`,
      param: 'pod',
    });
  }
  return entry;
}

/**
 * The kind a jobs API request runs as: `generic` when the pod takes it, its only kind otherwise, else
 * guessed from the input's shape (an OpenAI body with `messages`, `prompt` or `input`).
 */
export function jobKindFor(entry: CatalogEntry, input: unknown): JobKind {
  const kinds = entry.spec.kinds;
  if (kinds.includes('generic')) return 'generic';
  if (kinds.length === 1 && kinds[0] !== undefined) return kinds[0];
  const fields = typeof input === 'object' && input !== null ? input : {};
  const guess: JobKind | undefined =
    'messages' in fields
      ? 'chat'
      : 'prompt' in fields
        ? 'completion'
        : 'input' in fields
          ? 'embeddings'
          : undefined;
  if (guess !== undefined && kinds.includes(guess)) return guess;
  throw new FatalError('invalid_request', {
    message: `input must be a body for one of this pod's kinds: ${kinds.join(', ')}`,
    param: 'input',
  });
}
