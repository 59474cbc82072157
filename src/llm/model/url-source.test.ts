import { describe, expect, it } from 'vitest';
import { hostileServerPerTest } from '../../util/hostile-server';
import { ModelFormatError } from './errors';
import { checkModelUrl, urlSource } from './url-source';
import { MODEL_FILE_LIMITS, readModelIndex, shardLimit } from './weights';

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
    expect(checkModelUrl('https://huggingface.co/mlc-ai/X/resolve/main').href).toBe(
      'https://huggingface.co/mlc-ai/X/resolve/main/',
    );
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
    await expect(urlSource('https://h/m/', { fetchImpl: denied.impl }).read('x')).rejects.toThrow(
      /https:\/\/h\/m\/x: download failed \(HTTP 403\)/,
    );
    expect(denied.calls).toHaveLength(1);

    const down = fakeFetch([500, 500]);
    await expect(urlSource('https://h/m/', { fetchImpl: down.impl, retries: 1 }).read('x')).rejects.toThrow(/HTTP 500/);
  }, 20_000);
});

describe('urlSource against servers that misbehave', () => {
  const shard = new Uint8Array(93_232).fill(7);
  const limit = shardLimit(shard.length);
  const { server, routes } = hostileServerPerTest();
  const fast = { retries: 1, backoffMs: 1, idleTimeoutMs: 150 };

  it('refuses a file name from the index that resolves outside the model, without fetching it', async () => {
    const source = urlSource(`${server.url}models/a/`, fast);
    const outside = ['../b/params_shard_0.bin', '/etc/passwd', 'https://elsewhere.example/x.bin', '//evil.example/x'];
    for (const name of [...outside, 'a/../../x', '%2e%2e/x']) {
      await expect(source.read(name, limit), name).rejects.toThrow(/points outside the model's directory/);
    }
    expect(server.requests).toEqual([]);
  });

  it('refuses a Content-Length over the limit before reading the body (5 GB announced, 93 KB indexed)', async () => {
    routes.set('/m/params_shard_0.bin', { body: shard, contentLength: 5_000_000_000 });
    const error = await urlSource(`${server.url}m/`, fast)
      .read('params_shard_0.bin', limit)
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toBe(
      `${server.url}m/params_shard_0.bin: 5000000000 bytes, over the limit of 93232 for this weight shard ` +
        '(tensor-cache.json says 93232 bytes; the file belongs to another model?)',
    );
    expect(server.requests).toHaveLength(1); // not retried: the server's answer is wrong, not flaky
  });

  it('stops an endless body at the limit', async () => {
    routes.set('/m/tokenizer.json', { body: '{"model":', endless: true });
    const source = urlSource(`${server.url}m/`, fast);
    await expect(source.read('tokenizer.json', { maxBytes: 1 << 20, what: 'tokenizer.json' })).rejects.toThrow(
      /tokenizer.json: the server sends more than 1048576 bytes, the limit for tokenizer.json/,
    );
  });

  it('says the URL returned a web page where the model config should be', async () => {
    const page = '<!DOCTYPE html><html><head><title>Sign in</title></head></html>';
    routes.set('/m/mlc-chat-config.json', { body: page, headers: { 'Content-Type': 'text/html' } });
    await expect(readModelIndex(urlSource(`${server.url}m/`, fast))).rejects.toThrow(
      `${server.url}m/mlc-chat-config.json: is a web page (HTML), not JSON: the URL returned a page`,
    );
  });

  it('gives up on a server that stalls (no headers, or half a body), after retrying, naming the URL', async () => {
    routes.set('/m/mlc-chat-config.json', { stallHeaders: true });
    routes.set('/m/params_shard_0.bin', { body: shard, stallAfter: 1000 });
    const source = urlSource(`${server.url}m/`, fast);
    await expect(source.read('mlc-chat-config.json', MODEL_FILE_LIMITS['mlc-chat-config.json'])).rejects.toThrow(
      `${server.url}m/mlc-chat-config.json: download failed after 2 attempts (no data for 0.15 s (the server stalled))`,
    );
    await expect(source.read('params_shard_0.bin', limit)).rejects.toThrow(
      `${server.url}m/params_shard_0.bin: download failed after 2 attempts (no data for 0.15 s`,
    );
    expect(server.requests.filter((p) => p.endsWith('.bin'))).toHaveLength(2);
  });
});
