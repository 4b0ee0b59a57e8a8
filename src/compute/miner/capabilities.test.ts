// What a node announces of its pods' memory: its budget, what the loaded pods hold, and what each hosted
// pod would hold once loaded (none for a model an upstream server holds), so a router judges its room;
// and each pod's own slots.
import { describe, expect, it } from 'vitest';
import { decodeMinerMessage, encodeMessage } from '../../protocol/codec.ts';
import { podId } from '../../protocol/pod-spec.ts';
import { LlamaCppRuntime } from '../pods/llama-cpp.ts';
import { OpenAIUpstreamRuntime } from '../pods/openai-upstream.ts';
import { capabilitiesMessage } from './capabilities.ts';
import { ggufPodSpec, upstreamPodSpec } from './local-pods.ts';
import { PodHost } from './pod-host.ts';
import { Slots } from './slots.ts';
import { TEST_HARDWARE } from './testing/miner-fixture.ts';

describe('capabilitiesMessage', () => {
  it("lists each hosted pod's memory once loaded: the runtime's estimate, or 0 for an upstream server's", () => {
    const local = ggufPodSpec({
      name: 'local',
      fileName: 'local.gguf',
      sha256: 'ab'.repeat(32),
      bytes: 2 ** 30,
    });
    const relayed = upstreamPodSpec({ name: 'relayed', vramMiB: 8_192 });
    const pods = new PodHost(
      [
        {
          spec: local,
          podId: podId(local),
          runtime: new LlamaCppRuntime({ modelPath: '/nowhere/local.gguf', slots: 3 }),
          memoryEstimate: { totalMiB: 1_500, detail: 'weights 1,024 MiB, 2 slots × 4,096 tokens 476 MiB' },
        },
        {
          spec: relayed,
          podId: podId(relayed),
          runtime: new OpenAIUpstreamRuntime({
            baseUrl: 'http://127.0.0.1:1/v1',
            model: 'relayed',
            slots: 5,
          }),
        },
      ],
      { memoryMiB: 4_096 },
    );
    const message = capabilitiesMessage({
      hardware: TEST_HARDWARE,
      efficiency: 12.5,
      slots: new Slots(2),
      pods,
    });
    expect(message.podMemory).toEqual({
      budgetMiB: 4_096,
      heldMiB: 0,
      pods: [
        { podId: podId(local), mib: 1_500 },
        { podId: podId(relayed), mib: 0 },
      ],
    });
    expect(message.hostedPods).toEqual([podId(local), podId(relayed)]);
    // Each pod's own slots: a router sends a pod's job here only while one of them is free.
    expect(message.podSlots).toEqual([
      { podId: podId(local), total: 3 },
      { podId: podId(relayed), total: 5 },
    ]);
    // It passes the router's decoder as sent.
    const decoded = decodeMinerMessage(encodeMessage(message));
    expect(decoded.ok && decoded.message.type === 'capabilities' && decoded.message.podMemory).toEqual(
      message.podMemory,
    );
    expect(decoded.ok && decoded.message.type === 'capabilities' && decoded.message.podSlots).toEqual(
      message.podSlots,
    );
  });
});
