// Pods loaded before they are asked for (at start, and when a reload adds them), as far as memory goes.
import type { Logger } from 'pino';
import { isNeurinoError } from '../../protocol/errors.ts';
import { PodError } from '../pods/errors.ts';
import { backoffDelay, NO_JITTER, SERVER_RETRY, sleep } from './backoff.ts';
import type { HostedPod } from './pod-host.ts';

/**
 * Loads a pod into the memory left free by those loaded before it; one that does not fit stays cold (a job
 * for it loads it, unloading the pods idle longest). A pod whose server is not ready yet (an upstream
 * still starting or loading its model: refused connections, timeouts, 5xx, 429) is tried again, up to
 * `waitMs` in all, since an operator starts the miner beside that server. Throws when it fails to load.
 */
export async function preload(pod: HostedPod, log: Logger, waitMs = 0): Promise<void> {
  const giveUpAt = Date.now() + waitMs;
  for (let tries = 0; ; tries++) {
    try {
      const { loadMs } = await pod.load(undefined, { evict: false });
      log.info({ podId: pod.podId, loadMs }, `pod ${pod.spec.name} is warm`);
      return;
    } catch (error) {
      if (isNeurinoError(error) && error.code === 'no_capacity') {
        log.info(
          { podId: pod.podId },
          `pod ${pod.spec.name} stays cold until a job asks for it: ${error.message}`,
        );
        return;
      }
      const delay = backoffDelay(tries, SERVER_RETRY, NO_JITTER);
      if (!notReadyYet(error) || Date.now() + delay > giveUpAt) throw error;
      log.warn(
        { podId: pod.podId, retryInMs: delay },
        `pod ${pod.spec.name} is not ready: ${(error as Error).message}; trying again in ${delay / 1000} s`,
      );
      await sleep(delay);
    }
  }
}

/** A load that failed on its server's passing trouble, not on what the operator configured. */
function notReadyYet(error: unknown): boolean {
  if (!(error instanceof PodError) || error.podCode !== 'pod_load_failed') return false;
  const cause = error.cause;
  return cause instanceof PodError && cause.retryable;
}

/** Says what a pod will hold once loaded, when its runtime estimated it (llama-cpp pods). */
export function logPodMemory(pod: HostedPod, log: Logger): void {
  if (pod.memoryDetail === undefined) return;
  log.info(
    { podId: pod.podId, residentMiB: pod.residentMiB },
    `pod ${pod.spec.name} holds about ${pod.residentMiB} MiB once loaded (${pod.memoryDetail})`,
  );
}
