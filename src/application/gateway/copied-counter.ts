// A Prometheus counter whose total another part keeps (the store, the metering, the miner hub): copied
// in at scrape time rather than counted twice, so the part that keeps it stays the one source.
import { Counter, type Registry } from 'prom-client';

export function copiedCounter(
  registers: Registry[],
  name: string,
  help: string,
  read: () => number | Promise<number>,
): void {
  new Counter({
    name,
    help,
    registers,
    async collect() {
      const total = await read();
      this.reset();
      this.inc(total);
    },
  });
}
