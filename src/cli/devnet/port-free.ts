// A devnet port checked before its process starts: a program already on it (another devnet's router, say)
// would otherwise answer the readiness probe in place of the one just started, or make it exit.
import { createServer } from 'node:net';

/** Resolves when `host:port` can be listened on now; rejects naming `part` and the `flag` that moves it. */
export function assertPortFree(host: string, port: number, part: string, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `cannot start the ${part}: ${host}:${port} is in use (${error.code ?? error.message}); ` +
            `stop what holds it (another devnet?) or choose another port with ${flag}`,
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
