// Errors of the miner program itself (key, hardware, chain, router admission). Failures of a job are
// reported to the router with protocol codes instead (see job-runner.ts); these end up in front of the
// operator, so each message says what to do.

export const MINER_ERROR_CODES = {
  /** The node key given (flag, env or file) is not a valid secp256k1 private key. */
  invalid_key: { retryable: false },
  /** The key file can be read by other users: refuse it, as ssh does. */
  key_file_insecure: { retryable: false },
  /** The key file could not be read or created. */
  key_file_unreadable: { retryable: false },
  /** A setting is missing or out of range. */
  invalid_config: { retryable: false },
  /** The router refused the handshake for a reason that waiting will not fix. */
  router_refused: { retryable: false },
  /** The node is jailed on-chain: only governance can release it. */
  node_jailed: { retryable: false },
  /** The requested stake is below the registry's minimum. */
  stake_below_minimum: { retryable: false },
  /** The node key holds too little NEU for the stake. */
  insufficient_neu: { retryable: false },
  /** The node key holds no native token to pay gas. */
  insufficient_gas: { retryable: false },
  /** A chain call failed (RPC down, transaction reverted). */
  chain_error: { retryable: true },
  /** The miner was stopped before it got where the caller was waiting for. */
  miner_stopped: { retryable: false },
} as const;

export type MinerErrorCode = keyof typeof MINER_ERROR_CODES;

export interface MinerErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class MinerError extends Error {
  override name = 'MinerError';
  readonly code: MinerErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: MinerErrorCode, message: string, options: MinerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = MINER_ERROR_CODES[code].retryable;
    this.details = options.details;
  }

  /** What logs print: never the cause chain (it may quote a key or an RPC URL with a secret). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isMinerError(value: unknown): value is MinerError {
  return value instanceof MinerError;
}
