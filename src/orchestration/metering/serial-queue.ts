// Runs async functions one after another, in the order they were queued: a router's metering writes
// (lease renewals, receipt batches) never interleave, so in-memory lease figures match the rows.
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
