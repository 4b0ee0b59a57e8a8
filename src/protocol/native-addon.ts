// Optional native addons on the per-job path (keccak, secp256k1): loaded when a prebuild fits this
// platform, else the caller keeps its WebAssembly/JavaScript implementation of the same function.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const load = createRequire(import.meta.url);

/**
 * The module at `specifier` (the addon's own bindings file, not the package entry point, which would
 * fall back to its own slow JavaScript), or undefined when it does not load or `disabled` is true.
 */
export function optionalNativeAddon<T>(specifier: string, disabled: boolean): T | undefined {
  if (disabled) return undefined;
  try {
    return load(specifier) as T;
  } catch {
    return undefined;
  }
}

/**
 * The raw native binding of `packageName` as node-gyp-build loads it (its prebuild for this platform),
 * without the package's JavaScript wrapper; undefined when there is none or `disabled` is true.
 */
export function optionalRawBinding<T>(packageName: string, disabled: boolean): T | undefined {
  if (disabled) return undefined;
  try {
    const packageJson = load.resolve(`${packageName}/package.json`);
    const fromPackage = createRequire(packageJson);
    const build = fromPackage('node-gyp-build') as (dir: string) => T;
    return build(dirname(packageJson));
  } catch {
    return undefined;
  }
}
