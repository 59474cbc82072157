import { inflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { hostileServerPerTest } from '../util/hostile-server';
import { adapterWeightsOf, type AdapterWeights } from './adapter';
import { crc32, decodeBase64Url, encodeBase64Url, float32ToBytes } from './bytes';
import { ShareLinkError } from './errors';
import { SHARE_LINK_MAX_CHARS } from './limits';
import {
  AdapterDownloadCancelled,
  checkAdapterUrl,
  decodeShareLink,
  encodeShareLink,
  fetchAdapterBytes,
  formatAdapterParam,
  parseAdapterParam,
  shareProbabilityError,
  type SharePayload,
} from './link';
import { ALL_TARGETS, MICRO, QV, TINY, trainedAdapter } from './testing';
import { deflateRaw } from './deflate';

const payload = (weights: AdapterWeights): SharePayload => ({
  modelId: 'micro',
  task: 'entertainment',
  normalization: 'token',
  seed: 42,
  weights,
});

function maxDiff(x: AdapterWeights, y: AdapterWeights): number {
  let m = 0;
  x.modules.forEach((mod, i) => {
    for (const k of ['a', 'b'] as const)
      for (let j = 0; j < mod[k].length; j++) m = Math.max(m, Math.abs(mod[k][j] - y.modules[i][k][j]));
  });
  return m;
}

/** Re-frames a body with a valid checksum (to reach the body validation). */
function frameBody(body: Uint8Array, precision = 0, declared = body.length, version = 1): string {
  const compressed = deflateRaw(body);
  const out = new Uint8Array(6 + compressed.length + 4);
  const view = new DataView(out.buffer);
  out[0] = version;
  out[1] = precision;
  view.setUint32(2, declared, true);
  out.set(compressed, 6);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return `#share=${encodeBase64Url(out)}`;
}

describe('share links', () => {
  const weights = adapterWeightsOf(trainedAdapter(MICRO, QV, 11));

  it('f32 round trip is bit-identical and carries the setup', () => {
    const link = encodeShareLink(payload(weights), { precision: 'f32' });
    expect(link.fragment.startsWith('#share=')).toBe(true);
    expect(link.maxAbsError).toBe(0);
    const back = decodeShareLink(`https://example.org/twosome/?task=x${link.fragment}`);
    expect(back).toMatchObject({
      modelId: 'micro',
      task: 'entertainment',
      normalization: 'token',
      seed: 42,
      precision: 'f32',
    });
    expect(back.weights.config).toEqual(weights.config);
    back.weights.modules.forEach((m, i) => {
      expect(float32ToBytes(m.a)).toEqual(float32ToBytes(weights.modules[i].a));
      expect(float32ToBytes(m.b)).toEqual(float32ToBytes(weights.modules[i].b));
    });
    expect(decodeShareLink(link.fragment.slice(1)).seed).toBe(42);
  });

  it.each(['f16', 'int8'] as const)(
    '%s: decoded weights are exactly the reported round trip; the error is within what is reported',
    (precision) => {
      const link = encodeShareLink(payload(weights), { precision });
      const back = decodeShareLink(link.fragment);
      expect(back.precision).toBe(precision);
      back.weights.modules.forEach((m, i) => {
        expect(m.a).toEqual(link.roundTrip.modules[i].a);
        expect(m.b).toEqual(link.roundTrip.modules[i].b);
      });
      const actual = maxDiff(weights, back.weights);
      expect(actual).toBe(link.maxAbsError);
      expect(actual).toBeGreaterThan(0);
      // Theoretical bounds: f16 half an ulp (relative 2^-11 of values < 1), int8 half a step of max/127.
      expect(actual).toBeLessThanOrEqual(precision === 'f16' ? 2 ** -11 : 0.5 / 127 + 1e-7);
      // maxDeltaWeightError: recompute scale * |BA - B'A'| directly.
      let worst = 0;
      weights.modules.forEach((m, i) => {
        const d = weights.dims[i % 2];
        const q = back.weights.modules[i];
        for (let o = 0; o < d.outDim; o++)
          for (let c = 0; c < d.inDim; c++) {
            let s = 0;
            for (let k = 0; k < weights.config.r; k++)
              s += m.b[o * 8 + k] * m.a[k * d.inDim + c] - q.b[o * 8 + k] * q.a[k * d.inDim + c];
            worst = Math.max(worst, Math.abs(s) * 2);
          }
      });
      expect(link.maxDeltaWeightError).toBeCloseTo(worst, 12);
    },
  );

  it('auto picks the most precise that fits; larger adapters are refused with the ?adapter= advice', () => {
    expect(encodeShareLink(payload(weights)).precision).toBe('f32');
    const all = adapterWeightsOf(trainedAdapter(MICRO, { ...ALL_TARGETS, r: 8 }, 3));
    const auto = encodeShareLink(payload(all));
    expect(auto.precision).toBe('int8');
    expect(auto.chars).toBeLessThanOrEqual(SHARE_LINK_MAX_CHARS);
    expect(() => encodeShareLink(payload(all), { precision: 'f32' })).toThrow(
      /over the link limit of 32768; upload .*\?adapter=https/,
    );
    const big = adapterWeightsOf(trainedAdapter({ ...MICRO, layers: 40 }, { ...ALL_TARGETS, r: 16 }, 3));
    expect(() => encodeShareLink(payload(big))).toThrow(ShareLinkError);
  });

  it('f16 carries every value a valid adapter may hold (|w| <= 1e4), within half an ulp', () => {
    const w = adapterWeightsOf(trainedAdapter(TINY, QV, 2));
    w.modules[0].b[0] = 9999;
    const link = encodeShareLink(payload(w), { precision: 'f16' });
    expect(link.maxAbsError).toBe(1); // 9999 -> 10000 (ulp 8 at 8192..16384; the rounding error here is 1)
    expect(decodeShareLink(link.fragment).weights.modules[0].b[0]).toBe(10000);
  });

  it('reports the probability error through a probe', async () => {
    const link = encodeShareLink(payload(weights), { precision: 'int8' });
    // A stand-in policy: softmax over 3 actions of sums of the B weights.
    const probe = (w: AdapterWeights) => {
      const z = [0, 1, 2].map((k) => w.modules[k].b.reduce((s, v) => s + v, 0));
      const e = z.map(Math.exp);
      const t = e.reduce((a, b) => a + b, 0);
      return [e.map((v) => v / t)];
    };
    const err = await shareProbabilityError(weights, link.roundTrip, probe);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.01);
  });

  it('rejects altered, cut, oversize and future links with a ShareLinkError', () => {
    const { fragment } = encodeShareLink(payload(adapterWeightsOf(trainedAdapter(TINY, QV, 1))), { precision: 'f16' });
    const cases: [string, RegExp][] = [
      [fragment.slice(0, -5), /checksum|stray|length/],
      [`${fragment.slice(0, 30)}${fragment[30] === 'A' ? 'B' : 'A'}${fragment.slice(31)}`, /checksum/],
      [`${fragment}!`, /not a base64url letter/],
      ['#share=', /carries no adapter/],
      ['#share=AAAA', /cut short/],
      [`#share=${'A'.repeat(SHARE_LINK_MAX_CHARS)}`, /over the link limit/],
      ['#other=abc', /not a share link/],
    ];
    for (const [link, message] of cases) {
      expect(() => decodeShareLink(link), link.slice(0, 40)).toThrow(ShareLinkError);
      expect(() => decodeShareLink(link), link.slice(0, 40)).toThrow(message);
    }
    const bytes = decodeBase64Url(fragment.slice(7)) as Uint8Array;
    bytes[0] = 2;
    expect(() => decodeShareLink(`#share=${encodeBase64Url(bytes)}`)).toThrow(
      /version 2 is newer than this page reads/,
    );
  });

  it('validates the body behind a valid checksum', () => {
    const good = decodeBase64Url(
      encodeShareLink(payload(adapterWeightsOf(trainedAdapter(TINY, QV, 1))), { precision: 'f32' }).fragment.slice(7),
    ) as Uint8Array;
    const body = inflateSync(good.subarray(6, good.length - 4));
    expect(decodeShareLink(frameBody(body)).modelId).toBe('micro');
    expect(() => decodeShareLink(frameBody(body, 7))).toThrow(/unknown precision code 7/);
    expect(() => decodeShareLink(frameBody(body, 0, body.length + 1))).toThrow(/has \d+ bytes, not the/);
    expect(() => decodeShareLink(frameBody(body, 0, 2 ** 31))).toThrow(/over the limit/);
    expect(() => decodeShareLink(frameBody(body.subarray(0, body.length - 4)))).toThrow(/implies \d+ bytes of weights/);
    const bad = body.slice();
    bad[0] = 200; // model id length
    expect(() => decodeShareLink(frameBody(bad))).toThrow(/ends inside the model id|not valid UTF-8/);
    const short = body.slice(0, 3);
    expect(() => decodeShareLink(frameBody(short))).toThrow(/ends inside the model id/);
    const nan = body.slice();
    new DataView(nan.buffer).setFloat32(nan.length - 4, NaN, true);
    expect(() => decodeShareLink(frameBody(nan))).toThrow(/NaN/);
  });
});

describe('?adapter= URLs', () => {
  const page = 'https://twosome.example/app/?task=pizza';
  it('accepts https and same-origin URLs only', () => {
    expect(checkAdapterUrl('https://cdn.example.org/a/adapter.zip', page)).toBe(
      'https://cdn.example.org/a/adapter.zip',
    );
    expect(checkAdapterUrl('adapters/run.zip', page)).toBe('https://twosome.example/app/adapters/run.zip');
    expect(checkAdapterUrl('http://localhost:5173/a.zip', 'http://localhost:5173/')).toBe(
      'http://localhost:5173/a.zip',
    );
    for (const [url, message] of [
      ['http://cdn.example.org/a.zip', /must be https:\/\/ or on this site/],
      ['javascript:alert(1)', /must be https/],
      ['data:application/zip;base64,AAAA', /must be https/],
      ['https://user:pw@cdn.example.org/a.zip', /user name or password/],
      [`https://x.org/${'a'.repeat(3000)}`, /characters \(limit 2048\)/],
      ['', /empty/],
    ] as const)
      expect(() => checkAdapterUrl(url, page), url).toThrow(message);
    expect(parseAdapterParam('?task=pizza', page)).toBeNull();
    expect(parseAdapterParam(formatAdapterParam('https://h.org/a.zip', page, '?task=pizza'), page)).toBe(
      'https://h.org/a.zip',
    );
  });

  it('downloads with the size capped, and checks redirects', async () => {
    const respond = (
      body: Uint8Array<ArrayBuffer>,
      headers: Record<string, string> = {},
      url = 'https://h.org/a.zip',
    ) =>
      (async () =>
        Object.defineProperty(new Response(body, { headers }), 'url', { value: url })) as unknown as typeof fetch;
    const data = new Uint8Array(1000).fill(7);
    expect(await fetchAdapterBytes('https://h.org/a.zip', { pageUrl: page, fetch: respond(data) })).toEqual(data);
    await expect(
      fetchAdapterBytes('https://h.org/a.zip', { pageUrl: page, maxBytes: 999, fetch: respond(data) }),
    ).rejects.toThrow(/over the limit of 999/);
    await expect(
      fetchAdapterBytes('https://h.org/a.zip', {
        pageUrl: page,
        maxBytes: 10,
        fetch: respond(data, { 'content-length': '1000' }),
      }),
    ).rejects.toThrow(/1000 bytes, over the limit/);
    await expect(
      fetchAdapterBytes('https://h.org/a.zip', { pageUrl: page, fetch: respond(data, {}, 'http://evil.org/a.zip') }),
    ).rejects.toThrow(/must be https/);
    await expect(fetchAdapterBytes('http://h.org/a.zip', { pageUrl: page, fetch: respond(data) })).rejects.toThrow(
      ShareLinkError,
    );
  });
});

describe('adapter downloads from servers that misbehave', () => {
  const { server, routes } = hostileServerPerTest();
  // The page is on the server's origin: http is accepted there (as in development).
  const get = (path: string, options: { maxBytes?: number; signal?: AbortSignal; idleMs?: number } = {}) =>
    fetchAdapterBytes(`${server.url}${path}`, { pageUrl: server.url, idleMs: 150, ...options });

  it('gives up on a server that sends no headers, after one retry, naming the URL', async () => {
    routes.set('/a.zip', { stallHeaders: true });
    await expect(get('a.zip')).rejects.toThrow(
      `adapter URL: could not download ${server.url}a.zip: no data for 0.15 s (the server stalled) (2 attempts); ` +
        'check the URL, or try again later',
    );
    expect(server.requests).toEqual(['/a.zip', '/a.zip']);
  });

  it('gives up on a body that stops half-way', async () => {
    routes.set('/a.zip', { body: new Uint8Array(4000).fill(1), stallAfter: 1000 });
    await expect(get('a.zip')).rejects.toThrow(/a\.zip: no data for 0\.15 s \(the server stalled\) \(2 attempts\)/);
    expect(server.requests).toHaveLength(2);
  });

  it('refuses a Content-Length over the cap before reading, and stops an endless body at the cap', async () => {
    routes.set('/big.zip', { body: 'PK', contentLength: 5_000_000_000 });
    await expect(get('big.zip', { maxBytes: 1 << 20 })).rejects.toThrow(
      /big\.zip is 5000000000 bytes, over the limit of 1048576/,
    );
    routes.set('/endless.zip', { body: 'PK', endless: true });
    await expect(get('endless.zip', { maxBytes: 1 << 20 })).rejects.toThrow(
      /endless\.zip is over the limit of 1048576 bytes/,
    );
    expect(server.requests).toEqual(['/big.zip', '/endless.zip']); // a wrong answer is not retried
  });

  it("cancels at once on the caller's signal, also while the server stalls", async () => {
    routes.set('/a.zip', { stallHeaders: true });
    const controller = new AbortController();
    const download = get('a.zip', { signal: controller.signal, idleMs: 60_000 });
    setTimeout(() => controller.abort(), 50);
    await expect(download).rejects.toBeInstanceOf(AdapterDownloadCancelled);
    routes.set('/b.zip', { body: new Uint8Array(4000).fill(1), stallAfter: 1000 });
    const body = new AbortController();
    const half = get('b.zip', { signal: body.signal, idleMs: 60_000 });
    setTimeout(() => body.abort(), 100);
    await expect(half).rejects.toThrow(`the download of ${server.url}b.zip was cancelled`);
  });
});
