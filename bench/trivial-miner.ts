// The gateway bench's throughput miner: the real miner (startMiner: session, handshake, job desk, metering,
// receipt signature) hosting a trivial pod, a runtime that checks the request as every runtime does and
// answers at once. What the whole path then costs beyond the bare handler is ours alone: gateway, router,
// WebSocket hops, miner, receipts; not a model's or an upstream server's work.
// Run as `node --import tsx bench/trivial-miner.ts <router ws url> <addresses.json> <slots>` with the node key
// in NEURINO_NODE_KEY; it exits when sent SIGTERM (after draining).
import { pino } from 'pino';
import type { Hex } from 'viem';
import { readAddressBook } from '../src/chain/address-book.ts';
import { probeHardware } from '../src/compute/miner/hardware/probe.ts';
import { upstreamPodSpec } from '../src/compute/miner/local-pods.ts';
import { startMiner } from '../src/compute/miner/miner.ts';
import type { PodRuntime, PodRuntimeInfo } from '../src/compute/pods/runtime.ts';
import {
  type ChatRequest,
  type CompletionRequest,
  type EmbeddingRequest,
  type EmbeddingResult,
  type GenerationResult,
  parseChatRequest,
  parseCompletionRequest,
  parseEmbeddingRequest,
} from '../src/compute/pods/types.ts';
import { fastAccount } from '../src/protocol/fast-account.ts';
import { podId } from '../src/protocol/pod-spec.ts';

export const TRIVIAL_POD_MODEL = 'bench-trivial-pod';

/** The trivial pod's spec, as the bench registers it on-chain and the miner announces it. */
export const trivialPodSpec = () => upstreamPodSpec({ name: TRIVIAL_POD_MODEL, vramMiB: 1 });

/** Answers "ok" (one token in, one out) to every valid request; no model behind it. */
class TrivialRuntime implements PodRuntime {
  #active = 0;
  constructor(private readonly slots: number) {}

  async load(): Promise<void> {}
  async unload(): Promise<void> {}

  info(): PodRuntimeInfo {
    const { slots } = this;
    return {
      runtime: 'openai-upstream',
      model: TRIVIAL_POD_MODEL,
      contextSize: null,
      warm: true,
      slots,
      activeJobs: this.#active,
      embeddingSize: null,
    };
  }

  async chat(request: ChatRequest): Promise<GenerationResult> {
    parseChatRequest(request);
    return this.answer();
  }

  async complete(request: CompletionRequest): Promise<GenerationResult> {
    parseCompletionRequest(request);
    return this.answer();
  }

  async embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    const { inputs } = parseEmbeddingRequest(request);
    return {
      model: TRIVIAL_POD_MODEL,
      vectors: inputs.map(() => [0, 1]),
      usage: { promptTokens: inputs.length },
    };
  }

  private answer(): GenerationResult {
    return {
      model: TRIVIAL_POD_MODEL,
      text: 'ok',
      finishReason: 'stop',
      usage: { promptTokens: 1, completionTokens: 1 },
    };
  }
}

async function main(): Promise<void> {
  const [routerUrl, addressesFile, slotsArg] = process.argv.slice(2);
  const key = process.env.NEURINO_NODE_KEY as Hex | undefined;
  const slots = Number(slotsArg);
  if (
    routerUrl === undefined ||
    addressesFile === undefined ||
    !Number.isInteger(slots) ||
    slots < 1 ||
    !key
  ) {
    throw new Error(
      'usage: trivial-miner.ts <router ws url> <addresses.json> <slots>, key in NEURINO_NODE_KEY',
    );
  }
  const book = await readAddressBook(addressesFile);
  if (book === undefined) throw new Error(`trivial-miner: no address book at ${addressesFile}`);
  const spec = trivialPodSpec();
  const miner = await startMiner({
    routerUrl,
    account: fastAccount(key),
    domain: { chainId: book.chainId, verifyingContract: book.contracts.settlement },
    pods: [{ spec, podId: podId(spec), runtime: new TrivialRuntime(slots) }],
    slots,
    logger: pino({ level: process.env.NEURINO_BENCH_LOG ?? 'warn' }),
    hardware: await probeHardware(),
    // Ranking does not matter with one node; the self-benchmark would only slow the start.
    efficiency: 1,
  });
  process.once('SIGTERM', () => void miner.drain());
  await miner.done;
  process.exit(0);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
