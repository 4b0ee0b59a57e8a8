// A viem account whose EIP-712 signatures come from libsecp256k1 (WASM): miners sign every receipt and
// routers countersign it, so this sits on the per-job path. Everything else (transactions, messages) is
// viem's own. Signatures are identical: RFC 6979 nonces and low-s on both sides.
import * as secp256k1 from 'tiny-secp256k1';
import { type Hex, hashTypedData, hexToBytes, serializeSignature, toHex } from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';

export function fastAccount(privateKey: Hex): PrivateKeyAccount {
  const account = privateKeyToAccount(privateKey);
  const key = hexToBytes(privateKey, { size: 32 });
  return {
    ...account,
    async signTypedData(typedData) {
      const digest = hexToBytes(hashTypedData(typedData), { size: 32 });
      const { signature, recoveryId } = secp256k1.signRecoverable(digest, key);
      return serializeSignature({
        r: toHex(signature.subarray(0, 32)),
        s: toHex(signature.subarray(32, 64)),
        yParity: recoveryId,
      });
    },
  };
}
