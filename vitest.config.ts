import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start anvil and other processes on loopback; two cores, so keep it modest.
    maxWorkers: 2,
    pool: 'forks',
    // A throwaway PostgreSQL server (when installed), so store tests run against it as well as PGlite.
    globalSetup: ['test/support/postgres-global-setup.ts'],
  },
});
