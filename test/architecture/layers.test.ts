// Imports point down only: application → orchestration → compute → protocol; chain is used by all and
// uses only protocol; nothing imports the cli. Test helpers (`testing/`, `*.test.ts`) are exempt.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = resolve(import.meta.dirname, '..', '..', 'src');

/** Which layers each layer may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  chain: ['protocol'],
  compute: ['protocol', 'chain'],
  orchestration: ['compute', 'protocol', 'chain'],
  application: ['orchestration', 'compute', 'protocol', 'chain'],
  validation: ['orchestration', 'compute', 'protocol', 'chain'],
  economics: ['protocol', 'chain'],
  cli: ['application', 'orchestration', 'compute', 'protocol', 'chain', 'validation', 'economics'],
};

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !file.split('/').includes('testing'));
}

describe('layering', () => {
  it('every import points to an allowed layer', async () => {
    const violations: string[] = [];
    for (const file of await sourceFiles(src)) {
      const layer = relative(src, file).split('/')[0] as string;
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = relative(src, resolve(file, '..', match[1] as string)).split('/')[0] as string;
        if (target === layer || target.startsWith('..')) continue;
        if (!(ALLOWED[layer] ?? []).includes(target))
          violations.push(`${relative(src, file)} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
