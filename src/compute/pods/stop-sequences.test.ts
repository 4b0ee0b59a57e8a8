import { describe, expect, it } from 'vitest';
import { StopSequenceMatcher } from './stop-sequences.ts';

function run(stops: string[], pieces: string[]) {
  const matcher = new StopSequenceMatcher(stops);
  const emitted: string[] = [];
  for (const piece of pieces) {
    const { emit, stopped } = matcher.push(piece);
    emitted.push(emit);
    if (stopped) return { emitted, stopped: true, rest: matcher.flush() };
  }
  return { emitted, stopped: false, rest: matcher.flush() };
}

describe('StopSequenceMatcher', () => {
  it('emits everything when nothing can start a stop sequence', () => {
    expect(run(['STOP'], ['hello', ' world'])).toEqual({
      emitted: ['hello', ' world'],
      stopped: false,
      rest: '',
    });
  });

  it('holds back a possible start and releases it when the text goes elsewhere', () => {
    expect(run(['STOP'], ['abST', 'x'])).toEqual({ emitted: ['ab', 'STx'], stopped: false, rest: '' });
  });

  it('stops on a sequence split across pieces and emits only what came before it', () => {
    expect(run(['STOP'], ['abS', 'T', 'OPcd'])).toEqual({ emitted: ['ab', '', ''], stopped: true, rest: '' });
  });

  it('stops at the earliest of several sequences inside one piece', () => {
    expect(run(['cd', 'b'], ['abcd'])).toEqual({ emitted: ['a'], stopped: true, rest: '' });
  });

  it('returns the held text when generation ends for another reason', () => {
    expect(run(['\n\n'], ['line\n'])).toEqual({ emitted: ['line'], stopped: false, rest: '\n' });
  });

  it('passes text through untouched without stop sequences, and emits nothing after stopping', () => {
    const matcher = new StopSequenceMatcher([]);
    expect(matcher.push('any text')).toEqual({ emit: 'any text', stopped: false });
    const stopped = new StopSequenceMatcher(['x']);
    expect(stopped.push('x')).toEqual({ emit: '', stopped: true });
    expect(stopped.push('more')).toEqual({ emit: '', stopped: true });
  });

  it('refuses an empty stop sequence', () => {
    expect(() => new StopSequenceMatcher(['ok', ''])).toThrow(RangeError);
  });
});
