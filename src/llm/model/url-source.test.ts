import { describe, expect, it } from 'vitest';
import { checkModelUrl, urlSource } from './url-source';

function fakeFetch(responses: (number | Error)[]) {
  const calls: string[] = [];
  const impl = (async (url: string) => {
    calls.push(url);
    const next = responses.shift() ?? 500;
    if (next instanceof Error) throw next;
    return new Response(next === 200 ? new Uint8Array([1, 2, 3]) : null, { status: next });
  }) as unknown as typeof fetch;
  return { impl, calls };
}

describe('urlSource', () => {
  it('accepts https and localhost only, and normalizes the base to a directory', () => {
    expect(checkModelUrl('https://huggingface.co/mlc-ai/X/resolve/main').href).toBe('https://huggingface.co/mlc-ai/X/resolve/main/');
    expect(checkModelUrl('http://localhost:8000/m/').href).toBe('http://localhost:8000/m/');
    expect(() => checkModelUrl('http://example.com/m/')).toThrow(/only https/);
    expect(() => checkModelUrl('file:///etc/passwd')).toThrow(/only https/);
    expect(() => checkModelUrl('not a url')).toThrow(/not a URL/);
  });

  it('reads a file, maps 404 to "missing", retries transient failures, and gives up with a clear error', async () => {
    const ok = fakeFetch([503, new Error('ECONNRESET'), 200]);
    const bytes = await urlSource('https://h/m/', { fetchImpl: ok.impl, retries: 3 }).read('a.bin');
    expect(Array.from(bytes!)).toEqual([1, 2, 3]);
    expect(ok.calls).toEqual(['https://h/m/a.bin', 'https://h/m/a.bin', 'https://h/m/a.bin']);

    const missing = fakeFetch([404]);
    expect(await urlSource('https://h/m/', { fetchImpl: missing.impl }).read('tensor-cache.json')).toBeUndefined();

    const denied = fakeFetch([403]);
    await expect(urlSource('https://h/m/', { fetchImpl: denied.impl }).read('x')).rejects.toThrow(/https:\/\/h\/m\/x: download failed \(HTTP 403\)/);
    expect(denied.calls).toHaveLength(1);

    const down = fakeFetch([500, 500]);
    await expect(urlSource('https://h/m/', { fetchImpl: down.impl, retries: 1 }).read('x')).rejects.toThrow(/HTTP 500/);
  }, 20_000);
});
