// LISTEN on a PostgreSQL channel from a connection of its own (a pooled one cannot hold a LISTEN): made
// again with backoff when the server ends it, the listener then told it may have missed notifications.
import pg from 'pg';
import type { Notifications } from './store.ts';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

export interface ListenerOptions {
  /** A lost connection or a failed attempt to make it again (retried). */
  onError?: (error: Error) => void;
}

export async function listenOn(
  databaseUrl: string,
  channel: string,
  handlers: Notifications,
  options: ListenerOptions = {},
): Promise<() => Promise<void>> {
  const onError = options.onError ?? (() => {});
  let current: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    const lost = (error?: Error) => {
      if (error !== undefined) onError(error);
      if (current !== client || stopped) return;
      current = undefined;
      client.end().catch(() => {});
      again(FIRST_RETRY_MS);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (notice) => {
      if (notice.channel === channel) handlers.message(notice.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`listen ${client.escapeIdentifier(channel)}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    if (stopped) {
      await client.end().catch(() => {});
      return;
    }
    current = client;
  };

  const again = (delayMs: number) => {
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => {
          if (!stopped) handlers.resumed();
        },
        (error: unknown) => {
          onError(error instanceof Error ? error : new Error(String(error)));
          if (!stopped) again(Math.min(delayMs * 2, MAX_RETRY_MS));
        },
      );
    }, delayMs);
    retry.unref();
  };

  await connect();
  return async () => {
    stopped = true;
    if (retry !== undefined) clearTimeout(retry);
    const client = current;
    current = undefined;
    await client?.end().catch(() => {});
  };
}
