// `neurino pod …`: a spec written for a GGUF file or an upstream model is the spec a miner builds for it
// (so both arrive at the same pod id); registered on a real chain (anvil with the protocol deployed) with
// the key account as deployer, shown back, and each refusal said in words.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorPod } from '../../compute/miner/operator-pod.ts';
import { ensureTinyModel } from '../../compute/model/tiny-model.ts';
import { canonicalPodSpec, type PodSpec, parsePodSpec, podId } from '../../protocol/pod-spec.ts';
import { type CliChain, startCliChain } from '../testing/cli-chain.ts';
import { runCommand } from '../testing/run-command.ts';
import { podCommand } from './pod.ts';

let cli: CliChain;
let model: string;
const key = generatePrivateKey();
const deployer = privateKeyToAccount(key).address;
const otherKey = generatePrivateKey();

beforeAll(async () => {
  cli = await startCliChain('pod');
  model = (await ensureTinyModel(join(cli.dir, 'models'))).path;
  for (const k of [key, otherKey]) await cli.chain.giveEth(privateKeyToAccount(k).address, parseEther('1'));
});

afterAll(async () => {
  await cli?.stop();
});

const run = (...args: string[]) => runCommand(podCommand(), args);

async function specFile(name: string, ...args: string[]): Promise<{ path: string; spec: PodSpec }> {
  const path = join(cli.dir, `${name}.json`);
  await run('spec', ...args, '--out', path);
  const parsed = parsePodSpec(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.ok) throw parsed.error;
  return { path, spec: parsed.value };
}

describe('neurino pod spec', () => {
  it("writes the spec a miner builds for the same GGUF file, so both have the pod's id", async () => {
    const { spec } = await specFile('tiny', '--model', model, '--price-per-unit', '5000');
    const miner = await operatorPod({ dataDir: cli.dir, slots: 1, model, pricePerUnit: 5000n });
    expect(podId(spec)).toBe(miner.podId);
    expect(spec).toMatchObject({ name: 'neurino-tiny', runtime: 'llama-cpp', pricePerUnit: 5000n });
    // Printed without --out: the same spec.
    const printed = parsePodSpec(JSON.parse(await run('spec', '--model', model, '--price-per-unit', '5000')));
    expect(printed.ok && canonicalPodSpec(printed.value)).toBe(canonicalPodSpec(spec));
  });

  it('names a chat template in the spec as a miner told the same one does', async () => {
    const { spec } = await specFile('tiny-qwen', '--model', model, '--chat-template', 'qwen');
    const miner = await operatorPod({ dataDir: cli.dir, slots: 1, model, chatTemplate: 'qwen' });
    expect(spec.options).toEqual({ chatTemplate: 'qwen' });
    expect(podId(spec)).toBe(miner.podId);
    await expect(run('spec', '--model', model, '--chat-template', 'llama9')).rejects.toThrow(
      "argument 'llama9' is invalid. Allowed choices are general, ",
    );
    await expect(run('spec', '--upstream-model', 'x', '--chat-template', 'qwen')).rejects.toThrow(
      '--chat-template is for --model',
    );
  });

  it('puts a Jinja chat template from a file in the spec as a miner told the same file does', async () => {
    const template = '{% for message in messages %}[{{ message.role }}]{{ message.content }}{% endfor %}';
    const file = join(cli.dir, 'chat.jinja');
    await writeFile(file, template);
    const { spec } = await specFile('tiny-jinja', '--model', model, '--chat-template-file', file);
    const miner = await operatorPod({ dataDir: cli.dir, slots: 1, model, chatTemplateFile: file });
    expect(spec.options).toEqual({ chatTemplateJinja: template });
    expect(podId(spec)).toBe(miner.podId);
    await expect(
      run('spec', '--model', model, '--chat-template', 'qwen', '--chat-template-file', file),
    ).rejects.toThrow(
      "option '--chat-template-file <file.jinja>' cannot be used with option '--chat-template <name>'",
    );
    await expect(run('spec', '--upstream-model', 'x', '--chat-template-file', file)).rejects.toThrow(
      '--chat-template-file is for --model',
    );
    await expect(
      run('spec', '--model', model, '--chat-template-file', join(cli.dir, 'none.jinja')),
    ).rejects.toThrow(/cannot read the chat template file .*none\.jinja: no such file/);
  });

  it('says a Matryoshka embedding model in the spec as a miner told so does', async () => {
    const { spec } = await specFile('tiny-nested', '--model', model, '--matryoshka');
    const miner = await operatorPod({ dataDir: cli.dir, slots: 1, model, matryoshka: true });
    expect(spec.options).toEqual({ matryoshka: true });
    expect(podId(spec)).toBe(miner.podId);
    await expect(run('spec', '--upstream-model', 'x', '--matryoshka')).rejects.toThrow(
      '--matryoshka is for --model',
    );
  });

  it('writes an upstream model’s spec as a miner relaying to it builds it', async () => {
    const { spec } = await specFile('qwen', '--upstream-model', 'qwen2.5-7b', '--vram-mib', '8192');
    const miner = await operatorPod({
      dataDir: cli.dir,
      slots: 1,
      upstream: 'http://127.0.0.1:1/v1',
      upstreamModel: 'qwen2.5-7b',
      vramMiB: 8192,
    });
    expect(podId(spec)).toBe(miner.podId);
  });

  it('sets the replica bounds the routers keep the pod within, part of the pod as every other term', async () => {
    const { spec } = await specFile(
      'tiny-kept',
      '--model',
      model,
      '--min-replicas',
      '2',
      '--max-replicas',
      '8',
    );
    expect(spec.autoscale).toEqual({ min: 2, max: 8 });
    const { spec: plain } = await specFile('tiny-plain', '--model', model);
    expect(plain.autoscale).toEqual({ min: 0, max: 64 });
    expect(podId(spec)).not.toBe(podId(plain));
    expect((await specFile('tiny-one', '--model', model, '--min-replicas', '1')).spec.autoscale).toEqual({
      min: 1,
      max: 64,
    });
    await expect(run('spec', '--model', model, '--min-replicas', '9', '--max-replicas', '8')).rejects.toThrow(
      '--min-replicas (9) is more than --max-replicas (8)',
    );
    await expect(run('spec', '--model', model, '--max-replicas', '0')).rejects.toThrow(
      'expected a whole number 1-1024, got "0"',
    );
  });

  it('refuses what does not make one spec', async () => {
    await expect(run('spec')).rejects.toThrow('give one of --model <file.gguf> or --upstream-model <name>');
    await expect(run('spec', '--model', model, '--upstream-model', 'x')).rejects.toThrow('give one of');
    await expect(run('spec', '--upstream-model', 'x', '--name', 'y')).rejects.toThrow(
      '--name is for --model',
    );
    await expect(run('spec', '--model', model, '--deployer-share-bps', '10001')).rejects.toThrow(
      'expected basis points 0-10000, got "10001"',
    );
    await expect(run('spec', '--model', join(cli.dir, 'missing.gguf'))).rejects.toThrow(
      'cannot read the model file',
    );
  });
});

describe('neurino pod register and show', () => {
  it('registers a spec with the key account as deployer, once, and shows it', async () => {
    const { path, spec } = await specFile('to-register', '--model', model, '--deployer-share-bps', '1500');
    const id = podId(spec);
    expect(await run('show', path, ...cli.chainFlags)).toBe(
      `pod ${id} is not registered on chain ${cli.chain.book.chainId}`,
    );
    const registered = await run('register', path, '--key', key, ...cli.chainFlags);
    expect(registered).toMatch(
      new RegExp(`^registered pod neurino-tiny ${id}, deployer ${deployer} \\(tx 0x[0-9a-f]{64}\\)$`),
    );
    const shown = await run('show', id, ...cli.chainFlags);
    expect(shown).toContain(`pod ${id} on chain ${cli.chain.book.chainId}`);
    expect(shown).toContain(`deployer        ${deployer}`);
    expect(shown).toContain('deployer share  15 %');
    expect(shown).toContain(`price per unit  ${spec.pricePerUnit} wei`);

    expect(await run('register', path, '--key', key, ...cli.chainFlags)).toBe(
      `pod neurino-tiny ${id} is registered already, deployed by this key (${deployer})`,
    );
    await expect(run('register', path, '--key', otherKey, ...cli.chainFlags)).rejects.toThrow(
      `pod neurino-tiny ${id} is registered already, by ${deployer}`,
    );
  });

  it('says why PodRegistry refuses a spec, and that a key is needed', async () => {
    const { path, spec } = await specFile('dear', '--model', model, '--name', 'dear');
    const tooDear = join(cli.dir, 'too-dear.json');
    await writeFile(tooDear, canonicalPodSpec({ ...spec, pricePerUnit: parseEther('2') }));
    await expect(run('register', tooDear, '--key', key, ...cli.chainFlags)).rejects.toThrow(
      `PodRegistry refused dear: a price of ${parseEther('2')} wei per unit is above governance's cap of ${parseEther('1')} wei`,
    );
    const saved = process.env.NEURINO_KEY;
    delete process.env.NEURINO_KEY;
    try {
      await expect(run('register', path, ...cli.chainFlags)).rejects.toThrow('a key is needed');
    } finally {
      if (saved !== undefined) process.env.NEURINO_KEY = saved;
    }
  });
});
