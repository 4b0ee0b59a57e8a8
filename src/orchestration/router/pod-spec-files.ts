import { readFile } from 'node:fs/promises';
import { FatalError } from '../../protocol/errors.ts';
import { type PodSpec, parsePodSpec } from '../../protocol/pod-spec.ts';
import { PodCatalog } from './pod-catalog.ts';

/** One pod spec from a JSON file (the on-disk form: pricePerUnit as a decimal string). */
export async function readPodSpecFile(path: string): Promise<PodSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new FatalError('invalid_request', { message: `cannot read pod spec ${path}`, cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new FatalError('invalid_request', { message: `pod spec ${path} is not valid JSON`, cause });
  }
  const parsed = parsePodSpec(value);
  if (parsed.ok) return parsed.value;
  throw new FatalError('invalid_request', {
    message: `pod spec ${path}: ${parsed.error.message}`,
    details: { path, ...(parsed.error.details ?? {}) },
  });
}

/** A catalog of the pods in these spec files; the first bad file stops the load with its path in the error. */
export async function loadPodCatalog(paths: readonly string[]): Promise<PodCatalog> {
  const catalog = new PodCatalog();
  for (const path of paths) catalog.add(await readPodSpecFile(path));
  return catalog;
}
