/** Reading adapter files and URLs before anything touches state: selection rules, caps, sniffing, sibling config. */
import { describe, expect, it } from 'vitest';
import { encodeBundle, encodePeftAdapter } from '../share';
import { MICRO, trainedAdapter } from '../share/testing';
import { decodeAdapterBytes, fetchAdapter, readAdapterFiles, type FileLike } from './adapter-files';

const adapter = () => trainedAdapter(MICRO, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] });
const pair = () => encodePeftAdapter(adapter(), { baseModel: 'micro' });

function file(name: string, data: Uint8Array | string, size?: number): FileLike {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return { name, size: size ?? bytes.length, arrayBuffer: async () => bytes.slice().buffer };
}

const HF = 'https://huggingface.co/someone/twosome-micro/resolve/main/';

/** A fetch that serves `files` (URL -> bytes) and records what was asked. */
function fakeFetch(
  files: Record<string, Uint8Array | string>,
  asked: string[] = [],
  headers: Record<string, string> = {},
): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = String(input);
    asked.push(url);
    const body = files[url];
    if (body === undefined) return new Response('not found', { status: 404 });
    return new Response(typeof body === 'string' ? body : body.slice(), { status: 200, headers });
  }) as typeof fetch;
}

describe('readAdapterFiles', () => {
  it('reads a PEFT pair (any order) and a bundle with its setup', async () => {
    const { config, weights } = pair();
    const loaded = await readAdapterFiles([
      file('adapter_model.safetensors', weights),
      file('adapter_config.json', config),
    ]);
    expect(loaded).toMatchObject({ label: 'adapter_model.safetensors', baseModel: 'micro', setup: null, warnings: [] });
    expect(loaded.weights.config).toMatchObject({ r: 4, alpha: 8 });
    const bundle = encodeBundle({
      modelId: 'micro',
      task: 'food-preparation',
      normalization: 'sum',
      seed: 9,
      adapter: adapter(),
    });
    const fromZip = await readAdapterFiles([file('run.zip', bundle)]);
    expect(fromZip.setup).toEqual({ modelId: 'micro', taskId: 'food-preparation', norm: 'sum', seed: 9 });
  });

  it('weights alone load with a warning that alpha and the base model are unknown', async () => {
    const loaded = await readAdapterFiles([file('adapter_model.safetensors', pair().weights)]);
    expect(loaded.baseModel).toBeNull();
    expect(loaded.warnings.join()).toMatch(/no adapter_config\.json: lora_alpha and the base model are unknown/);
  });

  it('refuses wrong selections and oversized files before reading them, saying what to pick', async () => {
    const never: FileLike = {
      name: 'adapter_model.safetensors',
      size: 2 ** 31,
      arrayBuffer: () => Promise.reject(new Error('read')),
    };
    await expect(readAdapterFiles([never])).rejects.toThrow(/over the limit of \d+ for adapter weights/);
    await expect(readAdapterFiles([])).rejects.toThrow(/no files: pick a twosome bundle/);
    await expect(readAdapterFiles([file('a.zip', 'x'), file('adapter_config.json', '{}')])).rejects.toThrow(
      /pick it alone/,
    );
    await expect(readAdapterFiles([file('a.safetensors', 'x'), file('b.safetensors', 'y')])).rejects.toThrow(
      /2 \.safetensors files/,
    );
    await expect(readAdapterFiles([file('pytorch_model.pkl', 'x')])).rejects.toThrow(
      /never loaded \(they can run code\)/,
    );
    await expect(
      readAdapterFiles([file('twosome.json', '{}'), file('adapter_model.safetensors', pair().weights)]),
    ).rejects.toThrow(/belongs in a bundle/);
    await expect(
      readAdapterFiles([
        file('adapter_model.safetensors', pair().weights),
        file('adapter_config.json', '{"peft_type": "LORA",'),
      ]),
    ).rejects.toThrow(/adapter_config\.json: /);
  });

  it('a JSON file given as weights says so', () => {
    expect(() => decodeAdapterBytes(new TextEncoder().encode('hello, not an archive'), 'run.zip')).toThrow(
      /^run\.zip: is named \.zip but is not a zip archive/,
    );
    expect(() => decodeAdapterBytes(new TextEncoder().encode(' {"r": 8}'), 'weights.safetensors')).toThrow(
      /this is JSON \(adapter_config\.json\?\), not adapter weights/,
    );
  });
});

describe('fetchAdapter', () => {
  it('loads adapter_model.safetensors and finds adapter_config.json next to it (a Hugging Face resolve/main/ URL)', async () => {
    const { config, weights } = pair();
    const asked: string[] = [];
    const loaded = await fetchAdapter(`${HF}adapter_model.safetensors`, 'http://localhost:5173/', {
      fetch: fakeFetch({ [`${HF}adapter_model.safetensors`]: weights, [`${HF}adapter_config.json`]: config }, asked),
    });
    expect(asked).toEqual([`${HF}adapter_model.safetensors`, `${HF}adapter_config.json`]);
    expect(loaded).toMatchObject({
      label: 'huggingface.co/adapter_model.safetensors',
      baseModel: 'micro',
      warnings: [],
    });
  });

  it('without a config next to it the adapter still loads, with the warning', async () => {
    const loaded = await fetchAdapter(`${HF}adapter_model.safetensors`, 'http://localhost:5173/', {
      fetch: fakeFetch({ [`${HF}adapter_model.safetensors`]: pair().weights }),
    });
    expect(loaded.warnings.join()).toMatch(/no adapter_config\.json/);
  });

  it('refuses http:// elsewhere, other schemes, and a declared size over the cap before reading', async () => {
    const asked: string[] = [];
    const f = fakeFetch({}, asked);
    await expect(fetchAdapter('http://example.com/a.safetensors', 'https://me.example/', { fetch: f })).rejects.toThrow(
      /must be https:\/\/ or on this site/,
    );
    await expect(
      fetchAdapter('data:application/octet-stream,AAAA', 'https://me.example/', { fetch: f }),
    ).rejects.toThrow(/must be https:\/\//);
    await expect(fetchAdapter('javascript:alert(1)', 'https://me.example/', { fetch: f })).rejects.toThrow(
      /must be https:\/\//,
    );
    expect(asked).toEqual([]);
    const big = fakeFetch({ 'https://cdn.example/a.zip': 'PK' }, [], { 'content-length': String(2 ** 40) });
    await expect(fetchAdapter('https://cdn.example/a.zip', 'https://me.example/', { fetch: big })).rejects.toThrow(
      /over the limit of/,
    );
    await expect(
      fetchAdapter('https://cdn.example/missing.zip', 'https://me.example/', { fetch: fakeFetch({}) }),
    ).rejects.toThrow(/answered HTTP 404/);
  });

  it('same-origin http (development) is allowed', async () => {
    const url = 'http://localhost:5173/adapters/run.zip';
    const bundle = encodeBundle({
      modelId: 'micro',
      task: 'tomato-salad',
      normalization: 'word',
      seed: 1,
      adapter: adapter(),
    });
    const loaded = await fetchAdapter(url, 'http://localhost:5173/?task=tomato-salad', {
      fetch: fakeFetch({ [url]: bundle }),
    });
    expect(loaded.label).toBe('localhost:5173/run.zip');
    expect(loaded.setup?.taskId).toBe('tomato-salad');
  });
});
