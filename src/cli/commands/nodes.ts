// `neurino nodes`: the nodes connected to a router, as its GET /nodes reports them.
import { Command } from 'commander';
import type { NodeStatus } from '../../application/gateway/ports.ts';
import { FatalError, RetryableError } from '../../protocol/errors.ts';
import { readDevnetFile } from '../devnet-file.ts';
import { formatNodeTable } from '../node-table.ts';
import { givenOperatorToken, OPERATOR_TOKEN_ENV } from '../operator-token.ts';
import { DEFAULT_DATA_DIR } from '../options.ts';
import { fetchRouter } from '../router-fetch.ts';

interface NodesOptions {
  gateway?: string;
  operatorTokenFile?: string;
  dataDir: string;
  json?: boolean;
}

export function nodesCommand(): Command {
  return new Command('nodes')
    .description('the nodes connected to a router: state, running jobs, hardware, uptime, warm models')
    .option(
      '--gateway <url>',
      "the router's gateway or operators' listener (default: NEURINO_GATEWAY_URL, else the local devnet)",
    )
    .option(
      '--operator-token-file <file>',
      `the operator token, for a router's operators' listener (or env ${OPERATOR_TOKEN_ENV})`,
    )
    .option('--data-dir <dir>', "where the devnet's devnet.json is", DEFAULT_DATA_DIR)
    .option('--json', 'print the list as the router sent it')
    .action(async (options: NodesOptions) => {
      const devnet = await readDevnetFile(options.dataDir);
      const named = options.gateway ?? process.env.NEURINO_GATEWAY_URL;
      // The devnet's router serves /nodes on its operators' port, behind the token in its data dir.
      const fromDevnet = named === undefined ? devnet?.operationsUrl : undefined;
      const gatewayUrl = named ?? fromDevnet ?? devnet?.gatewayUrl;
      if (gatewayUrl === undefined) {
        throw new FatalError('invalid_request', {
          message: 'no router to ask: pass --gateway (or run it beside a devnet)',
        });
      }
      const tokenFile =
        options.operatorTokenFile ?? (fromDevnet === undefined ? undefined : devnet?.operatorTokenFile);
      const token = await givenOperatorToken(tokenFile === undefined ? {} : { operatorTokenFile: tokenFile });
      const nodes = await fetchNodes(gatewayUrl, token?.token);
      console.log(options.json ? JSON.stringify(nodes, null, 2) : formatNodeTable(nodes));
    });
}

async function fetchNodes(gatewayUrl: string, token: string | undefined): Promise<NodeStatus[]> {
  const url = new URL('/nodes', gatewayUrl);
  const response = await fetchRouter(
    url,
    {
      signal: AbortSignal.timeout(10_000),
      ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
    },
    `router at ${url.origin}`,
  );
  if (response.status === 401) {
    throw token === undefined
      ? new FatalError('missing_operator_token', {
          message: `the router at ${url.origin} asks for its operator token: --operator-token-file or ${OPERATOR_TOKEN_ENV}`,
        })
      : new FatalError('invalid_operator_token', {
          message: `the router at ${url.origin} refused the operator token`,
        });
  }
  if (response.status !== 200) {
    throw new RetryableError('service_unavailable', {
      message: `the router at ${url.origin} answered GET /nodes with ${response.status} (is it a Neurino router?)`,
    });
  }
  const body = (await response.json()) as { data?: NodeStatus[] };
  if (!Array.isArray(body.data)) {
    throw new RetryableError('service_unavailable', {
      message: `the router at ${url.origin} sent no node list`,
    });
  }
  return body.data;
}
