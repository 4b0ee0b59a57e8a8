// `neurino miner --pods <file>`: one node serving several models. The file is a JSON list, one object per
// pod with the settings the single-pod flags give (`model`, `modelName`, `chatTemplate`, `upstream`, ...);
// paths in it are read from the file's folder.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import type { OperatorPodOptions } from '../compute/miner/operator-pod.ts';
import { CHAT_TEMPLATES, type ChatTemplateName } from '../compute/pods/chat-templates.ts';
import { formatPath } from '../protocol/schema-errors.ts';

/** Pods one node may serve (each loads its own model). */
export const MAX_PODS = 16;

const PodEntrySchema = z.strictObject({
  model: z.string().min(1).optional(),
  modelName: z.string().min(1).max(256).optional(),
  chatTemplate: z
    .string()
    .refine((name) => CHAT_TEMPLATES.includes(name as ChatTemplateName), {
      error: `expected one of ${CHAT_TEMPLATES.join(', ')}`,
    })
    .optional(),
  chatTemplateFile: z.string().min(1).optional(),
  matryoshka: z.boolean().optional(),
  promptCache: z.boolean().optional(),
  upstream: z.url({ protocol: /^https?$/ }).optional(),
  upstreamModel: z.string().min(1).optional(),
  upstreamApiKey: z.string().min(1).optional(),
  vramMib: z.int().min(1).optional(),
  podSpec: z.string().min(1).optional(),
  slots: z.int().min(1).max(256).optional(),
  contextSize: z.int().min(1).optional(),
  pricePerUnit: z
    .string()
    .regex(/^\d{1,78}$/, { error: 'expected an integer amount of wei, as a string' })
    .optional(),
});

const PodsFileSchema = z.array(PodEntrySchema).min(1).max(MAX_PODS);

export type PodEntry = z.output<typeof PodEntrySchema>;

/** What each pod of the file asks `operatorPod` for, its paths resolved; `slots` defaults to `defaults`'. */
export async function readPodsFile(
  path: string,
  defaults: Pick<OperatorPodOptions, 'dataDir' | 'slots' | 'threads' | 'gpu'>,
): Promise<OperatorPodOptions[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new InvalidArgumentError(`--pods ${path}: ${reason}`);
  }
  const parsed = PodsFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` ${formatPath(issue.path)}:`;
    throw new InvalidArgumentError(`--pods ${path}:${where} ${issue?.message ?? 'invalid'}`);
  }
  const from = dirname(resolve(path));
  return parsed.data.map((entry) => operatorPodOptions(entry, from, defaults));
}

function operatorPodOptions(
  entry: PodEntry,
  from: string,
  defaults: Pick<OperatorPodOptions, 'dataDir' | 'slots' | 'threads' | 'gpu'>,
): OperatorPodOptions {
  const { model, podSpec, chatTemplate, chatTemplateFile, pricePerUnit, vramMib, slots, ...rest } = entry;
  // The file's keys that are set: optional settings stay absent rather than undefined.
  const given = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as {
    [K in keyof typeof rest]?: Exclude<(typeof rest)[K], undefined>;
  };
  return {
    ...defaults,
    ...given,
    ...(slots === undefined ? {} : { slots }),
    ...(model === undefined ? {} : { model: resolve(from, model) }),
    ...(podSpec === undefined ? {} : { podSpec: resolve(from, podSpec) }),
    ...(chatTemplateFile === undefined ? {} : { chatTemplateFile: resolve(from, chatTemplateFile) }),
    ...(chatTemplate === undefined ? {} : { chatTemplate: chatTemplate as ChatTemplateName }),
    ...(pricePerUnit === undefined ? {} : { pricePerUnit: BigInt(pricePerUnit) }),
    ...(vramMib === undefined ? {} : { vramMiB: vramMib }),
  };
}
