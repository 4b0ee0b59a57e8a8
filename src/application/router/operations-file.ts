// Where a running router's operators' listener is, kept in its data directory (`operations.json`) so
// `neurino router keys …` on the same machine reaches it when the router holds the directory (PGlite is
// one process: the command cannot open the store itself then). Removed when the router stops; a file left
// by a router that crashed is ignored, as its directory lock is (see data-dir-lock.ts).
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const FILE = 'operations.json';

const OperationsFile = z.object({ url: z.url({ protocol: /^https?$/ }), pid: z.number().int().positive() });
export type OperationsEndpoint = z.infer<typeof OperationsFile>;

export async function writeOperationsFile(dataDir: string, url: string): Promise<() => Promise<void>> {
  const path = join(dataDir, FILE);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ url, pid: process.pid })}\n`);
  await rename(temporary, path);
  return async () => {
    if ((await readOperationsFile(dataDir))?.pid === process.pid) await unlink(path).catch(() => {});
  };
}

/** The endpoint a router wrote, or undefined when there is none or it is unreadable. */
export async function readOperationsFile(dataDir: string): Promise<OperationsEndpoint | undefined> {
  const text = await readFile(join(dataDir, FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = OperationsFile.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
