// The router's structured logger. Authorization headers and anything named like a key are redacted, in
// case a caller logs a whole request or config by mistake.
import { type Logger, pino } from 'pino';

export interface LoggerOptions {
  level?: string;
  name?: string;
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
  return pino({
    name: options.name ?? 'neurino-router',
    level: options.level ?? process.env.NEURINO_LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  });
}
