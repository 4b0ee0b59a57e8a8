/**
 * A binary heap that also knows where each item sits, so an item can be removed or re-ranked in
 * O(log n) when its key changes. `before(a, b)` is true when `a` should come out first.
 *
 * `remove` keeps the item's slot in the position map (as -1): V8 leaves a tombstone in the key's hash
 * chain on every Map delete, so deleting and re-adding the same hot item makes its lookups slower each
 * time. `forget` drops the slot for good, for items that leave for a long time.
 */
export class IndexedHeap<T> {
  readonly #items: T[] = [];
  readonly #positions = new Map<T, number>();
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  has(item: T): boolean {
    return (this.#positions.get(item) ?? -1) >= 0;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds the item, or re-ranks it when it is already in. */
  push(item: T): void {
    const at = this.#positions.get(item) ?? -1;
    if (at >= 0) {
      this.#fix(at);
      return;
    }
    this.#items.push(item);
    this.#positions.set(item, this.#items.length - 1);
    this.#up(this.#items.length - 1);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(item: T): boolean {
    const at = this.#positions.get(item) ?? -1;
    if (at < 0) return false;
    const last = this.#items.pop() as T;
    this.#positions.set(item, -1);
    if (at < this.#items.length) {
      this.#items[at] = last;
      this.#positions.set(last, at);
      this.#fix(at);
    }
    return true;
  }

  /** Removes the item and forgets it entirely. */
  forget(item: T): boolean {
    const removed = this.remove(item);
    this.#positions.delete(item);
    return removed;
  }

  /** Call after the item's key changed. */
  update(item: T): void {
    const at = this.#positions.get(item) ?? -1;
    if (at >= 0) this.#fix(at);
  }

  /** The first item (in heap order) that `accept` takes, without removing anything. */
  first(accept: (item: T) => boolean): T | undefined {
    const top = this.#items[0];
    if (top === undefined || accept(top)) return top;
    // Rejected items are few (a request's excluded nodes), so taking them out and back is cheap.
    const skipped: T[] = [];
    let found: T | undefined;
    for (let item = this.pop(); item !== undefined; item = this.pop()) {
      skipped.push(item);
      if (accept(item)) {
        found = item;
        break;
      }
    }
    for (const item of skipped) this.push(item);
    return found;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    yield* this.#items;
  }

  #fix(at: number): void {
    if (!this.#up(at)) this.#down(at);
  }

  #up(start: number): boolean {
    let at = start;
    const item = this.#items[at] as T;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = this.#items[parentAt] as T;
      if (!this.#before(item, parent)) break;
      this.#place(parent, at);
      at = parentAt;
    }
    this.#place(item, at);
    return at !== start;
  }

  #down(start: number): void {
    let at = start;
    const item = this.#items[at] as T;
    const length = this.#items.length;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.#before(this.#items[right] as T, this.#items[left] as T)) child = right;
      const childItem = this.#items[child] as T;
      if (!this.#before(childItem, item)) break;
      this.#place(childItem, at);
      at = child;
    }
    this.#place(item, at);
  }

  #place(item: T, at: number): void {
    this.#items[at] = item;
    this.#positions.set(item, at);
  }
}
