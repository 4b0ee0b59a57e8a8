import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // A poll ends as soon as its condition holds; the default second fails tests that wait for a model to
    // load or a process to answer on a busy 2-core machine (seen in CI on a slow VM).
    expect: { poll: { timeout: 15_000 } },
    // Integration tests start anvil and other processes on loopback; two cores, so keep it modest.
    maxWorkers: 2,
    pool: 'forks',
    // A throwaway PostgreSQL server (when installed), so store tests run against it as well as PGlite.
    globalSetup: ['test/support/postgres-global-setup.ts'],
  },
});
