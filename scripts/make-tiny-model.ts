// Writes the self-generated tiny GGUF model (see src/compute/model/tiny-model.ts).
// Usage: tsx scripts/make-tiny-model.ts [path] [--seed N]   (default path: .models/neurino-tiny.gguf)
import { parseArgs } from 'node:util';
import {
  TINY_MODEL_DEFAULT_SEED,
  tinyModelFileName,
  writeTinyModel,
} from '../src/compute/model/tiny-model.ts';

const USAGE = 'usage: tsx scripts/make-tiny-model.ts [path] [--seed N]';

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseArgs<{ options: { seed: { type: 'string' } }; allowPositionals: true }>>;
try {
  parsed = parseArgs({ options: { seed: { type: 'string' } }, allowPositionals: true });
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
const { values, positionals } = parsed;
const seed = values.seed === undefined ? TINY_MODEL_DEFAULT_SEED : Number(values.seed);
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
  fail('--seed must be an integer from 0 to 4294967295');
if (positionals.length > 1) fail('at most one path');
const path = positionals[0] ?? `.models/${tinyModelFileName(seed)}`;
const model = await writeTinyModel(path, { seed });
console.log(`${model.path}  ${model.bytes} bytes  sha256 ${model.sha256}`);
