// Orders the work on one database session. A transaction holds the session alone, from its first
// statement to COMMIT; a single statement only has to wait for the transactions queued before it, since
// the session runs what it is sent in order. First come, first served, so nothing starves.

interface Waiter {
  /** A transaction (holds the session until released) or a single statement (passes through). */
  exclusive: boolean;
  start: () => void;
}

export class SessionGate {
  #held = false;
  readonly #waiting: Waiter[] = [];

  /** Calls `send` now when no transaction holds or waits for the session, else after them. */
  pass<T>(send: () => Promise<T>): Promise<T> {
    if (!this.#held && this.#waiting.length === 0) {
      try {
        return send();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        try {
          send().then(resolve, reject);
        } catch (error) {
          reject(error); // and the statements behind it still go out
        }
      };
      this.#waiting.push({ exclusive: false, start });
    });
  }

  /** Resolves once the caller holds the session alone; it must call `release` exactly once. */
  hold(): Promise<void> {
    if (!this.#held && this.#waiting.length === 0) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#waiting.push({ exclusive: true, start: resolve });
    });
  }

  release(): void {
    this.#held = false;
    // Single statements queued behind the transaction go out in order (the session keeps that order) until
    // the next transaction, which takes the session.
    for (let waiter = this.#waiting.shift(); waiter !== undefined; waiter = this.#waiting.shift()) {
      if (waiter.exclusive) {
        this.#held = true;
        waiter.start();
        return;
      }
      waiter.start();
    }
  }
}
