// Jobs durable in the journal but not yet in the store, by public id and by payer: GET /v1/jobs/:id and
// GET /v1/jobs read them as their rows would read, and a payer's listing reads only that payer's, however
// long the backlog grows while the store is down.
import type { MeteringEntry } from './metering-entries.ts';

export class UnstoredEntries {
  readonly #byId = new Map<string, MeteringEntry>();
  readonly #byPayer = new Map<string, Map<string, MeteringEntry>>();

  get size(): number {
    return this.#byId.size;
  }

  /** The job's latest entry (a later step of the same job replaces the earlier). */
  add(entry: MeteringEntry): void {
    const id = entry.job.public_id;
    this.#byId.set(id, entry);
    const payer = entry.job.payer;
    let ofPayer = this.#byPayer.get(payer);
    if (ofPayer === undefined) {
      ofPayer = new Map();
      this.#byPayer.set(payer, ofPayer);
    }
    ofPayer.set(id, entry);
  }

  get(publicId: string): MeteringEntry | undefined {
    return this.#byId.get(publicId);
  }

  ofPayer(payer: string): MeteringEntry[] {
    return [...(this.#byPayer.get(payer)?.values() ?? [])];
  }

  /** The entry is in the store (or refused): forgotten, unless a later step of its job replaced it. */
  stored(entry: MeteringEntry): void {
    const id = entry.job.public_id;
    if (this.#byId.get(id) !== entry) return;
    this.#byId.delete(id);
    const ofPayer = this.#byPayer.get(entry.job.payer);
    ofPayer?.delete(id);
    if (ofPayer?.size === 0) this.#byPayer.delete(entry.job.payer);
  }
}
