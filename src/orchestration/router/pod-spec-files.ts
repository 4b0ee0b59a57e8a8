import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
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

/**
 * The specs at these paths: a file is one spec, a folder every `*.json` file directly in it (by name, so
 * an operator adds a pod by dropping its spec there). The first bad file stops the read, named.
 */
export async function readPodSpecs(paths: readonly string[]): Promise<PodSpec[]> {
  const specs: PodSpec[] = [];
  for (const path of paths) {
    let folder = false;
    try {
      folder = (await stat(path)).isDirectory();
    } catch (cause) {
      throw new FatalError('invalid_request', { message: `cannot read pod spec ${path}`, cause });
    }
    if (!folder) {
      specs.push(await readPodSpecFile(path));
      continue;
    }
    const names = (await readdir(path)).filter((name) => name.endsWith('.json')).sort();
    for (const name of names) specs.push(await readPodSpecFile(join(path, name)));
  }
  return specs;
}

/** A catalog of the pods at these paths (as readPodSpecs reads them). */
export async function loadPodCatalog(paths: readonly string[]): Promise<PodCatalog> {
  const catalog = new PodCatalog();
  for (const spec of await readPodSpecs(paths)) catalog.add(spec);
  return catalog;
}
