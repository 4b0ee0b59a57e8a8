import { type Address, getAddress } from 'viem';

/** Why a node is kept out: the `refused` codes that come from the node's on-chain standing. */
export type AdmissionRefusalCode = 'node_not_registered' | 'node_not_staked' | 'node_jailed';

export type AdmissionResult = { ok: true } | { ok: false; code: AdmissionRefusalCode; reason: string };

/**
 * Decides whether a node that proved its key may serve jobs. Throws (e.g. a `chain_error`) when it cannot
 * tell; the hub then refuses with `service_unavailable`, so the miner retries later.
 */
export interface NodeAdmission {
  check(node: Address): Promise<AdmissionResult>;
}

/**
 * Admits exactly the listed nodes, for private deployments and local tools that run without a chain.
 * Anything else is `node_not_registered`.
 */
export function allowlistNodeAdmission(nodes: Iterable<Address>): NodeAdmission {
  const allowed = new Set([...nodes].map((node) => getAddress(node)));
  return {
    async check(node) {
      if (allowed.has(getAddress(node))) return { ok: true };
      return {
        ok: false,
        code: 'node_not_registered',
        reason: `node ${node} is not on this router's allowlist`,
      };
    },
  };
}
