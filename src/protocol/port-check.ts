// Whether a local port can be listened on now. Checked before starting a process that will listen there:
// a program already on the port would otherwise answer the new one's readiness probe in its place.
import { createServer } from 'node:net';

/** Undefined when `host:port` is free, else why not (the error code, such as EADDRINUSE). */
export function portProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}
