import { type Address, getAddress, type Hex, isAddress, maxUint256 } from 'viem';
import { z } from 'zod';
import { isBoundedJson, MAX_JSON_DEPTH } from './canonical-json.ts';

/**
 * Scalar schemas shared by every wire format. Values that JSON cannot carry exactly travel as strings and
 * are decoded by zod codecs (`z.decode` / `z.encode`): uint256 amounts as decimal strings ↔ bigint.
 * Hex is normalised on the way in (addresses to EIP-55, hashes to lower case) so equal values compare equal.
 */

/** 0x + 40 hex, all lower case or a valid EIP-55 checksum; decodes to the checksummed form. */
export const AddressSchema = z.codec(
  z
    .string()
    .max(42)
    .refine((s) => isAddress(s, { strict: true }), {
      message: 'expected an address: 0x and 40 hex digits, lower case or EIP-55 checksummed',
    })
    .meta({
      id: 'Address',
      description: 'An account address: 0x and 40 hex digits, all lower case or EIP-55 checksummed',
      // For the published JSON Schema; the refinement above also checks the checksum.
      pattern: '^0x[0-9a-fA-F]{40}$',
    }),
  z.custom<Address>(),
  { decode: (s) => getAddress(s), encode: (a) => a },
);

function hexOfBytes(bytes: number, what: string, id: string) {
  const pattern = new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`);
  return z.codec(
    z
      .string()
      .max(2 + bytes * 2)
      .regex(pattern, { message: `expected ${what}: 0x and ${bytes * 2} hex digits` })
      .meta({ id, description: `${what[0]?.toUpperCase()}${what.slice(1)}: 0x and ${bytes * 2} hex digits` }),
    z.custom<Hex>(),
    { decode: (s) => s.toLowerCase() as Hex, encode: (h) => h },
  );
}

/** 32 bytes: ids and hashes (jobId, podId, attemptId, resultHash, nonces). */
export const Bytes32Schema = hexOfBytes(32, '32 bytes', 'Bytes32');
/** A 65-byte secp256k1 signature (r, s, v). */
export const SignatureSchema = hexOfBytes(65, 'a 65-byte secp256k1 signature (r, s, v)', 'Signature');

/** uint256 on the wire: a decimal string without sign or leading zeros; decodes to bigint. */
export const Uint256Schema = z.codec(
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,77})$/, { message: 'expected a non-negative integer as a decimal string' })
    .meta({
      id: 'Uint256',
      description: 'A uint256 (wei, units) as a decimal string, without sign or leading zeros',
    }),
  z.bigint().min(0n).max(maxUint256, { message: 'exceeds uint256' }),
  { decode: (s) => BigInt(s), encode: (b) => b.toString() },
);

/** Milliseconds since the Unix epoch. */
/** The most MiB of memory any field carries (a pod's, a node's, an attempt's metering): 2 PiB. */
export const MAX_MIB = 2 ** 31;

/** Whole MiB of memory, 0 to MAX_MIB. */
export const MiBSchema = z.int().min(0).max(MAX_MIB);

export const TimestampMsSchema = z
  .int()
  .min(0)
  .meta({ id: 'TimestampMs', description: 'Milliseconds since the Unix epoch' });

/** Session ids, router ids and other names peers choose: short and printable. */
export const IdentifierSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, { message: 'expected 1-64 characters of A-Z a-z 0-9 . _ : -' })
  .meta({ id: 'Identifier', description: '1-64 characters of A-Z a-z 0-9 . _ : -' });

/** Arbitrary JSON from a peer (job input, output): bounded in depth so later recursion stays safe. */
export const JsonValueSchema = z
  .unknown()
  .refine((value): boolean => value !== undefined, { message: 'required', abort: true })
  .refine(isBoundedJson, {
    message: `expected plain JSON (finite numbers) no deeper than ${MAX_JSON_DEPTH} levels`,
  })
  .meta({
    id: 'JsonValue',
    description: `Any JSON value (finite numbers) no deeper than ${MAX_JSON_DEPTH} levels`,
  });

/** Version strings of software (semver or free form), bounded. */
export const VersionStringSchema = z.string().min(1).max(64);
