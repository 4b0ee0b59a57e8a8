// The live log of a streamed background response: every reader gets the events after its starting point
// in order, then each new one, then the end; a reader that left gets nothing more; nothing after the end.
import { describe, expect, it } from 'vitest';
import type { ResponseEvent } from '../../protocol/openai-responses-api-stream.ts';
import { type EventReader, ResponseEventLog } from './response-event-log.ts';

const event = (n: number): ResponseEvent =>
  ({ type: 'response.output_text.delta', delta: `${n}`, sequence_number: n }) as ResponseEvent;

function reader(): EventReader & { seen: number[]; ended: boolean } {
  const r = {
    seen: [] as number[],
    ended: false,
    event: (e: ResponseEvent) => r.seen.push(e.sequence_number),
    end: () => {
      r.ended = true;
    },
  };
  return r;
}

describe('ResponseEventLog', () => {
  it('hands each reader the events after its starting point, then the new ones, then the end', () => {
    const log = new ResponseEventLog();
    log.append(event(0));
    log.append(event(1));
    const whole = reader();
    const after = reader();
    const leaving = reader();
    log.follow(undefined, whole);
    log.follow(0, after);
    const leave = log.follow(5, leaving);
    log.append(event(2));
    leave();
    log.append(event(3));
    log.end();
    expect(whole).toMatchObject({ seen: [0, 1, 2, 3], ended: true });
    expect(after).toMatchObject({ seen: [1, 2, 3], ended: true });
    expect(leaving).toMatchObject({ seen: [], ended: false });
    expect(log.events.map((e) => e.sequence_number)).toEqual([0, 1, 2, 3]);
  });

  it('replays an ended log to a late reader and ends it at once; takes nothing after its end', () => {
    const log = new ResponseEventLog();
    log.append(event(0));
    log.end();
    const late = reader();
    log.follow(undefined, late);
    expect(late).toMatchObject({ seen: [0], ended: true });
    expect(() => log.append(event(1))).toThrow(/ended/);
    expect(log.ended).toBe(true);
  });
});
