import { describe, expect, it } from 'vitest';
import { SessionGate } from './session-gate.ts';

/** Lets queued promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SessionGate', () => {
  it('sends a statement at once when no transaction holds or waits', async () => {
    const gate = new SessionGate();
    const sent: string[] = [];
    const answer = gate.pass(async () => {
      sent.push('a');
      return 1;
    });
    expect(sent).toEqual(['a']); // synchronously: the session keeps the order statements are sent in
    expect(await answer).toBe(1);
  });

  it('holds statements behind a transaction, then sends them in order before the next transaction', async () => {
    const gate = new SessionGate();
    const events: string[] = [];
    await gate.hold();
    const statements = [1, 2, 3].map((n) => gate.pass(async () => events.push(`statement ${n}`)));
    const next = gate.hold().then(() => events.push('next transaction'));
    const late = gate.pass(async () => events.push('late statement'));
    await settle();
    expect(events).toEqual([]);

    gate.release();
    expect(events).toEqual(['statement 1', 'statement 2', 'statement 3']); // before the next one resumes
    await Promise.all([...statements, next]);
    expect(events).toEqual(['statement 1', 'statement 2', 'statement 3', 'next transaction']);

    gate.release();
    await late;
    expect(events.at(-1)).toBe('late statement');
  });

  it('gives the session to one transaction at a time, first come first served', async () => {
    const gate = new SessionGate();
    const events: string[] = [];
    const transaction = async (name: string) => {
      await gate.hold();
      events.push(`${name} begins`);
      await settle();
      events.push(`${name} ends`);
      gate.release();
    };
    await Promise.all(['a', 'b', 'c'].map(transaction));
    expect(events).toEqual(['a begins', 'a ends', 'b begins', 'b ends', 'c begins', 'c ends']);
  });

  it('fails a statement whose send throws and still sends the ones behind it', async () => {
    const gate = new SessionGate();
    await gate.hold();
    const broken = gate.pass<number>(() => {
      throw new TypeError('cannot send');
    });
    const fine = gate.pass(async () => 'sent');
    gate.release();
    await expect(broken).rejects.toThrow('cannot send');
    expect(await fine).toBe('sent');
  });

  it('passes a failed send to its caller and leaves the session free', async () => {
    const gate = new SessionGate();
    await expect(gate.pass(() => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    const throws = () => {
      throw new TypeError('cannot send');
    };
    await expect(gate.pass(throws)).rejects.toThrow('cannot send'); // a rejection, not a throw
    await gate.hold(); // would never resolve if the failure had left the session held
    gate.release();
  });
});
