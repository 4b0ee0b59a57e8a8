import { describe, expect, it } from 'vitest';
import { StreamedCalls } from './openai-streamed-calls.ts';

const paris = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
const rome = { id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' };

describe('StreamedCalls', () => {
  it('takes calls begun in order and arguments of begun calls, nothing else', () => {
    const calls = new StreamedCalls();
    expect(calls.add({ index: 1, id: 'call_2', name: 'f', arguments: '' })).toBeUndefined();
    expect(calls.add({ index: 0, arguments: '{' })).toBeUndefined();
    const first = { index: 0, id: 'call_1', name: 'get_weather', arguments: '{"ci' };
    expect(calls.add(first)).toBe(first);
    expect(calls.add({ index: 0, id: 'call_1', name: 'get_weather', arguments: '' })).toBeUndefined();
    expect(calls.add({ index: 0, id: 'call_9', arguments: 'x' })).toBeUndefined();
    expect(calls.add({ index: 0, arguments: 'ty":' })).toEqual({ index: 0, arguments: 'ty":' });
    expect(calls.count).toBe(1);
    expect(calls.streamed(0)).toEqual({ id: 'call_1', name: 'get_weather', arguments: '{"city":' });
  });

  it('completes each call from the result: the rest of its arguments, a call not streamed whole', () => {
    const calls = new StreamedCalls();
    calls.add({ index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city":' });
    expect(calls.rest([paris, rome])).toEqual([
      { index: 0, arguments: '"Paris"}' },
      { index: 1, ...rome },
    ]);
    expect(calls.rest([paris, rome])).toEqual([]);
    expect(new StreamedCalls().rest([paris])).toEqual([{ index: 0, ...paris }]);
  });

  it('leaves a streamed call the result contradicts as it was streamed', () => {
    for (const streamed of [
      { ...paris, id: 'call_9' },
      { ...paris, name: 'get_time' },
      { ...paris, arguments: '{"city":"Rome' },
    ]) {
      const calls = new StreamedCalls();
      calls.add({ index: 0, ...streamed });
      expect(calls.rest([paris, rome])).toEqual([{ index: 1, ...rome }]);
      expect(calls.streamed(0)).toEqual(streamed);
    }
  });
});
