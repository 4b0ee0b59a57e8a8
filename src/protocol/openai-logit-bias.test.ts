import { describe, expect, it } from 'vitest';
import { parseChatCompletionRequest, parseCompletionRequest, samplingFields } from './openai.ts';
import { logitBiasMap, MAX_LOGIT_BIAS } from './openai-logit-bias.ts';

const chat = (logit_bias: unknown) => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  logit_bias,
});

describe('logit_bias', () => {
  it("takes token ids of the pod's model with biases from -100 to 100, and hands them to the node", () => {
    const bias = { '0': -100, '42': 0.5, '128255': 100 };
    const parsed = parseChatCompletionRequest(chat(bias));
    if (!parsed.ok) throw parsed.error;
    expect(samplingFields(parsed.value).logit_bias).toEqual(bias);
    const completion = parseCompletionRequest({ model: 'm', prompt: 'x', logit_bias: bias });
    expect(completion.ok).toBe(true);
    expect(logitBiasMap(bias)).toEqual(
      new Map([
        [0, -100],
        [42, 0.5],
        [128255, 100],
      ]),
    );
  });

  it('passes nothing on for an empty or null one', () => {
    for (const bias of [{}, null]) {
      const parsed = parseChatCompletionRequest(chat(bias));
      if (!parsed.ok) throw parsed.error;
      expect(samplingFields(parsed.value)).not.toHaveProperty('logit_bias');
      expect(logitBiasMap(bias)).toBeUndefined();
    }
  });

  it('refuses keys that are not token ids and biases past ±100, naming the entry', () => {
    for (const [bias, param] of [
      [{ abc: 1 }, 'logit_bias.abc'],
      [{ '-1': 1 }, 'logit_bias["-1"]'],
      [{ '007': 1 }, 'logit_bias["007"]'],
      [{ '5': 101 }, 'logit_bias["5"]'],
      [{ '5': '1' }, 'logit_bias["5"]'],
      [[1, 2], 'logit_bias'],
    ] as const) {
      const parsed = parseChatCompletionRequest(chat(bias));
      expect(parsed.ok ? undefined : parsed.error).toMatchObject({ code: 'invalid_request', param });
    }
    const named = parseChatCompletionRequest(chat({ abc: 1 }));
    expect(named.ok ? undefined : named.error.message).toBe(
      'logit_bias.abc: not a token id: keys are token ids (0, 1, 2, ...)',
    );
  });

  it(`refuses more than ${MAX_LOGIT_BIAS} tokens`, () => {
    const many = Object.fromEntries(Array.from({ length: MAX_LOGIT_BIAS + 1 }, (_, i) => [`${i}`, 1]));
    const parsed = parseChatCompletionRequest(chat(many));
    expect(parsed.ok ? undefined : parsed.error.message).toMatch(/at most 1024 tokens/);
  });
});
