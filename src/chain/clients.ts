// viem clients for any EVM JSON-RPC endpoint (the embedded anvil or a real chain).
import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';

export function chainFor(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: chainId === 31337 ? 'Neurino devnet' : `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export type NeurinoPublicClient = PublicClient<Transport, Chain>;
export type NeurinoWalletClient = WalletClient<Transport, Chain, Account>;

export function publicClientFor(chain: Chain): NeurinoPublicClient {
  // Anvil mines instantly; poll fast so receipts come back in milliseconds rather than seconds.
  return createPublicClient({ chain, transport: http(), pollingInterval: 50 });
}

export function walletClientFor(chain: Chain, account: Account): NeurinoWalletClient {
  return createWalletClient({ chain, account, transport: http(), pollingInterval: 50 });
}

/** Asks the endpoint for its chain id, so callers only need a URL. */
export async function connect(rpcUrl: string): Promise<{ chain: Chain; publicClient: NeurinoPublicClient }> {
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const chainId = await probe.getChainId();
  const chain = chainFor(chainId, rpcUrl);
  return { chain, publicClient: publicClientFor(chain) };
}
