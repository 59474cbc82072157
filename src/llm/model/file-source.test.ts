import { describe, expect, it } from 'vitest';
import { ModelFormatError } from './errors';
import { checkPickedModel, fileListSource, filesFromDrop, type PickedFile } from './file-source';
import { makeModel } from './make-model';
import { readModelIndex, readShards } from './weights';

const model = makeModel({ maxShardBytes: 16 * 1024 });
const shardNames = model.files.filter((f) => f.name.startsWith('params_shard_')).map((f) => f.name);

/** What `<input webkitdirectory>` gives: Files with webkitRelativePath. */
function picked(folder: string, files = model.files): PickedFile[] {
  return files.map((f) => ({
    name: f.name,
    size: f.bytes.length,
    webkitRelativePath: folder ? `${folder}/${f.name}` : '',
    arrayBuffer: async () => f.bytes.slice().buffer,
  }));
}

describe('fileListSource', () => {
  it('reads a model from a picked folder, by name within the folder', async () => {
    const source = fileListSource(picked('Llama-MLC'));
    expect(source.folder).toBe('Llama-MLC');
    expect(source.describe('tokenizer.json')).toBe('picked folder "Llama-MLC"/tokenizer.json');
    const { config, cache } = await readModelIndex(source);
    expect(config).toEqual(model.config);
    expect((await readShards(source, cache)).size).toBe(shardNames.length);
    await checkPickedModel(source);
    expect(await source.read('absent.bin')).toBeUndefined();
  });

  it('refuses names outside the folder and files over their limit, without reading them', async () => {
    let reads = 0;
    const files = picked('m').map((f) => ({ ...f, arrayBuffer: async () => (reads++, f.arrayBuffer()) }));
    // A sibling model picked along: its shard must not be reachable through "../".
    const sibling = { name: 'params_shard_0.bin', size: 4, webkitRelativePath: 'other/params_shard_0.bin' };
    files.push({ ...sibling, arrayBuffer: async () => (reads++, new ArrayBuffer(4)) });
    const source = fileListSource(files);
    for (const name of ['../other/params_shard_0.bin', 'other/params_shard_0.bin', '/params_shard_0.bin', '..']) {
      await expect(source.read(name), name).rejects.toThrow(/points outside the model's directory/);
    }
    await expect(source.read('tokenizer.json', { maxBytes: 10, what: 'tokenizer.json' })).rejects.toThrow(
      /picked folder "m"\/tokenizer.json: \d+ bytes, over the limit of 10 for tokenizer.json/,
    );
    expect(reads).toBe(0);
  });

  it('finds the one model inside a picked parent folder, and accepts files picked without a folder', async () => {
    const extra: PickedFile = {
      name: 'README.md',
      size: 1,
      webkitRelativePath: 'models/README.md',
      arrayBuffer: async () => new ArrayBuffer(1),
    };
    const source = fileListSource([extra, ...picked('models/tiny')]);
    expect(source.folder).toBe('models/tiny');
    expect(source.names).not.toContain('README.md');
    expect((await readModelIndex(source)).config.layers).toBe(model.config.layers);

    const loose = fileListSource(picked(''));
    expect(loose.describe('mlc-chat-config.json')).toBe('picked files/mlc-chat-config.json');
    await checkPickedModel(loose);
  });

  it('explains a pick with no model, several models, or missing and truncated files', async () => {
    expect(() => fileListSource([])).toThrow(/nothing was picked/);
    expect(() =>
      fileListSource(
        picked(
          'x',
          model.files.filter((f) => f.name !== 'mlc-chat-config.json'),
        ),
      ),
    ).toThrow(
      /^picked folder "x": has no mlc-chat-config.json among its \d+ files \(params_shard_0.bin, .*\); pick the folder of an MLC model/,
    );
    expect(() => fileListSource([...picked('all/a'), ...picked('all/b')])).toThrow(
      'picked folder "all": holds 2 models (all/a, all/b); pick one model\'s folder',
    );

    const files = picked('m').filter((f) => f.name !== shardNames[1] && f.name !== 'tokenizer.json');
    const short = files.findIndex((f) => f.name === shardNames[0]);
    files[short] = { ...files[short], size: 10 };
    const error = await checkPickedModel(fileListSource(files)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toBe(
      `picked folder "m": missing 2 files: tokenizer.json, ${shardNames[1]}; wrong size: ${shardNames[0]} (10 bytes, tensor-cache.json says ${model.files[0].bytes.length}); pick the complete model folder (an interrupted download? fetch the missing files again)`,
    );
  });

  it('reads a dropped folder through the entries API (readEntries in batches)', async () => {
    const fileEntry = (dir: string, f: { name: string; bytes: Uint8Array }) => ({
      isFile: true,
      isDirectory: false,
      name: f.name,
      fullPath: `/${dir}/${f.name}`,
      file: (ok: (file: File) => void) => ok(new File([f.bytes.slice()], f.name)),
    });
    const children = model.files.map((f) => fileEntry('dropped', f));
    const batches = [children.slice(0, 2), children.slice(2), []];
    const dirEntry = {
      isFile: false,
      isDirectory: true,
      name: 'dropped',
      fullPath: '/dropped',
      createReader: () => ({ readEntries: (ok: (entries: typeof children) => void) => ok(batches.shift() ?? []) }),
    };
    const files = await filesFromDrop({
      items: [
        { kind: 'file', webkitGetAsEntry: () => dirEntry },
        { kind: 'string', webkitGetAsEntry: () => null },
      ],
    });
    expect(files.map((f) => f.relativePath).sort()).toEqual(model.files.map((f) => `dropped/${f.name}`).sort());
    const source = fileListSource(files);
    expect(source.folder).toBe('dropped');
    await checkPickedModel(source);
    const { cache } = await readModelIndex(source);
    expect((await readShards(source, cache)).size).toBe(shardNames.length);
  });
});
