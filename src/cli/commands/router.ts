// `neurino router`: the router and OpenAI-compatible gateway on one port (miners dial `/v1/miners`), and
// `neurino router keys …` to manage the developers' API keys in the router's store.

import { Command, InvalidArgumentError, Option } from 'commander';
import { type CorsOrigins, parseCorsOrigin } from '../../application/gateway/cors.ts';
import { createLogger } from '../../application/gateway/logger.ts';
import { parseTrustedProxy } from '../../application/gateway/trusted-proxy.ts';
import { startRouter } from '../../application/router-process.ts';
import { readAddressBook } from '../../chain/address-book.ts';
import type { JournalSync } from '../../orchestration/metering/journal-file.ts';
import { readPodSpecs } from '../../orchestration/router/pod-spec-files.ts';
import { fastAccount } from '../../protocol/fast-account.ts';
import { OPERATOR_TOKEN_ENV, serveOperatorToken } from '../operator-token.ts';
import {
  DEFAULT_DATA_DIR,
  parseAddress,
  parseHexKey,
  parseIntWithin,
  parseNonNegativeInt,
  parsePort,
  parsePositiveInt,
} from '../options.ts';
import { onShutdown } from '../shutdown.ts';
import { databaseUrlOf, keysCommand, type StoreFlags } from './router-keys.ts';
import { addServingLimits, type ServingLimitFlags, servingLimitsOf } from './router-limits.ts';

interface RouterFlags extends StoreFlags, ServingLimitFlags {
  rpcUrl?: string;
  addresses?: string;
  key?: `0x${string}`;
  host: string;
  port: number;
  pod: string[];
  batchSize: number;
  batchDelayMs: number;
  scaleDownIdleS: number;
  scaleUpBusyPct: number;
  frontend?: `0x${string}`;
  referNode: `0x${string}`[];
  /** Commander checks it is one of the choices. */
  journalSync: JournalSync;
  corsOrigin: string[];
  /** False with --no-cors. */
  cors: boolean;
  authFailuresPerMinute: number;
  requestsPerMinutePerKey: number;
  responseRetentionDays: number;
  trustProxy: string[];
  operationsHost?: string;
  operationsPort?: number;
  operatorTokenFile?: string;
  logLevel: string;
}

const DEFAULT_ROUTER_DIR = `${DEFAULT_DATA_DIR}/router`;

/** A repeatable flag's parser: each value checked by `parse`, its error shown as the flag's. */
function collecting<T>(parse: (value: string) => T): (value: string, previous: T[]) => T[] {
  return (value, previous) => {
    try {
      return [...previous, parse(value)];
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

/** Any origin unless some are named; none with --no-cors. */
function corsOriginsOf(flags: RouterFlags): CorsOrigins {
  if (!flags.cors) return [];
  if (flags.corsOrigin.length === 0 || flags.corsOrigin.includes('*')) return '*';
  return flags.corsOrigin;
}

/** What the command starts the router with; tests pass their own to see the options it would run with. */
export interface RouterCommandDeps {
  start: typeof startRouter;
  onShutdown: typeof onShutdown;
  /** Runs `reload` when the operator asks for the pod specs to be read again (default: on SIGHUP). */
  onReload?: (reload: () => Promise<void>) => void;
}

/** SIGHUP reads the specs again, as daemons reload their configuration; reloads run one at a time. */
function onSighup(reload: () => Promise<void>): void {
  let running = Promise.resolve();
  process.on('SIGHUP', () => {
    running = running.then(reload);
  });
}

export function routerCommand(deps: RouterCommandDeps = { start: startRouter, onShutdown }): Command {
  const command = new Command('router')
    .description('run the router and OpenAI-compatible gateway (miners connect to /v1/miners)')
    .option('--rpc-url <url>', 'JSON-RPC endpoint of the chain')
    .option('--addresses <file>', 'address book JSON written by `neurino deploy` or the devnet')
    .option('--key <hex>', 'router private key, holding ROUTER_ROLE (or env NEURINO_ROUTER_KEY)', parseHexKey)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'HTTP port of the gateway and the miners endpoint', parsePort, 8080)
    .option('--database-url <url>', 'PostgreSQL server (or env DATABASE_URL); default: PGlite in --data-dir')
    .option(
      '--data-dir <dir>',
      'where the router keeps its state: metering journal, and PGlite database unless --database-url',
      DEFAULT_ROUTER_DIR,
    )
    .addOption(
      new Option(
        '--pod <spec.json|dir>',
        'a pod spec to serve, or a folder of them (every *.json in it); repeatable. SIGHUP reads them again: ' +
          'pods added, removed or registered since are served as they are now',
      )
        .argParser(collecting((path) => path))
        .default([], 'none'),
    )
    .option('--batch-size <n>', 'settle every n receipts', parsePositiveInt, 100)
    .option('--batch-delay-ms <ms>', '…or once the oldest receipt waited this long', parsePositiveInt, 10_000)
    .option(
      '--scale-down-idle-s <s>',
      "unload a model from a node that served none of its requests for this long, down to its spec's autoscale.min nodes (0: never)",
      parseIntWithin(0, 2_147_483),
      300,
    )
    .option(
      '--scale-up-busy-pct <pct>',
      "load a model on one more node once its requests would fill more than this share of its warm nodes' slots, up to its spec's autoscale.max (0: keep only autoscale.min ahead)",
      parseIntWithin(0, 100),
      70,
    )
    .option('--frontend <address>', "frontend credited with this gateway's traffic", parseAddress)
    .addOption(
      new Option(
        '--refer-node <address>',
        'a node the frontend refers its requests to: preferred over the others where the model is as warm (repeatable; needs --frontend)',
      )
        .argParser(collecting(parseAddress))
        .default([], 'none'),
    )
    .addOption(
      new Option(
        '--journal-sync <mode>',
        'when an answered charge is kept: os = survives a crash of the router; ' +
          'disk = also a power loss, +~0.5 ms per paid request',
      )
        .choices(['os', 'disk'])
        .default('os'),
    )
    .addOption(
      new Option(
        '--cors-origin <origin>',
        'an origin whose browser scripts may call the API, e.g. https://app.example (repeatable)',
      )
        .argParser(collecting(parseCorsOrigin))
        .default([], 'any origin'),
    )
    .option('--no-cors', 'no cross-origin access from browsers at all')
    .option(
      '--auth-failures-per-minute <n>',
      'invalid API keys a client address may send per minute before it gets 429 (0: no limit)',
      parseNonNegativeInt,
      30,
    )
    .option(
      '--requests-per-minute-per-key <n>',
      'requests one API key may make per minute, counted by this router process (0: no limit)',
      parseNonNegativeInt,
      0,
    )
    .option(
      '--response-retention-days <n>',
      'days the Responses API keeps responses for GET /v1/responses/:id and previous_response_id (0: keep none)',
      parseNonNegativeInt,
      30,
    )
    .addOption(
      new Option(
        '--trust-proxy <address>',
        'a reverse proxy (address or CIDR) whose X-Forwarded-For names the client (repeatable)',
      )
        .argParser(collecting(parseTrustedProxy))
        .default([], 'none: the client is the connection peer'),
    )
    .option(
      '--operations-port <port>',
      "serve /metrics, /nodes and /pods (and /health) on this port instead of the gateway's, which keeps /health",
      parsePort,
    )
    .option('--operations-host <host>', 'interface of --operations-port (default: 127.0.0.1)')
    .option(
      '--operator-token-file <file>',
      `the secret every route of --operations-port but /health asks for, also opening /admin/keys there (or env ${OPERATOR_TOKEN_ENV}; default: <data-dir>/operator-token, made on first start)`,
    )
    .option('--log-level <level>', 'pino level: fatal, error, warn, info, debug, trace', 'info');
  addServingLimits(command).action(async (flags: RouterFlags) => {
    if (flags.referNode.length > 0 && flags.frontend === undefined) {
      throw new InvalidArgumentError("--refer-node needs --frontend: referrals are a frontend's");
    }
    const limits = servingLimitsOf(flags);
    if (flags.operationsHost !== undefined && flags.operationsPort === undefined) {
      throw new InvalidArgumentError('--operations-host needs --operations-port');
    }
    if (flags.operatorTokenFile !== undefined && flags.operationsPort === undefined) {
      throw new InvalidArgumentError('--operator-token-file needs --operations-port');
    }
    const rpcUrl = required(flags.rpcUrl, '--rpc-url');
    const addresses = required(flags.addresses, '--addresses');
    const envKey = process.env.NEURINO_ROUTER_KEY;
    const key = flags.key ?? (envKey ? parseHexKey(envKey) : undefined);
    if (key === undefined)
      throw new InvalidArgumentError('a router key is needed: --key or NEURINO_ROUTER_KEY');
    const addressBook = await readAddressBook(addresses);
    if (addressBook === undefined) throw new InvalidArgumentError(`no address book at ${addresses}`);
    const pods = await readPodSpecs(flags.pod);
    const logger = createLogger({ level: flags.logLevel });
    if (pods.length === 0)
      logger.warn(
        flags.pod.length === 0
          ? 'no --pod given: the router serves no model'
          : 'no pod spec in --pod: the router serves no model until one is added and it is sent SIGHUP',
      );
    const databaseUrl = databaseUrlOf(flags);
    const operatorToken = flags.operationsPort === undefined ? undefined : await serveOperatorToken(flags);
    const router = await deps.start({
      host: flags.host,
      port: flags.port,
      rpcUrl,
      addressBook,
      routerAccount: fastAccount(key),
      // The data dir always holds the metering journal; PGlite's database too unless a server is given.
      dataDir: flags.dataDir,
      journalSync: flags.journalSync,
      ...(databaseUrl === undefined ? {} : { databaseUrl }),
      pods,
      batch: { maxReceipts: flags.batchSize, maxDelayMs: flags.batchDelayMs },
      referredNodes: flags.referNode,
      logger,
      heartbeatMs: limits.heartbeatMs,
      miners: limits.miners,
      dispatcher: limits.dispatcher,
      drainGraceMs: limits.drainGraceMs,
      autoscaler: {
        scaleDownIdleMs: flags.scaleDownIdleS === 0 ? null : flags.scaleDownIdleS * 1000,
        busyShare: flags.scaleUpBusyPct === 0 ? null : flags.scaleUpBusyPct / 100,
      },
      ...(flags.operationsPort === undefined || operatorToken === undefined
        ? {}
        : {
            operations: {
              host: flags.operationsHost ?? '127.0.0.1',
              port: flags.operationsPort,
              token: operatorToken.token,
            },
          }),
      responseRetentionMs: flags.responseRetentionDays * 86_400_000,
      gateway: {
        ...limits.gateway,
        corsOrigins: corsOriginsOf(flags),
        authFailuresPerMinute: flags.authFailuresPerMinute,
        requestsPerMinutePerKey: flags.requestsPerMinutePerKey,
        ...(flags.trustProxy.length === 0 ? {} : { trustProxy: flags.trustProxy }),
        ...(flags.frontend === undefined ? {} : { frontend: flags.frontend }),
      },
    });
    deps.onShutdown(() => router.stop());
    (deps.onReload ?? onSighup)(async () => {
      try {
        await router.updatePods(await readPodSpecs(flags.pod));
      } catch (error) {
        logger.error(
          { err: error },
          'pods not reloaded, still serving them as they were: the pod specs have a problem',
        );
      }
    });
    console.error(
      `gateway  ${router.url}/v1   (OpenAI-compatible; create a key: neurino router keys create)`,
    );
    console.error(`miners   ${router.wsUrl}`);
    const models = router.catalog.list().flatMap((entry) => entry.models);
    console.error(
      `models   ${models.length === 0 ? 'none' : models.join(', ')}   (--pod${flags.pod.length === 0 ? ' serves some' : ' is read again on SIGHUP'})`,
    );
    if (router.operationsUrl !== undefined) {
      console.error(
        `ops      ${router.operationsUrl}/health · /metrics · /nodes · /pods · /admin/keys` +
          (operatorToken === undefined ? '' : `   (operator token: ${operatorToken.source})`),
      );
    } else {
      // Said once, as a router facing the internet would show its metrics and nodes to anyone.
      console.error(
        `ops      ${router.url}/metrics · /nodes · /pods on the gateway's port, without a key` +
          '   (--operations-port keeps them behind a token, on loopback)',
      );
    }
  });
  command.addCommand(keysCommand());
  return command;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new InvalidArgumentError(`${flag} is required`);
  return value;
}
