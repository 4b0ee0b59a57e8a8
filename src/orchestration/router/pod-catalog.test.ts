import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isNeurinoError } from '../../protocol/errors.ts';
import { podId } from '../../protocol/pod-spec.ts';
import { SAMPLE_PAYER, samplePodSpec } from '../../protocol/testing/samples.ts';
import { PodCatalog } from './pod-catalog.ts';
import { loadPodCatalog, readPodSpecFile, readPodSpecs } from './pod-spec-files.ts';

const dir = await mkdtemp(join(tmpdir(), 'neurino-catalog-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('PodCatalog', () => {
  it('finds a pod by id (any hex case) and by model name or alias', () => {
    const spec = samplePodSpec();
    const catalog = new PodCatalog();
    const entry = catalog.add(spec, { deployer: SAMPLE_PAYER, aliases: ['gpt-4o-mini'] });
    expect(entry).toMatchObject({
      podId: podId(spec),
      pricePerUnit: spec.pricePerUnit,
      deployer: SAMPLE_PAYER,
    });
    expect(entry.models).toEqual(['tiny-llama-q8', 'gpt-4o-mini']);
    expect(catalog.byModel('tiny-llama-q8')).toBe(entry);
    expect(catalog.byModel('gpt-4o-mini')).toBe(entry);
    expect(catalog.byId(entry.podId.toUpperCase().replace('0X', '0x') as `0x${string}`)).toBe(entry);
    expect(catalog.list()).toEqual([entry]);
  });

  it('treats the same spec twice as one pod', () => {
    const catalog = new PodCatalog([samplePodSpec(), samplePodSpec()]);
    expect(catalog.size).toBe(1);
    expect(catalog.byModel('tiny-llama-q8')?.deployer).toBeUndefined();
  });

  it('refuses a model name that another pod already serves', () => {
    const catalog = new PodCatalog([samplePodSpec()]);
    expect(() => catalog.add(samplePodSpec({ pricePerUnit: 7n }))).toThrow(/already served/);
    expect(() => catalog.add(samplePodSpec({ name: 'other' }), { aliases: ['tiny-llama-q8'] })).toThrow(
      /already served/,
    );
    expect(catalog.size).toBe(1);
    expect(catalog.byModel('other')).toBeUndefined();
  });

  it('serves exactly the pods of a replace: new ones added, missing ones removed, kept ones as they were', () => {
    const kept = samplePodSpec();
    const gone = samplePodSpec({ name: 'gone' });
    const catalog = new PodCatalog();
    expect(catalog.replace([{ spec: kept }, { spec: gone, aliases: ['old-alias'] }])).toMatchObject({
      added: [{ spec: kept }, { spec: gone }],
      removed: [],
      updated: [],
    });
    const keptEntry = catalog.byModel('tiny-llama-q8');
    const fresh = samplePodSpec({ name: 'fresh' });
    const changes = catalog.replace([{ spec: kept }, { spec: fresh }]);
    expect(changes.added.map((e) => e.spec.name)).toEqual(['fresh']);
    expect(changes.removed.map((e) => e.spec.name)).toEqual(['gone']);
    expect(changes.updated).toEqual([]);
    expect(catalog.byModel('tiny-llama-q8')).toBe(keptEntry);
    expect(catalog.byModel('gone')).toBeUndefined();
    expect(catalog.byModel('old-alias')).toBeUndefined();
    expect(catalog.byId(podId(gone))).toBeUndefined();
    expect(catalog.list().map((e) => e.spec.name)).toEqual(['tiny-llama-q8', 'fresh']);
    // A deployer learned since (the pod registered) or new aliases update the entry in place.
    const learned = catalog.replace([
      { spec: kept, deployer: SAMPLE_PAYER, aliases: ['gpt-4o-mini'] },
      { spec: fresh },
    ]);
    expect(learned.updated.map((e) => e.spec.name)).toEqual(['tiny-llama-q8']);
    expect(catalog.byModel('gpt-4o-mini')?.deployer).toBe(SAMPLE_PAYER);
    // A new price is a new pod under the same name: the old one goes, the new one comes.
    const repriced = samplePodSpec({ pricePerUnit: 7n });
    const moved = catalog.replace([{ spec: repriced }]);
    expect(moved.added.map((e) => e.podId)).toEqual([podId(repriced)]);
    expect(moved.removed.map((e) => e.spec.name).sort()).toEqual(['fresh', 'tiny-llama-q8']);
    expect(catalog.byModel('tiny-llama-q8')?.pricePerUnit).toBe(7n);
  });

  it('changes nothing when a replace names one model for two pods', () => {
    const catalog = new PodCatalog([samplePodSpec()]);
    const before = catalog.list();
    expect(() =>
      catalog.replace([
        { spec: samplePodSpec({ name: 'a' }) },
        { spec: samplePodSpec({ name: 'b' }), aliases: ['a'] },
      ]),
    ).toThrow(/model name "a" is already served by pod/);
    expect(catalog.list()).toEqual(before);
    expect(catalog.byModel('tiny-llama-q8')).toBe(before[0]);
    expect(catalog.byModel('b')).toBeUndefined();
  });

  it('answers an unknown model with model_not_found (404) naming the parameter', () => {
    const catalog = new PodCatalog([samplePodSpec()]);
    expect(catalog.requireModel('tiny-llama-q8').spec.name).toBe('tiny-llama-q8');
    try {
      catalog.requireModel('gpt-5');
      expect.unreachable();
    } catch (error) {
      expect(isNeurinoError(error) && [error.code, error.status, error.param]).toEqual([
        'model_not_found',
        404,
        'model',
      ]);
    }
    expect(catalog.byModel('gpt-5')).toBeUndefined();
    expect(catalog.byId(`0x${'00'.repeat(32)}`)).toBeUndefined();
  });
});

describe('pod spec files', () => {
  const specJson = () => ({ ...samplePodSpec(), pricePerUnit: '1000000000' });

  it('loads a catalog from JSON spec files', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await writeFile(a, JSON.stringify(specJson()));
    await writeFile(b, JSON.stringify({ ...specJson(), name: 'second' }));
    const catalog = await loadPodCatalog([a, b]);
    expect(catalog.list().map((e) => e.spec.name)).toEqual(['tiny-llama-q8', 'second']);
    expect((await readPodSpecFile(a)).pricePerUnit).toBe(1_000_000_000n);
  });

  it('reads every *.json spec of a folder, by name, beside single files', async () => {
    const folder = join(dir, 'pods');
    await mkdir(folder);
    await writeFile(join(folder, 'b.json'), JSON.stringify({ ...specJson(), name: 'bee' }));
    await writeFile(join(folder, 'a.json'), JSON.stringify({ ...specJson(), name: 'ay' }));
    await writeFile(join(folder, 'notes.txt'), 'not a spec');
    const single = join(dir, 'single.json');
    await writeFile(single, JSON.stringify({ ...specJson(), name: 'single' }));
    expect((await readPodSpecs([folder, single])).map((s) => s.name)).toEqual(['ay', 'bee', 'single']);
    await writeFile(join(folder, 'c.json'), '{ broken');
    await expect(readPodSpecs([folder])).rejects.toThrow(
      `pod spec ${join(folder, 'c.json')} is not valid JSON`,
    );
    await expect(readPodSpecs([join(dir, 'nowhere')])).rejects.toThrow(
      `cannot read pod spec ${join(dir, 'nowhere')}`,
    );
    expect(await readPodSpecs([])).toEqual([]);
  });

  it('names the file and the field when a spec is bad', async () => {
    const missing = join(dir, 'missing.json');
    const notJson = join(dir, 'not.json');
    const badField = join(dir, 'bad.json');
    const unknownField = join(dir, 'unknown.json');
    await writeFile(notJson, '{ nope');
    await writeFile(badField, JSON.stringify({ ...specJson(), minVramMiB: -1 }));
    await writeFile(unknownField, JSON.stringify({ ...specJson(), gpu: 'any' }));
    await expect(readPodSpecFile(missing)).rejects.toThrow(`cannot read pod spec ${missing}`);
    await expect(readPodSpecFile(notJson)).rejects.toThrow(`pod spec ${notJson} is not valid JSON`);
    await expect(readPodSpecFile(badField)).rejects.toThrow(/bad\.json: minVramMiB/);
    await expect(readPodSpecFile(unknownField)).rejects.toThrow(/unknown\.json/);
    await expect(loadPodCatalog([notJson])).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
