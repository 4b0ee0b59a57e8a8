// A gateway harness with one miner and the official OpenAI client of an account: where the Responses and
// Conversations API tests start. The miner does what `serve` says with each job (a test swaps it).
import OpenAI from 'openai';
import type { Address } from 'viem';
import type { MinerPeer } from '../../orchestration/router/testing/miner-peer.ts';
import type { JobAssign } from '../../protocol/messages/jobs.ts';
import { answerText, type GatewayHarness, startGatewayHarness } from './gateway-harness.ts';

export type MinerBehaviour = (peer: MinerPeer, assign: JobAssign) => void | Promise<void>;

/** A miner's answer to any job: "Hello world", streamed in three pieces when asked. */
export const hello: MinerBehaviour = (peer, assign) => answerText(peer, assign, ['Hel', 'lo', ' world']);

export interface ClientHarness {
  h: GatewayHarness;
  client: OpenAI;
  key: string;
}

export async function startClientHarness(account: Address, serve: MinerBehaviour): Promise<ClientHarness> {
  const h = await startGatewayHarness({ suspendMs: 1 });
  const key = await h.key(account);
  const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0 });
  await h.peer(0, serve);
  return { h, client, key };
}

/** The official client with a new key of `account` (another account's view of the same gateway). */
export async function clientOf(h: GatewayHarness, account: Address): Promise<OpenAI> {
  return new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.key(account), maxRetries: 0 });
}
