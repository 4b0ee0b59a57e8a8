/**
 * Wire protocol version between miner and router: one integer, raised on every incompatible change.
 * A router accepts miners in [MIN_SUPPORTED_PROTOCOL_VERSION, PROTOCOL_VERSION]; adding an optional field
 * is compatible (unknown fields are ignored) and does not raise it.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;

export function isSupportedProtocolVersion(version: number): boolean {
  return (
    Number.isInteger(version) && version >= MIN_SUPPORTED_PROTOCOL_VERSION && version <= PROTOCOL_VERSION
  );
}

/**
 * The version both sides speak, or undefined when there is none. A peer that offers a newer version than
 * ours is spoken to in ours when it still supports it (its `minSupported`).
 */
export function negotiateProtocolVersion(offered: number, peerMinSupported = offered): number | undefined {
  const version = Math.min(offered, PROTOCOL_VERSION);
  if (!isSupportedProtocolVersion(version) || version < peerMinSupported) return undefined;
  return version;
}
