// The flags of the commands that show a router's operators' lists (`neurino nodes`, `neurino pods`).
import type { Command } from 'commander';
import { OPERATOR_TOKEN_ENV } from '../operator-token.ts';
import { DEFAULT_DATA_DIR } from '../options.ts';

export function addOperatorListOptions(command: Command): Command {
  return command
    .option(
      '--gateway <url>',
      "the router's gateway or operators' listener (default: NEURINO_GATEWAY_URL, else the local devnet)",
    )
    .option(
      '--operator-token-file <file>',
      `the operator token, for a router's operators' listener (or env ${OPERATOR_TOKEN_ENV})`,
    )
    .option('--data-dir <dir>', "where the devnet's devnet.json is", DEFAULT_DATA_DIR)
    .option('--json', 'print the list as the router sent it');
}
