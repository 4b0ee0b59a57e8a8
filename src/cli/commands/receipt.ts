// `neurino receipt <id>`: fetch a request's receipt from a gateway and check it without trusting the router.
import { Command } from 'commander';
import { FatalError } from '../../protocol/errors.ts';
import { receiptAuditJson } from '../../protocol/receipt-audit.ts';
import { readDevnetFile } from '../devnet-file.ts';
import { DEFAULT_DATA_DIR } from '../options.ts';
import { checkReceipt } from '../receipt-check.ts';

interface ReceiptOptions {
  gateway?: string;
  apiKey?: string;
  rpcUrl?: string;
  chain: boolean;
  dataDir: string;
  json?: boolean;
}

export function receiptCommand(): Command {
  return new Command('receipt')
    .description(
      "check a request's receipt without trusting the router: node signature, router attestation, settlement on-chain",
    )
    .argument('<id>', 'the id the request was answered with (chatcmpl-…, cmpl-…) or its x-neurino-job-id')
    .option('--gateway <url>', 'the gateway (default: NEURINO_GATEWAY_URL, else the local devnet)')
    .option('--api-key <key>', 'the API key that paid (default: NEURINO_API_KEY, else the devnet key)')
    .option('--rpc-url <url>', 'a chain to check the router role and the settled root (default: the devnet)')
    .option('--no-chain', 'do not ask the chain')
    .option('--data-dir <dir>', "where the devnet's devnet.json is", DEFAULT_DATA_DIR)
    .option('--json', 'print the receipt as the gateway sent it, then the checks')
    .action(async (id: string, options: ReceiptOptions) => {
      const devnet = await readDevnetFile(options.dataDir);
      const gatewayUrl = options.gateway ?? process.env.NEURINO_GATEWAY_URL ?? devnet?.gatewayUrl;
      const apiKey = options.apiKey ?? process.env.NEURINO_API_KEY ?? devnet?.apiKey;
      if (gatewayUrl === undefined || apiKey === undefined) {
        throw new FatalError('invalid_request', {
          message: 'no gateway or API key: pass --gateway and --api-key (or run it beside a devnet)',
        });
      }
      const rpcUrl = options.chain ? (options.rpcUrl ?? devnet?.rpcUrl) : undefined;
      const report = await checkReceipt(id, { gatewayUrl, apiKey, rpcUrl });
      if (options.json) console.log(JSON.stringify(receiptAuditJson(report.audit), null, 2));
      console.log(report.lines.join('\n'));
      if (!report.ok) process.exitCode = 1;
    });
}
