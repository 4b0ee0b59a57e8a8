// The structured logger of the router and the miner. Authorization headers and anything named like a key
// are redacted, in case a caller logs a whole request or config by mistake; URLs inside logged errors
// are redacted too (an RPC client's error names the URL it called, API key in the path and all).
import { type DestinationStream, type Logger, pino } from 'pino';
import { redactUrlsIn } from '../../protocol/redact-url.ts';

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where the lines go; standard output by default. */
  destination?: DestinationStream;
}

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'privateKey',
  '*.privateKey',
];

export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    name: options.name ?? 'neurino-router',
    level: options.level ?? process.env.NEURINO_LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}

/** pino's error serializer, then every string in its output (message, stack, causes) URL-redacted. */
export function serializeError(error: unknown): unknown {
  return redactStrings(pino.stdSerializers.err(error as Error), 0);
}

function redactStrings(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactUrlsIn(value);
  // Serialized errors are shallow; the bound only guards against a pathological cause chain.
  if (depth > 8 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => redactStrings(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = redactStrings(item, depth + 1);
  return copy;
}
