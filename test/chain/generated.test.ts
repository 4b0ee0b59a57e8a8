// The committed ABIs must match the contracts: regenerate from the forge build and compare.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderArtifacts } from '../../src/chain/artifacts-render.ts';

const root = join(import.meta.dirname, '..', '..');
const outDir = join(root, 'contracts', 'out');

describe('generated contract bindings', () => {
  it('are fresh (run `npm run gen:contracts` after changing a contract)', async () => {
    if (!existsSync(join(outDir, 'Settlement.sol'))) {
      const build = spawnSync('node', [join(root, 'scripts', 'forge.js'), 'build'], { stdio: 'inherit' });
      expect(build.status).toBe(0);
    }
    const files = await renderArtifacts(outDir);
    for (const [name, text] of files) {
      const committed = await readFile(join(root, 'src', 'chain', 'generated', name), 'utf8');
      expect(committed, `src/chain/generated/${name} is stale`).toBe(text);
    }
  });
});
