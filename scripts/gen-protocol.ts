// Writes the wire protocol's JSON Schemas (docs/schemas/) from the zod schemas the router and miner decode
// frames with. Run `npm run gen:protocol` after changing a message; src/protocol/wire-json-schema.test.ts
// fails when the committed files drift.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderJsonSchema, wireJsonSchemas } from '../src/protocol/wire-json-schema.ts';

const target = join(fileURLToPath(import.meta.url), '..', '..', 'docs', 'schemas');
await mkdir(target, { recursive: true });
const files = wireJsonSchemas();
for (const { name, schema } of files) await writeFile(join(target, name), renderJsonSchema(schema));
console.log(`wrote ${files.map((f) => f.name).join(', ')} to docs/schemas`);
