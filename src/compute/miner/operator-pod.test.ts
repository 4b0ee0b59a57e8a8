import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalPodSpec, podId } from '../../protocol/pod-spec.ts';
import { TINY_MODEL_NAME, writeTinyModel } from '../model/tiny-model.ts';
import { describeFile, ggufPodSpec, isMatryoshka } from './local-pods.ts';
import { operatorPod } from './operator-pod.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'operator-pod-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The prompt tokens of a one-word chat on the pod, loaded for it: what its chat template makes of it. */
async function promptTokens(pod: Awaited<ReturnType<typeof operatorPod>>): Promise<number | undefined> {
  await pod.runtime.load();
  try {
    const answer = await pod.runtime.chat({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 });
    return answer.usage?.promptTokens;
  } finally {
    await pod.runtime.unload();
  }
}

/** A pod relaying to an upstream, with llama.cpp's settings that do not apply to it. */
const upstreamPod = (extra: Partial<Parameters<typeof operatorPod>[0]>) =>
  operatorPod({ dataDir: dir, slots: 1, upstream: 'http://127.0.0.1:1/v1', upstreamModel: 'm', ...extra });

describe('operatorPod', () => {
  it('serves the generated tiny model by default, with the spec the devnet builds for it', async () => {
    const pod = await operatorPod({ dataDir: dir, slots: 3 });
    const file = await describeFile(join(dir, 'models', 'neurino-tiny.gguf'));
    expect(pod.spec).toEqual(ggufPodSpec({ name: TINY_MODEL_NAME, ...file }));
    expect(pod.podId).toBe(podId(pod.spec));
    expect(pod.runtime.info()).toMatchObject({
      runtime: 'llama-cpp',
      model: TINY_MODEL_NAME,
      slots: 3,
      warm: false,
    });
  });

  it("holds each job to the operator's context size, below the model's own", async () => {
    // llama.cpp rounds a context up to a multiple of 256 tokens; the tiny model's own is 1,024.
    const pod = await operatorPod({ dataDir: dir, slots: 1, contextSize: 256 });
    try {
      await pod.runtime.load();
      expect(pod.runtime.info().contextSize).toBe(256);
      const error = await pod.runtime.complete({ prompt: 'hello '.repeat(400) }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'invalid_request', details: { contextSize: 256 } });
      const { promptTokens } = (error as { details: { promptTokens: number } }).details;
      expect(promptTokens).toBeGreaterThan(256);
      expect(promptTokens).toBeLessThan(1024);
      const answer = await pod.runtime.complete({ prompt: 'hello', max_tokens: 4 });
      expect(answer.usage?.completionTokens).toBeGreaterThan(0);
    } finally {
      await pod.runtime.unload();
    }
  });

  it('names a given GGUF after its file and takes the operator price', async () => {
    const source = await operatorPod({ dataDir: dir, slots: 1 });
    await writeTinyModel(join(dir, 'my-model.gguf'), { seed: 7 });
    const pod = await operatorPod({
      dataDir: dir,
      slots: 1,
      model: join(dir, 'my-model.gguf'),
      pricePerUnit: 5n,
    });
    expect(pod.spec).toMatchObject({
      name: 'my-model',
      pricePerUnit: 5n,
      artifact: { uri: 'my-model.gguf' },
    });
    expect(pod.podId).not.toBe(source.podId);
  });

  it('says what a GGUF pod will hold once loaded: more with more slots or tokens, nothing of the upstream', async () => {
    const small = await operatorPod({ dataDir: dir, slots: 1, contextSize: 256 });
    const large = await operatorPod({ dataDir: dir, slots: 4, contextSize: 1024 });
    // The billed memory is the spec's, alike on every node; what the node's budget counts is the estimate.
    expect(small.spec.minVramMiB).toBe(large.spec.minVramMiB);
    expect(small.memoryEstimate?.detail).toMatch(
      /^weights 1 MiB, 1 slot × 256 tokens \d+ MiB, embeddings \d+ MiB$/,
    );
    expect(large.memoryEstimate?.detail).toMatch(/, 4 slots × 1,024 tokens \d+ MiB, /);
    expect(large.memoryEstimate?.totalMiB).toBeGreaterThan(small.memoryEstimate?.totalMiB ?? Infinity);
    const upstream = await operatorPod({
      dataDir: dir,
      slots: 1,
      upstream: 'http://127.0.0.1:1/v1',
      upstreamModel: 'm',
    });
    expect(upstream.memoryEstimate).toBeUndefined();
  });

  it('refuses a file that is no GGUF when configured, not at its first load', async () => {
    await writeFile(join(dir, 'empty.gguf'), '');
    await expect(
      operatorPod({ dataDir: dir, slots: 1, model: join(dir, 'empty.gguf') }),
    ).rejects.toMatchObject({
      code: 'invalid_config',
      message: 'Cannot read empty.gguf: not a GGUF file: only 0 bytes',
    });
  });

  it('relays to an upstream under the upstream model name', async () => {
    const pod = await operatorPod({
      dataDir: dir,
      slots: 2,
      upstream: 'http://127.0.0.1:1/v1',
      upstreamModel: 'qwen2.5-7b',
      vramMiB: 8192,
      contextSize: 32_768,
    });
    expect(pod.spec).toMatchObject({ runtime: 'openai-upstream', name: 'qwen2.5-7b', minVramMiB: 8192 });
    expect(pod.runtime.info()).toMatchObject({
      runtime: 'openai-upstream',
      model: 'qwen2.5-7b',
      warm: false,
      contextSize: 32_768,
    });
    await expect(
      operatorPod({ dataDir: dir, slots: 1, upstream: 'http://127.0.0.1:1/v1' }),
    ).rejects.toMatchObject({
      code: 'invalid_config',
    });
  });

  it('prompts with the chat template it is told, named in the spec it builds and read from one it is given', async () => {
    const auto = await operatorPod({ dataDir: dir, slots: 1 });
    const llama3 = await operatorPod({ dataDir: dir, slots: 1, chatTemplate: 'llama3' });
    expect(llama3.spec.options).toEqual({ chatTemplate: 'llama3' });
    expect(llama3.podId).not.toBe(auto.podId);
    await writeFile(join(dir, 'llama3.json'), canonicalPodSpec(llama3.spec));
    const fromSpec = await operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'llama3.json') });
    expect(fromSpec.podId).toBe(llama3.podId);
    // Llama 3's header tokens, spelled out in the tiny vocabulary, against ChatML's.
    const [ownTokens, llama3Tokens, specTokens] = [
      await promptTokens(auto),
      await promptTokens(llama3),
      await promptTokens(fromSpec),
    ];
    expect(llama3Tokens).not.toBe(ownTokens);
    expect(specTokens).toBe(llama3Tokens);
  });

  it('says a Matryoshka embedding model in the spec it builds, and refuses the flag a spec contradicts', async () => {
    const plain = await operatorPod({ dataDir: dir, slots: 1 });
    const nested = await operatorPod({ dataDir: dir, slots: 1, matryoshka: true, chatTemplate: 'llama3' });
    expect(nested.spec.options).toEqual({ chatTemplate: 'llama3', matryoshka: true });
    expect(isMatryoshka(nested.spec)).toBe(true);
    expect(isMatryoshka(plain.spec)).toBe(false);
    await writeFile(join(dir, 'plain.json'), canonicalPodSpec(plain.spec));
    const contradicted = operatorPod({
      dataDir: dir,
      slots: 1,
      matryoshka: true,
      podSpec: join(dir, 'plain.json'),
    });
    await expect(contradicted).rejects.toThrow('--matryoshka, but the pod spec');
    const upstream = operatorPod({
      dataDir: dir,
      slots: 1,
      matryoshka: true,
      upstream: 'http://127.0.0.1:1/v1',
      upstreamModel: 'm',
    });
    await expect(upstream).rejects.toThrow('--matryoshka is for --model');
  });

  it('keeps prompts in its slots unless told not to, or serving a pod validated by re-execution', async () => {
    const built = (await operatorPod({ dataDir: dir, slots: 1 })).spec;
    const reexecuted = { ...built, deterministic: true, validation: { method: 'reexecute' as const } };
    await writeFile(join(dir, 'reexecuted.json'), canonicalPodSpec(reexecuted));
    const cachedTwice = async (pod: Awaited<ReturnType<typeof operatorPod>>) => {
      await pod.runtime.load();
      try {
        const request = { messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 1 };
        await pod.runtime.chat(request);
        return (await pod.runtime.chat(request)).usage?.cachedPromptTokens;
      } finally {
        await pod.runtime.unload();
      }
    };
    expect(await cachedTwice(await operatorPod({ dataDir: dir, slots: 1 }))).toBeGreaterThan(0);
    expect(
      await cachedTwice(await operatorPod({ dataDir: dir, slots: 1, promptCache: false })),
    ).toBeUndefined();
    const pod = await operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'reexecuted.json') });
    expect(await cachedTwice(pod)).toBeUndefined();
    await expect(upstreamPod({ promptCache: false })).rejects.toThrow('--no-prompt-cache is for --model');
  });

  it('refuses a chat template the spec names that it does not know, or one a flag contradicts', async () => {
    const built = (await operatorPod({ dataDir: dir, slots: 1 })).spec;
    await writeFile(join(dir, 'plain.json'), canonicalPodSpec(built));
    await expect(
      operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'plain.json'), chatTemplate: 'qwen' }),
    ).rejects.toThrow(/--chat-template qwen, but the pod spec .*plain\.json names the model file's own/);
    const unknown = { ...built, options: { chatTemplate: 'llama9' } };
    await writeFile(join(dir, 'unknown.json'), canonicalPodSpec(unknown));
    await expect(
      operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'unknown.json') }),
    ).rejects.toMatchObject({
      code: 'invalid_config',
      message: expect.stringMatching(/options\.chatTemplate "llama9" is none of general, .*llama3/),
    });
    await expect(upstreamPod({ chatTemplate: 'qwen' })).rejects.toThrow('--chat-template is for --model');
  });

  it('prompts with a Jinja chat template from a file, its text in the spec, and refuses one a spec or flag contradicts', async () => {
    const template =
      '{% for message in messages %}<{{ message.role }}>{{ message.content }}\n{% endfor %}' +
      '{% if add_generation_prompt %}<assistant>{% endif %}';
    const file = join(dir, 'template.jinja');
    await writeFile(file, template);
    const auto = await operatorPod({ dataDir: dir, slots: 1 });
    const own = await operatorPod({ dataDir: dir, slots: 1, chatTemplateFile: file });
    expect(own.spec.options).toEqual({ chatTemplateJinja: template });
    expect(own.podId).not.toBe(auto.podId);
    // A miner given the spec alone prompts as the spec says, and agrees with the same file beside it.
    await writeFile(join(dir, 'own.json'), canonicalPodSpec(own.spec));
    const fromSpec = await operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'own.json') });
    expect(fromSpec.podId).toBe(own.podId);
    const both = await operatorPod({
      dataDir: dir,
      slots: 1,
      podSpec: join(dir, 'own.json'),
      chatTemplateFile: file,
    });
    expect(both.podId).toBe(own.podId);
    const [ownTokens, fileTokens, specTokens] = [
      await promptTokens(auto),
      await promptTokens(own),
      await promptTokens(fromSpec),
    ];
    expect(fileTokens).not.toBe(ownTokens);
    expect(specTokens).toBe(fileTokens);

    const other = join(dir, 'other.jinja');
    await writeFile(other, `# another\n${template}`);
    await expect(
      operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'own.json'), chatTemplateFile: other }),
    ).rejects.toThrow(
      /--chat-template-file .*other\.jinja, but the pod spec .*own\.json names another Jinja template/,
    );
    await writeFile(join(dir, 'plain.json'), canonicalPodSpec(auto.spec));
    await expect(
      operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'plain.json'), chatTemplateFile: file }),
    ).rejects.toThrow(/but the pod spec .*plain\.json names the model file's own/);
    await expect(
      operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'own.json'), chatTemplate: 'qwen' }),
    ).rejects.toThrow(/--chat-template qwen, but the pod spec .*own\.json names a Jinja template of its own/);
    await expect(
      operatorPod({ dataDir: dir, slots: 1, chatTemplate: 'qwen', chatTemplateFile: file }),
    ).rejects.toThrow('--chat-template and --chat-template-file both name a chat template: give one');
    await expect(upstreamPod({ chatTemplateFile: file })).rejects.toThrow(
      '--chat-template-file is for --model',
    );
  });

  it('refuses a chat template file it cannot read or prompt with, and such a template in a spec', async () => {
    const refused = (chatTemplateFile: string) => operatorPod({ dataDir: dir, slots: 1, chatTemplateFile });
    await expect(refused(join(dir, 'missing.jinja'))).rejects.toMatchObject({
      code: 'invalid_config',
      message: expect.stringMatching(/^cannot read the chat template file .*missing\.jinja: no such file$/),
    });
    await writeFile(join(dir, 'empty.jinja'), '  \n');
    await expect(refused(join(dir, 'empty.jinja'))).rejects.toThrow(
      /the chat template file .*empty\.jinja cannot prompt a model: it is empty$/,
    );
    await writeFile(join(dir, 'broken.jinja'), '{% for message in messages %}{{ message.content }');
    await expect(refused(join(dir, 'broken.jinja'))).rejects.toThrow(
      /the chat template file .*broken\.jinja cannot prompt a model: .*Jinja template/,
    );
    // A template that leaves the messages out would prompt the model with none of the conversation.
    await writeFile(join(dir, 'mute.jinja'), 'Answer something.');
    await expect(refused(join(dir, 'mute.jinja'))).rejects.toThrow(/mute\.jinja cannot prompt a model/);
    await writeFile(join(dir, 'huge.jinja'), `{# ${'x'.repeat(70_000)} #}{{ messages }}`);
    await expect(refused(join(dir, 'huge.jinja'))).rejects.toThrow(
      /huge\.jinja cannot prompt a model: it is 70020 characters long, past the 65536 a pod spec holds/,
    );

    const built = (await operatorPod({ dataDir: dir, slots: 1 })).spec;
    const specWith = async (name: string, options: Record<string, unknown>) => {
      await writeFile(join(dir, name), canonicalPodSpec({ ...built, options } as typeof built));
      return operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, name) });
    };
    await expect(specWith('broken.json', { chatTemplateJinja: '{{ messages' })).rejects.toThrow(
      /options\.chatTemplateJinja cannot prompt a model: /,
    );
    await expect(specWith('number.json', { chatTemplateJinja: 7 })).rejects.toThrow(
      'options.chatTemplateJinja must be the text of a Jinja template',
    );
    await expect(
      specWith('two.json', { chatTemplate: 'llama3', chatTemplateJinja: '{{ messages }}' }),
    ).rejects.toThrow('options.chatTemplate and options.chatTemplateJinja both name a chat template');
  });

  it('announces a catalog spec for the same artifact, and refuses one for another', async () => {
    const built = (await operatorPod({ dataDir: dir, slots: 1 })).spec;
    const catalog = { ...built, name: 'tiny-in-catalog', deployerShareBps: 2_000 };
    await writeFile(join(dir, 'catalog.json'), canonicalPodSpec(catalog));
    const pod = await operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'catalog.json') });
    expect(pod.podId).toBe(podId(catalog));

    const other = { ...built, artifact: { uri: 'x.gguf', sha256: 'f'.repeat(64) } };
    await writeFile(join(dir, 'other.json'), canonicalPodSpec(other));
    await expect(operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'other.json') })).rejects.toThrow(
      /but this node runs llama-cpp/,
    );
    await writeFile(join(dir, 'broken.json'), '{"name": 1}');
    await expect(operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'broken.json') })).rejects.toThrow(
      /pod spec .*broken\.json: /,
    );
    await expect(
      operatorPod({ dataDir: dir, slots: 1, podSpec: join(dir, 'absent.json') }),
    ).rejects.toMatchObject({
      code: 'invalid_config',
    });
  });
});
