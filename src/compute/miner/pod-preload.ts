// Pods loaded before they are asked for (at start, and when a reload adds them), as far as memory goes.
import type { Logger } from 'pino';
import { isNeurinoError } from '../../protocol/errors.ts';
import type { HostedPod } from './pod-host.ts';

/**
 * Loads a pod into the memory left free by those loaded before it; one that does not fit stays cold (a job
 * for it loads it, unloading the pods idle longest). Throws when it fails to load.
 */
export async function preload(pod: HostedPod, log: Logger): Promise<void> {
  try {
    const { loadMs } = await pod.load(undefined, { evict: false });
    log.info({ podId: pod.podId, loadMs }, `pod ${pod.spec.name} is warm`);
  } catch (error) {
    if (!(isNeurinoError(error) && error.code === 'no_capacity')) throw error;
    log.info(
      { podId: pod.podId },
      `pod ${pod.spec.name} stays cold until a job asks for it: ${error.message}`,
    );
  }
}

/** Says what a pod will hold once loaded, when its runtime estimated it (llama-cpp pods). */
export function logPodMemory(pod: HostedPod, log: Logger): void {
  if (pod.memoryDetail === undefined) return;
  log.info(
    { podId: pod.podId, residentMiB: pod.residentMiB },
    `pod ${pod.spec.name} holds about ${pod.residentMiB} MiB once loaded (${pod.memoryDetail})`,
  );
}
