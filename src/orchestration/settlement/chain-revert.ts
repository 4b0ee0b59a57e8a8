// What a refused settle() says: the decoded custom error of the contract that reverted, for logs and for
// the one refusal the batcher can work around (a payer short of credits).
import { type Address, BaseError, ContractFunctionRevertedError, getAddress, isAddress } from 'viem';
import { RetryableError } from '../../protocol/errors.ts';

function revertOf(cause: unknown): ContractFunctionRevertedError | undefined {
  if (!(cause instanceof BaseError)) return undefined;
  const reverted = cause.walk((e) => e instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? reverted : undefined;
}

/** `InsufficientCredits(0x…, 0, 5000)` for a decoded custom error, the reason string for a require. */
export function revertReason(cause: unknown): string | undefined {
  const reverted = revertOf(cause);
  if (reverted === undefined) return undefined;
  if (reverted.data !== undefined) {
    return `reverted with ${reverted.data.errorName}(${(reverted.data.args ?? []).map(String).join(', ')})`;
  }
  return reverted.reason === undefined ? undefined : `reverted: ${reverted.reason}`;
}

/**
 * The payer whose credits ComputeCredits found short, and the balance it does have
 * (`InsufficientCredits(payer, balance, amount)`).
 */
export function payerShortOfCredits(cause: unknown): { payer: Address; balance: bigint } | undefined {
  const data = revertOf(cause)?.data;
  if (data?.errorName !== 'InsufficientCredits') return undefined;
  const [payer, balance] = data.args ?? [];
  if (typeof payer !== 'string' || !isAddress(payer) || typeof balance !== 'bigint') return undefined;
  return { payer: getAddress(payer), balance };
}

/** What a failed chain call says: the decoded revert, else viem's short message, else the error itself. */
export function chainFailureReason(cause: unknown): string {
  const short = (cause as { shortMessage?: unknown }).shortMessage;
  return revertReason(cause) ?? (typeof short === 'string' ? short : String(cause).slice(0, 300));
}

/** A chain failure as a retryable error naming the batch and, when decoded, the revert. */
export function chainError(cause: unknown, sequence: bigint, message: string): RetryableError {
  const reason = chainFailureReason(cause);
  return new RetryableError('chain_error', {
    message: `${message}: ${reason}`,
    details: { sequence: sequence.toString() },
    cause,
  });
}
