// The pod an operator points `neurino miner` at: a GGUF file (the generated tiny model by default) or a
// model behind an OpenAI-compatible server, with its runtime and spec.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type PodSpec, parsePodSpec, podId } from '../../protocol/pod-spec.ts';
import { ensureTinyModel, TINY_MODEL_NAME } from '../model/tiny-model.ts';
import type { ChatTemplateName } from '../pods/chat-templates.ts';
import { LlamaCppRuntime } from '../pods/llama-cpp.ts';
import { describeLlamaMemory } from '../pods/llama-memory.ts';
import { OpenAIUpstreamRuntime } from '../pods/openai-upstream.ts';
import { MinerError } from './errors.ts';
import { describeFile, ggufPodSpec, isMatryoshka, upstreamPodSpec } from './local-pods.ts';
import { describeChatTemplate, podChatTemplate, readChatTemplateFile } from './pod-chat-template.ts';
import type { HostedPodConfig } from './pod-host.ts';

export interface OperatorPodOptions {
  /** The tiny model is generated under `<dataDir>/models` when no model is given. */
  readonly dataDir: string;
  readonly slots: number;
  readonly threads?: number;
  /**
   * Tokens one job may hold, prompt and completion together. llama-cpp: each slot keeps this many in
   * memory (default: the model's training context, at most 4,096). openai-upstream: announced instead of
   * the server's own limit.
   */
  readonly contextSize?: number;
  /** Offload to the GPU (llama.cpp picks it). */
  readonly gpu?: boolean;
  readonly model?: string;
  /** Default: the file name without `.gguf`. */
  readonly modelName?: string;
  /** Base URL of an OpenAI-compatible server; wins over `model`. */
  readonly upstream?: string;
  readonly upstreamModel?: string;
  readonly upstreamApiKey?: string;
  /** Memory the upstream model holds, metered into compute units. */
  readonly vramMiB?: number;
  /** llama-cpp: the chat template to use instead of the GGUF's own (it goes into the built spec). */
  readonly chatTemplate?: ChatTemplateName;
  /** llama-cpp: a Jinja chat template's file, to use instead of the GGUF's own (its text goes into the spec). */
  readonly chatTemplateFile?: string;
  /** llama-cpp: false evaluates every prompt whole (default: a slot keeps what begins the next prompt). */
  readonly promptCache?: boolean;
  /** llama-cpp: the embedding model is a Matryoshka one (its spec says so; see `isMatryoshka`). */
  readonly matryoshka?: boolean;
  /** A spec file (as the router's catalog has it) to announce instead of the built one. */
  readonly podSpec?: string;
  readonly pricePerUnit?: bigint;
}

export async function operatorPod(options: OperatorPodOptions): Promise<HostedPodConfig> {
  const pricing = options.pricePerUnit === undefined ? {} : { pricePerUnit: options.pricePerUnit };
  const context = options.contextSize === undefined ? {} : { contextSize: options.contextSize };
  let spec: PodSpec;
  if (options.upstream !== undefined) {
    if (options.upstreamModel === undefined) {
      throw new MinerError('invalid_config', '--upstream needs --upstream-model <name>');
    }
    if (options.promptCache === false) {
      throw new MinerError(
        'invalid_config',
        '--no-prompt-cache is for --model: an upstream server caches prompts as it is set up to',
      );
    }
    const flag = options.chatTemplate !== undefined ? '--chat-template' : '--chat-template-file';
    if (options.chatTemplate !== undefined || options.chatTemplateFile !== undefined) {
      throw new MinerError('invalid_config', `${flag} is for --model: an upstream server uses its own`);
    }
    if (options.matryoshka === true) {
      throw new MinerError(
        'invalid_config',
        '--matryoshka is for --model: an upstream server is asked for the dimensions itself',
      );
    }
    const runtime = new OpenAIUpstreamRuntime({
      baseUrl: options.upstream,
      model: options.upstreamModel,
      slots: options.slots,
      ...context,
      ...(options.upstreamApiKey === undefined ? {} : { apiKey: options.upstreamApiKey }),
    });
    const built = upstreamPodSpec({ name: options.upstreamModel, vramMiB: options.vramMiB ?? 1024 }, pricing);
    spec = await specToAnnounce(options.podSpec, built);
    return { spec, podId: podId(spec), runtime };
  } else {
    const modelPath = options.model ?? (await ensureTinyModel(join(options.dataDir, 'models'))).path;
    const defaultName = options.model === undefined ? TINY_MODEL_NAME : basename(modelPath, '.gguf');
    const name = options.modelName ?? defaultName;
    if (options.chatTemplate !== undefined && options.chatTemplateFile !== undefined) {
      throw new MinerError(
        'invalid_config',
        '--chat-template and --chat-template-file both name a chat template: give one',
      );
    }
    const jinja =
      options.chatTemplateFile === undefined
        ? undefined
        : await readChatTemplateFile(options.chatTemplateFile);
    const asked = {
      ...(options.chatTemplate === undefined ? {} : { chatTemplate: options.chatTemplate }),
      ...(jinja === undefined ? {} : { chatTemplateJinja: jinja }),
    };
    const matryoshka = options.matryoshka === true ? { matryoshka: true } : {};
    const built = ggufPodSpec({ name, ...asked, ...matryoshka, ...(await describeFile(modelPath)) }, pricing);
    spec = await specToAnnounce(options.podSpec, built);
    // The spec says how the pod prompts its model; a flag saying otherwise is a mistake, not a choice.
    const template = podChatTemplate(spec);
    if (options.chatTemplate !== undefined && template.chatTemplate !== options.chatTemplate) {
      throw new MinerError(
        'invalid_config',
        `--chat-template ${options.chatTemplate}, but the pod spec ${options.podSpec} names ${describeChatTemplate(template)}`,
      );
    }
    if (jinja !== undefined && template.chatTemplateJinja !== jinja) {
      throw new MinerError(
        'invalid_config',
        `--chat-template-file ${options.chatTemplateFile}, but the pod spec ${options.podSpec} names ${template.chatTemplateJinja === undefined ? describeChatTemplate(template) : 'another Jinja template'}`,
      );
    }
    if (options.matryoshka === true && !isMatryoshka(spec)) {
      throw new MinerError(
        'invalid_config',
        `--matryoshka, but the pod spec ${options.podSpec} does not say options.matryoshka`,
      );
    }
    const llamaCpp = new LlamaCppRuntime({
      modelPath,
      modelName: name,
      slots: options.slots,
      threads: options.threads ?? 1,
      ...context,
      gpu: options.gpu === true ? 'auto' : false,
      ...template,
      // A pod validated by re-running its jobs must repeat them bit for bit: no cached prefixes.
      promptCache: options.promptCache !== false && !spec.deterministic,
    });
    const estimate = await llamaCpp.estimateMemory().catch((cause: unknown) => {
      throw new MinerError('invalid_config', (cause as Error).message, { cause });
    });
    return {
      spec,
      podId: podId(spec),
      runtime: llamaCpp,
      memoryEstimate: { totalMiB: estimate.totalMiB, detail: describeLlamaMemory(estimate) },
    };
  }
}

function specToAnnounce(path: string | undefined, built: PodSpec): Promise<PodSpec> {
  return path === undefined ? Promise.resolve(built) : readPodSpec(path, built);
}

/** A spec from the catalog must describe the runtime and artifact this node actually runs. */
export async function readPodSpec(path: string, built: PodSpec): Promise<PodSpec> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new MinerError('invalid_config', `cannot read the pod spec ${path}`, { cause });
  }
  const parsed = parsePodSpec(json);
  if (!parsed.ok) throw new MinerError('invalid_config', `pod spec ${path}: ${parsed.error.message}`);
  const spec = parsed.value;
  if (spec.runtime !== built.runtime || spec.artifact.sha256 !== built.artifact.sha256) {
    const short = (s: PodSpec) => `${s.runtime} ${s.artifact.sha256.slice(0, 12)}…`;
    throw new MinerError(
      'invalid_config',
      `pod spec ${path} is for ${short(spec)}, but this node runs ${short(built)}`,
    );
  }
  return spec;
}
