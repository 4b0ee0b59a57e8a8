// Graceful shutdown: callbacks run once, newest first, on SIGINT/SIGTERM; a second signal forces exit.
type Callback = () => Promise<void> | void;

const callbacks: Callback[] = [];
let installed = false;
let stopping = false;

export function onShutdown(callback: Callback): void {
  callbacks.push(callback);
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      void shutdown(0);
    });
  }
}

export function isShuttingDown(): boolean {
  return stopping;
}

export async function shutdown(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const callback of callbacks.reverse()) {
    try {
      await callback();
    } catch (error) {
      console.error('shutdown step failed:', error);
    }
  }
  process.exit(exitCode);
}
