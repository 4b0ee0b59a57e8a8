#!/usr/bin/env node
// Runs the native forge binary from node_modules (the npm wrapper always exits 0, even on failure).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const forge = join(dirname(require.resolve('@foundry-rs/forge-linux-amd64/package.json')), 'bin', 'forge');
const result = spawnSync(forge, process.argv.slice(2), {
  cwd: join(root, 'contracts'),
  stdio: 'inherit',
  env: { ...process.env, FOUNDRY_DISABLE_NIGHTLY_WARNING: '1' },
});
if (result.error) throw result.error;
process.exit(result.status ?? 1);
