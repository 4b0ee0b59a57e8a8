// Names shared by the PostgreSQL global setup (main process) and the tests (workers).
export const DATABASE_URL_ENV = 'NEURINO_TEST_DATABASE_URL';
export const PROVIDED_DATABASE_URL = 'neurinoTestDatabaseUrl';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://… of the suite's test server (an admin connection), or null when none runs. */
    neurinoTestDatabaseUrl: string | null;
  }
}
