// A viem account whose EIP-712 and raw-digest signatures come from libsecp256k1 (./secp256k1.ts): miners
// sign every receipt, so this sits on the per-job path. Everything else (transactions, messages) is
// viem's own. Signatures are identical: RFC 6979 nonces and low-s on both sides.
import { type Hex, hashTypedData, hexToBytes } from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { FatalError } from './errors.ts';
import { signDigestRecoverable } from './secp256k1.ts';

const DIGEST = /^0x[0-9a-fA-F]{64}$/;

export function fastAccount(privateKey: Hex): PrivateKeyAccount {
  const account = privateKeyToAccount(privateKey);
  const key = hexToBytes(privateKey, { size: 32 });
  const signDigest = (digest: Hex): Hex => {
    // Never pad a short hash silently: whatever is signed must be exactly what the verifier hashes.
    if (!DIGEST.test(digest))
      throw new FatalError('internal_error', { message: 'sign needs a 32-byte hash' });
    const { signature, recoveryId } = signDigestRecoverable(Buffer.from(digest.slice(2), 'hex'), key);
    // r ‖ s ‖ v with v = 27 + the recovery bit: viem's serializeSignature gives the same bytes, through
    // BigInts (it cost a third of the signature itself).
    return `0x${Buffer.from(signature.buffer, signature.byteOffset, 64).toString('hex')}${recoveryId === 1 ? '1c' : '1b'}`;
  };
  return {
    ...account,
    async sign({ hash }) {
      return signDigest(hash);
    },
    async signTypedData(typedData) {
      return signDigest(hashTypedData(typedData));
    },
  };
}
