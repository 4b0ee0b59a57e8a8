// A deployed protocol on anvil for the CLI's chain commands, with an address book in a temp dir and the
// flags that point a command at them (and at no devnet: --data-dir is that temp dir).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/support/free-port.ts';
import { writeAddressBook } from '../../chain/address-book.ts';
import {
  type ProtocolFixture,
  startProtocolFixture,
} from '../../orchestration/settlement/testing/protocol-fixture.ts';

export interface CliChain {
  chain: ProtocolFixture;
  /** A temp dir of the test's own; removed by stop(). */
  dir: string;
  /** --rpc-url, --addresses and --data-dir for a command. */
  chainFlags: string[];
  stop(): Promise<void>;
}

export async function startCliChain(name: string): Promise<CliChain> {
  const chain = await startProtocolFixture(await freePort());
  const dir = await mkdtemp(join(tmpdir(), `neurino-${name}-cli-`));
  const addresses = join(dir, 'addresses.json');
  await writeAddressBook(addresses, chain.book);
  return {
    chain,
    dir,
    chainFlags: ['--rpc-url', chain.anvil.rpcUrl, '--addresses', addresses, '--data-dir', dir],
    async stop() {
      await chain.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
