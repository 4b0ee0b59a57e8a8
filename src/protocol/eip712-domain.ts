import {
  type Address,
  type Hex,
  hashTypedData,
  type recoverTypedDataAddress,
  type TypedDataDomain,
} from 'viem';
import { recoverSignerHex } from './recover-signer.ts';

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
const HALF_CURVE_ORDER = Buffer.from(
  '7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0',
  'hex',
);

const SIGNATURE_HEX = /^0x[0-9a-fA-F]{130}$/;
const DIGEST_HEX = /^0x[0-9a-fA-F]{64}$/;

/**
 * True when `signature` (r ‖ s ‖ v, v 27/28 or 0/1) over the 32-byte `digest` was made by `expected`. Never
 * throws: a malformed, malleable (high-s) or otherwise unrecoverable signature is simply not valid. It runs
 * once per job on the router, so it reads the bytes itself rather than through viem's parsing (BigInts,
 * checksummed addresses), which cost about half as much again as the recovery.
 */
export function isDigestSignedBy(digest: Hex, signature: Hex, expected: Address): boolean {
  if (typeof signature !== 'string' || !SIGNATURE_HEX.test(signature)) return false;
  if (typeof digest !== 'string' || !DIGEST_HEX.test(digest)) return false;
  if (typeof expected !== 'string') return false;
  const bytes = Buffer.from(signature.slice(2), 'hex');
  const v = bytes[64] ?? -1;
  const yParity = v === 27 || v === 0 ? 0 : v === 28 || v === 1 ? 1 : undefined;
  if (yParity === undefined) return false;
  const rs = bytes.subarray(0, 64);
  if (rs.subarray(32).compare(HALF_CURVE_ORDER) > 0) return false;
  const signer = recoverSignerHex(Buffer.from(digest.slice(2), 'hex'), rs, yParity);
  return signer !== undefined && signer === expected.toLowerCase();
}

/**
 * The form of a signature isDigestSignedBy accepted that on-chain ECDSA (OpenZeppelin, ecrecover) also
 * takes: lower-case, v as 27/28 (a bare recovery bit 0/1 becomes 27/28). Stored receipts carry this form,
 * so they stay evidence anywhere whatever the node's signing library wrote.
 */
export function canonicalSignature(signature: Hex): Hex {
  const lower = signature.toLowerCase() as Hex;
  const v = lower.slice(130);
  if (v !== '00' && v !== '01') return lower;
  return `0x${lower.slice(2, 130)}${v === '00' ? '1b' : '1c'}`;
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
