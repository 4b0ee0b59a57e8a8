import {
  type Address,
  type Hex,
  hashTypedData,
  isAddressEqual,
  parseSignature,
  type recoverTypedDataAddress,
  type TypedDataDomain,
} from 'viem';
import { recoverDigestSigner } from './recover-signer.ts';

export const EIP712_NAME = 'Neurino';
export const EIP712_VERSION = '1';

/** The chain and contract a signature is bound to: a signature for one never verifies for another. */
export interface ProtocolDomain {
  chainId: number;
  verifyingContract: Address;
}

export function eip712Domain(domain: ProtocolDomain): TypedDataDomain {
  return {
    name: EIP712_NAME,
    version: EIP712_VERSION,
    chainId: domain.chainId,
    verifyingContract: domain.verifyingContract,
  };
}

/** secp256k1 order / 2: OpenZeppelin's ECDSA refuses larger `s` (malleable twins), so we do too. */
const HALF_CURVE_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * True when `signature` over the 32-byte `digest` was made by `expected`. Never throws: a malformed,
 * malleable (high-s) or otherwise unrecoverable signature is simply not valid.
 */
export function isDigestSignedBy(digest: Hex, signature: Hex, expected: Address): boolean {
  try {
    const { r, s, yParity } = parseSignature(signature);
    if (BigInt(s) > HALF_CURVE_ORDER) return false;
    const signer = recoverDigestSigner(digest, r, s, yParity);
    return signer !== undefined && isAddressEqual(signer, expected);
  } catch {
    return false;
  }
}

/** True when `signature` over the typed data was made by `expected`; the same rules as isDigestSignedBy. */
export async function isTypedDataSignedBy(
  typedData: Parameters<typeof recoverTypedDataAddress>[0],
  expected: Address,
): Promise<boolean> {
  try {
    const { signature, ...data } = typedData;
    return isDigestSignedBy(hashTypedData(data), signature as Hex, expected);
  } catch {
    return false;
  }
}
