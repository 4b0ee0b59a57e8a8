// The router's `pod.load` / `pod.unload` (autoscaling), for the pods this node's operator configured.
import type { Logger } from 'pino';
import type { Hex } from 'viem';
import { isNeurinoError } from '../../protocol/errors.ts';
import type { MinerMessage } from '../../protocol/messages/index.ts';
import type { PodHost } from './pod-host.ts';

export interface PodRequestsOptions {
  readonly pods: PodHost;
  readonly logger: Logger;
  readonly send: (message: MinerMessage) => void;
  /** The set of warm pods may have changed. */
  readonly onChange: () => void;
}

export class PodRequests {
  constructor(private readonly options: PodRequestsOptions) {}

  /** Answers `pod.loaded`, or `pod.failed` for a pod not configured here or one that does not load. */
  async load(podId: Hex): Promise<void> {
    const pod = this.options.pods.get(podId);
    if (pod === undefined) return this.failed(podId, 'pod_not_found', 'this node does not host that pod');
    try {
      const { loadMs } = await pod.load();
      this.options.logger.info({ podId, loadMs }, `pod ${pod.spec.name} loaded at the router's request`);
      this.options.send({ type: 'pod.loaded', podId: pod.podId, loadMs });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = isNeurinoError(error) ? error.code : 'pod_load_failed';
      this.failed(pod.podId, code, message);
    }
    this.options.onChange();
  }

  /** Waits for the pod's running jobs, unloads it and answers `pod.unloaded`. */
  async unload(podId: Hex): Promise<void> {
    const pod = this.options.pods.get(podId);
    if (pod === undefined) return this.failed(podId, 'pod_not_found', 'this node does not host that pod');
    try {
      const unloading = pod.unload();
      // The pod stops being announced as warm at once, while its running jobs finish.
      this.options.onChange();
      await unloading;
      this.options.logger.info({ podId }, `pod ${pod.spec.name} unloaded at the router's request`);
      this.options.send({ type: 'pod.unloaded', podId: pod.podId });
    } catch (error) {
      this.failed(pod.podId, 'node_failed', error instanceof Error ? error.message : String(error));
    }
    this.options.onChange();
  }

  private failed(podId: Hex, code: string, message: string): void {
    this.options.logger.warn({ podId, code }, `pod request failed: ${message}`);
    this.options.send({ type: 'pod.failed', podId, code, message: message.slice(0, 1024) });
  }
}
