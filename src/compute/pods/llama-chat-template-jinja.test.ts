// A llama-cpp pod prompted with a Jinja chat template of the operator's (`chatTemplateJinja`, as a pod spec
// names one) instead of the one node-llama-cpp picks for the GGUF file.
import { describe, expect, it } from 'vitest';
import { LlamaCppRuntime } from './llama-cpp.ts';
import { useTinyRuntime } from './testing/tiny-runtime.ts';
import type { ChatRequest } from './types.ts';

const tiny = useTinyRuntime('neurino-jinja');

const TEMPLATE =
  '{% for message in messages %}[{{ message.role }}] {{ message.content }}\n{% endfor %}' +
  '{% if add_generation_prompt %}[assistant] {% endif %}';
const MARKER = 'You are answering on the Neurino network.\n';
const question: ChatRequest = {
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is a GPU?' },
  ],
  max_tokens: 4,
  seed: 7,
};

async function withTemplate<T>(template: string, run: (runtime: LlamaCppRuntime) => Promise<T>): Promise<T> {
  const runtime = new LlamaCppRuntime({ modelPath: tiny.modelPath, slots: 1, chatTemplateJinja: template });
  await runtime.load();
  try {
    return await run(runtime);
  } finally {
    await runtime.unload();
  }
}

describe('LlamaCppRuntime with a Jinja chat template', () => {
  it('prompts the model as the template renders the conversation', async () => {
    const plain = await withTemplate(TEMPLATE, (runtime) => runtime.chat(question));
    const marked = await withTemplate(MARKER + TEMPLATE, (runtime) => runtime.chat(question));
    // The template's own text is in the prompt (read as a template's text is, special tokens and all).
    const markerTokens = tiny.vocabulary.tokenize(MARKER, true).length;
    expect(markerTokens).toBeGreaterThan(10);
    expect((marked.usage?.promptTokens ?? 0) - (plain.usage?.promptTokens ?? 0)).toBe(markerTokens);
    // And the conversation is written as this template writes it, not as the file's default would.
    const ownPrompt = (await tiny.runtime.chat(question)).usage?.promptTokens;
    expect(plain.usage?.promptTokens).not.toBe(ownPrompt);
  });

  it('calls tools with the syntax node-llama-cpp gives a template that names none', async () => {
    const weather = {
      type: 'function' as const,
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    };
    const forced = await withTemplate(TEMPLATE, (runtime) =>
      runtime.chat({ ...question, tools: [weather], tool_choice: 'required', max_tokens: 400 }),
    );
    expect(forced.finishReason).toBe('tool_calls');
    expect(forced.toolCalls?.[0]?.name).toBe('get_weather');
    expect(JSON.parse(forced.toolCalls?.[0]?.arguments ?? '')).toHaveProperty('city');
  });

  it('refuses a template that cannot render a conversation when the pod loads, and both kinds of template', async () => {
    const broken = new LlamaCppRuntime({
      modelPath: tiny.modelPath,
      slots: 1,
      chatTemplateJinja: '{% for message in messages %}{{ message.content }',
    });
    await expect(broken.load()).rejects.toThrow(/Jinja template/);
    expect(
      () =>
        new LlamaCppRuntime({
          modelPath: tiny.modelPath,
          chatTemplate: 'llama3',
          chatTemplateJinja: TEMPLATE,
        }),
    ).toThrow('chatTemplate and chatTemplateJinja both name a chat template: give one');
  });
});
