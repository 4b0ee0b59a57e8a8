// The TypeScript side of receipts and batch roots checked against OpenZeppelin's Solidity (EIP712, ECDSA,
// MerkleProof) on a real anvil chain, so off-chain hashes and on-chain checks cannot drift apart.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import solc from 'solc';
import {
  type Abi,
  type Address,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  keccak256,
  toHex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, DEV_MNEMONIC, startAnvil } from '../chain/anvil.ts';
import { MerkleTree } from './merkle.ts';
import {
  hashReceipt,
  RECEIPT_TYPE,
  RECEIPT_TYPEHASH,
  type Receipt,
  receiptDigest,
  signReceipt,
} from './receipt.ts';

const SOURCE = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

contract ReceiptCheck is EIP712("Neurino", "1") {
    struct Receipt {
        bytes32 jobId; bytes32 attemptId; bytes32 podId; address node; address frontend; address payer;
        uint256 computeUnits; uint32 inputTokens; uint32 outputTokens; uint256 price; bytes32 resultHash;
        uint64 startedAt; uint64 finishedAt;
    }
    bytes32 public constant RECEIPT_TYPEHASH = keccak256("${RECEIPT_TYPE}");

    // All members are static, so abi.encode(r) lays them out exactly as EIP-712 encodeData does.
    function structHash(Receipt calldata r) public pure returns (bytes32) {
        return keccak256(abi.encode(RECEIPT_TYPEHASH, r));
    }
    function digest(Receipt calldata r) external view returns (bytes32) {
        return _hashTypedDataV4(structHash(r));
    }
    function signer(Receipt calldata r, bytes calldata signature) external view returns (address) {
        return ECDSA.recover(_hashTypedDataV4(structHash(r)), signature);
    }
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }
}`;

function compile(): { abi: Abi; bytecode: Hex } {
  const require = createRequire(import.meta.url);
  const nodeModules = dirname(dirname(dirname(require.resolve('@openzeppelin/contracts/package.json'))));
  const input = {
    language: 'Solidity',
    sources: { 'ReceiptCheck.sol': { content: SOURCE } },
    settings: { outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const findImports = (path: string) => {
    try {
      return { contents: readFileSync(join(nodeModules, path), 'utf8') };
    } catch {
      return { error: `not found: ${path}` };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === 'error');
  if (errors.length > 0)
    throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join('\n'));
  const contract = output.contracts['ReceiptCheck.sol'].ReceiptCheck;
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('receipts and Merkle roots match OpenZeppelin on-chain', () => {
  let anvil: Anvil;
  let abi: Abi;
  let address: Address;
  let publicClient: ReturnType<typeof createPublicClient>;

  beforeAll(async () => {
    const compiled = compile();
    abi = compiled.abi;
    anvil = await startAnvil({ port: await freePort(), mnemonic: DEV_MNEMONIC, accounts: 1 });
    const chain = { ...foundry, rpcUrls: { default: { http: [anvil.rpcUrl] } } };
    publicClient = createPublicClient({ chain, transport: http(anvil.rpcUrl) });
    const deployer = privateKeyToAccount(
      '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
    );
    const wallet = createWalletClient({ account: deployer, chain, transport: http(anvil.rpcUrl) });
    const hash = await wallet.deployContract({ abi, bytecode: compiled.bytecode });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    address = receipt.contractAddress as Address;
  });

  afterAll(async () => {
    await anvil?.stop();
  });

  const node = privateKeyToAccount(generatePrivateKey());
  const sample = (i: number): Receipt => ({
    jobId: keccak256(toHex(`job-${i}`)),
    attemptId: keccak256(toHex(`attempt-${i}`)),
    podId: keccak256(toHex('pod')),
    node: node.address,
    frontend: '0x0000000000000000000000000000000000000000',
    payer: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    computeUnits: 10n ** 30n + BigInt(i),
    inputTokens: 2 ** 32 - 1,
    outputTokens: i,
    price: 2n ** 255n + BigInt(i),
    resultHash: keccak256(toHex(`out-${i}`)),
    startedAt: 1_700_000_000_000 + i,
    finishedAt: 1_700_000_000_500 + i,
  });
  const asTuple = (r: Receipt) => ({
    ...r,
    startedAt: BigInt(r.startedAt),
    finishedAt: BigInt(r.finishedAt),
  });
  const read = (functionName: string, args: unknown[]) =>
    publicClient.readContract({ address, abi, functionName, args });

  it('the typehash, struct hash and signed digest agree', async () => {
    const domain = { chainId: anvil.chainId, verifyingContract: address };
    const receipt = sample(1);
    expect(await read('RECEIPT_TYPEHASH', [])).toBe(RECEIPT_TYPEHASH);
    expect(await read('structHash', [asTuple(receipt)])).toBe(hashReceipt(receipt));
    expect(await read('digest', [asTuple(receipt)])).toBe(receiptDigest(domain, receipt));
  });

  it('ECDSA.recover finds the node that signed with signReceipt', async () => {
    const domain = { chainId: anvil.chainId, verifyingContract: address };
    const receipt = sample(2);
    const signature = await signReceipt(node, domain, receipt);
    expect(await read('signer', [asTuple(receipt), signature])).toBe(node.address);
  });

  it('MerkleProof.verify accepts every proof of a batch and refuses a foreign leaf', async () => {
    const leaves = Array.from({ length: 7 }, (_, i) => hashReceipt(sample(i)));
    const tree = MerkleTree.from(leaves);
    for (const [i, leaf] of leaves.entries()) {
      expect(await read('verify', [tree.proof(i), tree.root, leaf]), `leaf ${i}`).toBe(true);
    }
    expect(await read('verify', [tree.proof(0), tree.root, hashReceipt(sample(99))])).toBe(false);
  });
});
