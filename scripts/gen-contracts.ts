// Turns forge's build output into typed TypeScript modules (ABI `as const` + creation bytecode), so the
// chain module never carries a hand-written ABI. Run `npm run gen:contracts` after changing a contract;
// test/chain/generated.test.ts fails when the committed files drift from the build.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEPLOYABLE_CONTRACTS, renderArtifacts } from '../src/chain/artifacts-render.ts';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const target = join(root, 'src', 'chain', 'generated');

const files = await renderArtifacts(join(root, 'contracts', 'out'));
await mkdir(target, { recursive: true });
for (const [name, text] of files) await writeFile(join(target, name), text);
console.log(`wrote ${files.size} files for ${DEPLOYABLE_CONTRACTS.length} contracts to src/chain/generated`);
