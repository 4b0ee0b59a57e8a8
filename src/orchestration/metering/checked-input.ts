// The metering API's checks of ids and addresses it is handed: a clear `invalid_request` naming the
// parameter, never a malformed value in the store.
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { FatalError } from '../../protocol/errors.ts';

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** The job id in lower case; throws unless it is 32 bytes of 0x-hex. */
export function checkedJobId(jobId: Hex): Hex {
  if (typeof jobId !== 'string' || !BYTES32.test(jobId)) {
    throw new FatalError('invalid_request', { message: 'jobId must be 32 bytes of 0x-hex', param: 'jobId' });
  }
  return jobId.toLowerCase() as Hex;
}

/** The address checksummed; throws naming `name` unless it is an address. */
export function checkedAddress(value: Address, name: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new FatalError('invalid_request', { message: `${name} must be an address`, param: name });
  }
  return getAddress(value);
}
