// The router's serving limits as flags: the budget a request gets unless it asks, how long a job may queue,
// how long a failing node sits out, how big and how slow a request may be, how miners are let in, how long
// shutdown waits. Defaults are the parts' own, so `--help` shows what runs without the flags.
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type GatewayOptions,
} from '../../application/gateway/app.ts';
import { DEFAULT_BUDGET } from '../../application/gateway/budget.ts';
import { DEFAULT_DRAIN_GRACE_MS, type RouterOptions } from '../../application/router/router-options.ts';
import { DISPATCHER_DEFAULTS } from '../../orchestration/router/dispatcher.ts';
import { MINER_HUB_DEFAULTS } from '../../orchestration/router/miner-hub.ts';
import { MAX_JOB_RETRIES, MAX_JOB_TIMEOUT_MS } from '../../protocol/jobs-api.ts';
import { HEARTBEAT_MS_RANGE } from '../../protocol/messages/handshake.ts';
import { parseIntWithin } from '../options.ts';

export interface ServingLimitFlags {
  defaultMaxRetries: number;
  defaultTimeoutMs: number;
  queueMs: number;
  suspendMs: number;
  suspendMaxMs: number;
  maxBodyMib: number;
  requestTimeoutMs: number;
  heartbeatMs: number;
  maxHandshakes: number;
  maxHandshakesPerAddress: number;
  drainMs: number;
}

export type ServingLimits = Required<
  Pick<RouterOptions, 'heartbeatMs' | 'miners' | 'dispatcher' | 'drainGraceMs'>
> & {
  gateway: Required<Pick<GatewayOptions, 'budget' | 'bodyLimitBytes' | 'requestTimeoutMs'>>;
};

const HEADING = 'Serving limits:';
const MIB = 1024 * 1024;
/** A body past 1 GiB is not a request this gateway should hold in memory. */
const MAX_BODY_MIB = 1024;
/** Node's timers take at most 2^31 - 1 ms (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Each handshake under way holds a socket and a pending chain read. */
const MAX_HANDSHAKES = 65_536;
const milliseconds = (max = MAX_TIMER_MS) => parseIntWithin(1, max);

function limit(flags: string, description: string, parse: (value: string) => number, fallback: number) {
  return new Option(flags, description).argParser(parse).default(fallback).helpGroup(HEADING);
}

export function addServingLimits(command: Command): Command {
  return command
    .addOption(
      limit(
        '--default-max-retries <n>',
        'retries on other nodes for a request that does not ask (x-neurino-max-retries, max_retries)',
        parseIntWithin(0, MAX_JOB_RETRIES),
        DEFAULT_BUDGET.maxRetries,
      ),
    )
    .addOption(
      limit(
        '--default-timeout-ms <ms>',
        'deadline of a request that does not ask (x-neurino-timeout-ms, timeout_ms)',
        parseIntWithin(1, MAX_JOB_TIMEOUT_MS),
        DEFAULT_BUDGET.timeoutMs,
      ),
    )
    .addOption(
      limit(
        '--queue-ms <ms>',
        'how long a job may wait for a slot while every capable node is busy (within its deadline)',
        milliseconds(MAX_JOB_TIMEOUT_MS),
        DISPATCHER_DEFAULTS.maxQueueMs,
      ),
    )
    .addOption(
      limit(
        '--suspend-ms <ms>',
        'how long a node that failed a job sits out; doubled for each failure in a row',
        milliseconds(),
        DISPATCHER_DEFAULTS.suspension.baseMs,
      ),
    )
    .addOption(
      limit(
        '--suspend-max-ms <ms>',
        'the longest a failing node sits out',
        milliseconds(),
        DISPATCHER_DEFAULTS.suspension.maxMs,
      ),
    )
    .addOption(
      limit(
        '--max-body-mib <n>',
        'largest request body, in MiB (413 past it)',
        parseIntWithin(1, MAX_BODY_MIB),
        DEFAULT_BODY_LIMIT_BYTES / MIB,
      ),
    )
    .addOption(
      limit(
        '--request-timeout-ms <ms>',
        'time a client has to send its whole request (408 past it; answers may stream for longer)',
        milliseconds(),
        DEFAULT_REQUEST_TIMEOUT_MS,
      ),
    )
    .addOption(
      limit(
        '--heartbeat-ms <ms>',
        'how often miners send heartbeats (a session missing 3 is dropped)',
        parseIntWithin(HEARTBEAT_MS_RANGE.min, HEARTBEAT_MS_RANGE.max),
        MINER_HUB_DEFAULTS.heartbeatMs,
      ),
    )
    .addOption(
      limit(
        '--max-handshakes <n>',
        'miner handshakes under way at once; past it new sockets are refused and retry later',
        parseIntWithin(1, MAX_HANDSHAKES),
        MINER_HUB_DEFAULTS.maxHandshakes,
      ),
    )
    .addOption(
      limit(
        '--max-handshakes-per-address <n>',
        'miner handshakes under way at once from one address',
        parseIntWithin(1, MAX_HANDSHAKES),
        MINER_HUB_DEFAULTS.maxHandshakesPerAddress,
      ),
    )
    .addOption(
      limit(
        '--drain-ms <ms>',
        'how long shutdown waits for running jobs and miners before it stops them',
        milliseconds(),
        DEFAULT_DRAIN_GRACE_MS,
      ),
    );
}

/** The flags as the router's options; refuses combinations no single flag can check. */
export function servingLimitsOf(flags: ServingLimitFlags): ServingLimits {
  if (flags.suspendMaxMs < flags.suspendMs) {
    throw new InvalidArgumentError(
      `--suspend-max-ms (${flags.suspendMaxMs}) is shorter than --suspend-ms (${flags.suspendMs})`,
    );
  }
  if (flags.maxHandshakesPerAddress > flags.maxHandshakes) {
    throw new InvalidArgumentError(
      `--max-handshakes-per-address (${flags.maxHandshakesPerAddress}) is more than --max-handshakes (${flags.maxHandshakes})`,
    );
  }
  return {
    heartbeatMs: flags.heartbeatMs,
    miners: {
      maxHandshakes: flags.maxHandshakes,
      maxHandshakesPerAddress: flags.maxHandshakesPerAddress,
    },
    dispatcher: {
      maxQueueMs: flags.queueMs,
      suspension: { baseMs: flags.suspendMs, maxMs: flags.suspendMaxMs },
    },
    drainGraceMs: flags.drainMs,
    gateway: {
      budget: { maxRetries: flags.defaultMaxRetries, timeoutMs: flags.defaultTimeoutMs },
      bodyLimitBytes: flags.maxBodyMib * MIB,
      requestTimeoutMs: flags.requestTimeoutMs,
    },
  };
}
