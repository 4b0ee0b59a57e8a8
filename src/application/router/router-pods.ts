// The pods a router serves, with each one's deployer as PodRegistry has it (Settlement pays the deployer's
// share to it): read at start, and again when the operator reloads the spec files (SIGHUP), so a pod
// added, removed or registered since is served as it is now without a restart.
import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import type { CatalogChanges, CatalogPod, PodCatalog } from '../../orchestration/router/pod-catalog.ts';
import { type PodSpec, podId } from '../../protocol/pod-spec.ts';

export type DeployerLookup = (id: Hex) => Promise<Address | undefined>;

/** Each spec with its deployer; a pod not registered is served, with a warning that it cannot settle. */
export async function podsWithDeployers(
  specs: readonly PodSpec[],
  deployerOf: DeployerLookup,
  logger: Logger,
): Promise<CatalogPod[]> {
  const pods: CatalogPod[] = [];
  for (const spec of specs) {
    const id = podId(spec);
    const deployer = await deployerOf(id);
    if (deployer === undefined) {
      logger.warn({ pod: spec.name, podId: id }, 'pod is not registered on-chain: its jobs cannot settle');
    }
    pods.push({ spec, ...(deployer === undefined ? {} : { deployer }) });
  }
  return pods;
}

/** Makes `catalog` serve exactly `specs`, saying what changed; a bad set changes nothing (it throws). */
export async function reloadPods(
  catalog: PodCatalog,
  specs: readonly PodSpec[],
  deployerOf: DeployerLookup,
  logger: Logger,
): Promise<CatalogChanges> {
  const changes = catalog.replace(await podsWithDeployers(specs, deployerOf, logger));
  const named = (entries: CatalogChanges['added']) => entries.map((e) => `${e.spec.name} (${e.podId})`);
  logger.info(
    {
      added: named(changes.added),
      removed: named(changes.removed),
      updated: named(changes.updated),
      serving: catalog.size,
    },
    `pods reloaded: ${changes.added.length} added, ${changes.removed.length} removed, ${changes.updated.length} updated, ${catalog.size} served`,
  );
  return changes;
}
