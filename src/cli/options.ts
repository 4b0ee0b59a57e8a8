// Shared option parsers: a bad flag value is refused with a message naming the flag.
import { InvalidArgumentError, Option } from 'commander';
import { type Address, getAddress, isAddress } from 'viem';
import { CHAT_TEMPLATES } from '../compute/pods/chat-templates.ts';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError(`expected a TCP port 0-65535, got "${value}"`);
  }
  return port;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`expected a whole number, 0 or more, got "${value}"`);
  return n;
}

/** A parser of whole numbers from `min` to `max`, refusing others as "expected <what> min-max". */
export function parseIntWithin(min: number, max: number, what = 'a whole number'): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`expected ${what} ${min}-${max}, got "${value}"`);
    }
    return n;
  };
}

export function parseWei(value: string): bigint {
  if (!/^\d{1,78}$/.test(value))
    throw new InvalidArgumentError(`expected an integer amount of wei, got "${value}"`);
  return BigInt(value);
}

export function parseAddress(value: string): Address {
  if (!isAddress(value)) throw new InvalidArgumentError(`expected an address, got "${value}"`);
  return getAddress(value);
}

export function parseHexKey(value: string): `0x${string}` {
  const key = value.startsWith('0x') ? value : `0x${value}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new InvalidArgumentError('expected a 32-byte hex private key');
  return key as `0x${string}`;
}

export const DEFAULT_DATA_DIR = '.neurino';

/** `--chat-template`: a llama-cpp pod's template by node-llama-cpp's name, in place of the GGUF's own. */
export function chatTemplateOption(): Option {
  return new Option(
    '--chat-template <name>',
    "llama.cpp: the chat template to prompt the model with instead of the GGUF file's own (part of the pod " +
      'spec); it decides how tools are called and whether a turn may hold several calls',
  ).choices(CHAT_TEMPLATES);
}

/** `--chat-template-file`: a Jinja chat template of the operator's, in place of the GGUF's own. */
export function chatTemplateFileOption(): Option {
  return new Option(
    '--chat-template-file <file.jinja>',
    "llama.cpp: a Jinja chat template (as GGUF files carry them) to prompt the model with instead of the file's " +
      'own; its text goes into the pod spec',
  ).conflicts('chatTemplate');
}

export const MATRYOSHKA_HELP =
  'llama.cpp: the embedding model is a Matryoshka one (nomic-embed-text v1.5, mxbai-embed-large, ' +
  "Qwen3-Embedding...): a request's dimensions below its size gets the first ones, normalised again " +
  '(part of the pod spec)';
