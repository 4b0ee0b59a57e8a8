// The tiny model written to a temporary folder for one benchmark, removed after it whatever happens.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../src/compute/model/tiny-model.ts';

export async function withTinyModel<T>(name: string, use: (modelPath: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  try {
    const { path } = await writeTinyModel(join(dir, 'neurino-tiny.gguf'));
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
