// Frames between miner and router are small and many: under load a router sends dozens of assignments,
// and a miner dozens of results, while handling one batch of I/O. Written one by one, each is a syscall
// and a TCP segment, and on loopback the sender's thread also runs the receiver's TCP stack for it:
// measured, that was a tenth of the whole path's CPU. Held until the event loop's next turn, the frames
// of one turn leave in one write. The delay is a fraction of a turn: the uncork runs in the check phase
// right after the I/O callbacks that sent them.

/** The part of a `net.Socket` (or TLS socket) that buffers writes. */
export interface CorkableStream {
  cork(): void;
  uncork(): void;
  /** How many corks are pending; 0 when writes go out at once. */
  readonly writableCorked: number;
  readonly destroyed: boolean;
}

/**
 * Holds `stream`'s writes until the next turn of the event loop, if they are not held already. Call it
 * before each write; the first call of a turn corks, and the turn's end uncorks once.
 */
export function coalesceWritesThisTurn(stream: CorkableStream): void {
  // Corked already: by an earlier call this turn (a library corks only within one synchronous write).
  if (stream.writableCorked > 0 || stream.destroyed) return;
  stream.cork();
  setImmediate(() => stream.uncork());
}
