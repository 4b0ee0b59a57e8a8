// Pod specs for what an operator points the miner at: a GGUF file, or a model behind an OpenAI-compatible
// server. The spec is content-derived (no local paths, no URLs), so every node serving the same file
// arrives at the same pod id, and the router's catalog can build the same spec with the same function.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { type PodSpec, parsePodSpec } from '../../protocol/pod-spec.ts';
import type { ChatTemplateName } from '../pods/chat-templates.ts';
import { MinerError } from './errors.ts';

/** Wei per compute unit unless the operator says otherwise (1e-6 NEU per GPU-GiB-millisecond). */
export const DEFAULT_PRICE_PER_UNIT = 1_000_000_000_000n;
export const DEFAULT_DEPLOYER_SHARE_BPS = 1_000;
const MIB = 2 ** 20;

export interface PodPricing {
  readonly pricePerUnit?: bigint;
  readonly deployerShareBps?: number;
}

export interface GgufFile {
  readonly fileName: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** Files hashed in this process, by path: a reload reads a file again only when its size or time changed. */
const hashed = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/** sha256 and size of a file on disk, streamed (GGUF files run to tens of GB). */
export async function describeFile(path: string): Promise<GgufFile> {
  try {
    const { size, mtimeMs } = await stat(path);
    const known = hashed.get(path);
    if (known !== undefined && known.size === size && known.mtimeMs === mtimeMs) {
      return { fileName: basename(path), sha256: known.sha256, bytes: size };
    }
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    hashed.set(path, { size, mtimeMs, sha256 });
    return { fileName: basename(path), sha256, bytes: size };
  } catch (cause) {
    throw new MinerError('invalid_config', `cannot read the model file ${path}`, { cause });
  }
}

/**
 * A `llama-cpp` pod serving a GGUF file: chat, completion and embeddings. Its memory is the file's size,
 * what llama.cpp holds for the weights (the KV cache is small next to it and not counted). A chat template
 * used instead of the file's own is part of the pod (`options.chatTemplate` by name, or
 * `options.chatTemplateJinja`, the text: pod-chat-template.ts): every node serving it, and a validator
 * re-running its jobs, prompts the model the same way; so is `options.matryoshka` (`isMatryoshka`).
 */
export function ggufPodSpec(
  model: {
    name: string;
    chatTemplate?: ChatTemplateName;
    chatTemplateJinja?: string;
    matryoshka?: boolean;
  } & GgufFile,
  pricing: PodPricing = {},
): PodSpec {
  const options = {
    ...(model.chatTemplate === undefined ? {} : { chatTemplate: model.chatTemplate }),
    ...(model.chatTemplateJinja === undefined ? {} : { chatTemplateJinja: model.chatTemplateJinja }),
    ...(model.matryoshka === true ? { matryoshka: true } : {}),
  };
  return checked({
    name: model.name,
    description: `${model.fileName} served by llama.cpp`,
    runtime: 'llama-cpp',
    kinds: ['chat', 'completion', 'embeddings'],
    artifact: { uri: model.fileName, sha256: model.sha256 },
    ...(Object.keys(options).length === 0 ? {} : { options }),
    minVramMiB: Math.max(1, Math.ceil(model.bytes / MIB)),
    deterministic: false,
    validation: { method: 'llm-distribution' },
    pricePerUnit: pricing.pricePerUnit ?? DEFAULT_PRICE_PER_UNIT,
    deployerShareBps: pricing.deployerShareBps ?? DEFAULT_DEPLOYER_SHARE_BPS,
    autoscale: { min: 0, max: 64 },
  });
}

/**
 * An `openai-upstream` pod relaying to a server the operator runs (vLLM, SGLang, Ollama). The weights are
 * not visible from here: the artifact names the model, and `vramMiB` is what the operator says it holds.
 */
export function upstreamPodSpec(model: { name: string; vramMiB: number }, pricing: PodPricing = {}): PodSpec {
  return checked({
    name: model.name,
    description: `${model.name} relayed to an OpenAI-compatible server`,
    runtime: 'openai-upstream',
    kinds: ['chat', 'completion', 'embeddings'],
    artifact: {
      uri: `openai-upstream:${model.name}`,
      sha256: createHash('sha256').update(model.name).digest('hex'),
    },
    options: { model: model.name },
    minVramMiB: Math.max(1, Math.ceil(model.vramMiB)),
    deterministic: false,
    validation: { method: 'llm-distribution' },
    pricePerUnit: pricing.pricePerUnit ?? DEFAULT_PRICE_PER_UNIT,
    deployerShareBps: pricing.deployerShareBps ?? DEFAULT_DEPLOYER_SHARE_BPS,
    autoscale: { min: 0, max: 64 },
  });
}

/** Through the schema, so a name or price the operator typed that the protocol refuses fails here. */
function checked(spec: PodSpec): PodSpec {
  const parsed = parsePodSpec({ ...spec, pricePerUnit: spec.pricePerUnit.toString() });
  if (!parsed.ok) throw new MinerError('invalid_config', `pod spec ${spec.name}: ${parsed.error.message}`);
  return parsed.value;
}

/**
 * Whether the pod's embedding model was trained so that the first dimensions of its vectors are an
 * embedding of their own (Matryoshka representation learning: nomic-embed-text v1.5, mxbai-embed-large,
 * Qwen3-Embedding...): then a request's `dimensions` below the model's size is answered with them,
 * normalised again (`options.matryoshka`, part of the pod, as the operator says).
 */
export function isMatryoshka(spec: PodSpec): boolean {
  return spec.options?.matryoshka === true;
}
