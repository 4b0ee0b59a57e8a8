// How the chain is shown to a person: RPC URL, addresses, dev accounts, something to try.
import type { AddressBook } from '../chain/address-book.ts';
import { DEV_ROLES, devAccount, devPrivateKey } from '../chain/dev-accounts.ts';

export function describeChain(rpcUrl: string, book: AddressBook, options: { devAccounts: boolean }): string {
  const lines = [`RPC URL     ${rpcUrl}`, `chain id    ${book.chainId}`, '', 'contracts'];
  for (const [name, address] of Object.entries(book.contracts)) lines.push(`  ${name.padEnd(20)} ${address}`);
  if (options.devAccounts) {
    lines.push('', 'dev accounts (anvil mnemonic; never use on a real chain)');
    for (const [role, index] of Object.entries(DEV_ROLES)) {
      lines.push(`  ${role.padEnd(12)} ${devAccount(index).address}  ${devPrivateKey(index)}`);
    }
  }
  lines.push(
    '',
    'try',
    `  npx cast call ${book.contracts.neurinoToken} "totalSupply()(uint256)" --rpc-url ${rpcUrl}`,
  );
  return lines.join('\n');
}
