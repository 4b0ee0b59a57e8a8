// A write to the protocol's contracts on a person's behalf, told in words when refused: the contract's
// custom error as the caller understands it, no ETH for gas, else the chain's own reason. Every write is
// simulated first, so a refusal is the contract's error, not a failed send.
import { BaseError, ContractFunctionRevertedError, type Hex, InsufficientFundsError } from 'viem';
import type { NeurinoPublicClient } from '../chain/clients.ts';
import { chainFailureReason } from '../orchestration/settlement/chain-revert.ts';
import { FatalError } from '../protocol/errors.ts';

/** A contract's custom error: its name and arguments. */
export interface CustomError {
  errorName: string;
  args: readonly unknown[];
}

/** A contract's refusals in words; undefined for errors it leaves to the chain's own reason. */
export type PlainReasons = (error: CustomError) => string | undefined;

export function refused(what: string, cause: unknown, plain: PlainReasons): FatalError {
  const reason = plainReason(cause, plain) ?? chainFailureReason(cause);
  return new FatalError('invalid_request', { message: `${what}: ${reason}`, cause });
}

function plainReason(cause: unknown, plain: PlainReasons): string | undefined {
  if (cause instanceof BaseError && cause.walk((e) => e instanceof InsufficientFundsError) !== null) {
    return 'the account has too little ETH to pay for gas';
  }
  const reverted =
    cause instanceof BaseError ? cause.walk((e) => e instanceof ContractFunctionRevertedError) : null;
  if (!(reverted instanceof ContractFunctionRevertedError) || reverted.data === undefined) return undefined;
  return plain({ errorName: reverted.data.errorName, args: reverted.data.args ?? [] });
}

/** Waits for the transaction; throws when it reverted after all. */
export async function sent(publicClient: NeurinoPublicClient, hash: Hex): Promise<Hex> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
  return hash;
}
