// A devnet port checked before its process starts: a program already on it (another devnet's router, say)
// would otherwise answer the readiness probe in place of the one just started, or make it exit.
import { portProblem } from '../../protocol/port-check.ts';

/** Resolves when `host:port` can be listened on now; rejects naming `part` and the `flag` that moves it. */
export async function assertPortFree(host: string, port: number, part: string, flag: string): Promise<void> {
  const problem = await portProblem(host, port);
  if (problem === undefined) return;
  throw new Error(
    `cannot start the ${part}: ${host}:${port} is in use (${problem}); ` +
      `stop what holds it (another devnet?) or choose another port with ${flag}`,
  );
}
