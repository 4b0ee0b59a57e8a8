// The operators' lists a router serves (GET /nodes, GET /pods), fetched from the command line: from the
// router named by --gateway (or NEURINO_GATEWAY_URL), else the local devnet's operators' port with the
// token in its data directory.
import { FatalError, RetryableError } from '../protocol/errors.ts';
import { readDevnetFile } from './devnet-file.ts';
import { givenOperatorToken, OPERATOR_TOKEN_ENV } from './operator-token.ts';
import { fetchRouter } from './router-fetch.ts';

export interface OperatorListOptions {
  gateway?: string;
  operatorTokenFile?: string;
  dataDir: string;
}

export async function fetchOperatorList<T>(
  path: '/nodes' | '/pods',
  options: OperatorListOptions,
): Promise<T[]> {
  const devnet = await readDevnetFile(options.dataDir);
  const named = options.gateway ?? process.env.NEURINO_GATEWAY_URL;
  // The devnet's router serves its lists on its operators' port, behind the token in its data dir.
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
  return fetchList<T>(new URL(path, gatewayUrl), token?.token);
}

async function fetchList<T>(url: URL, token: string | undefined): Promise<T[]> {
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
      message: `the router at ${url.origin} answered GET ${url.pathname} with ${response.status} (is it a Neurino router?)`,
    });
  }
  const body = (await response.json()) as { data?: T[] };
  if (!Array.isArray(body.data)) {
    throw new RetryableError('service_unavailable', {
      message: `the router at ${url.origin} sent no list for GET ${url.pathname}`,
    });
  }
  return body.data;
}
