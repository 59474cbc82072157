/**
 * MD5 (RFC 1321) of a byte array, as lowercase hex. tensor-cache.json records an md5sum per shard; browsers'
 * WebCrypto has no MD5, so this small platform-neutral version (md5HexJs) checks shards in the browser.
 * Under Node, md5Hex uses node:crypto instead (same digests, a test compares them; ~30x faster, which is
 * the difference between ~90 s and ~3 s for the shards of a 7B model). Integrity check only, not security.
 */

// Per-round left-rotation amounts and the sine-derived constants K[i] = floor(abs(sin(i + 1)) * 2^32).
const S = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4,
  11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];
const K = new Uint32Array(64).map((_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296));

type NodeCrypto = { createHash(algorithm: 'md5'): { update(data: Uint8Array): { digest(encoding: 'hex'): string } } };

/** node:crypto where the runtime is Node (process.getBuiltinModule, Node >= 20.16), else null (browsers). */
const nodeCrypto: NodeCrypto | null = (() => {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return (proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined) ?? null;
  } catch {
    return null;
  }
})();

export function md5Hex(data: Uint8Array): string {
  if (nodeCrypto) return nodeCrypto.createHash('md5').update(data).digest('hex');
  return md5HexJs(data);
}

/** The platform-neutral implementation (what browsers run). */
export function md5HexJs(data: Uint8Array): string {
  const length = data.length;
  // Padding: 0x80, zeros to 56 mod 64, then the bit length as a little-endian u64.
  const padded = new Uint8Array((((length + 8) >>> 6) + 1) * 64);
  padded.set(data);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  const bits = length * 8;
  view.setUint32(padded.length - 8, bits >>> 0, true);
  view.setUint32(padded.length - 4, Math.floor(bits / 4294967296), true);

  let a0 = 0x67452301;
  let b0 = 0xefcdab89;
  let c0 = 0x98badcfe;
  let d0 = 0x10325476;
  const m = new Uint32Array(16);
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) m[i] = view.getUint32(offset + 4 * i, true);
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const sum = (a + f + K[i] + m[g]) >>> 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << S[i]) | (sum >>> (32 - S[i])))) >>> 0;
    }
    a0 = (a0 + a) >>> 0;
    b0 = (b0 + b) >>> 0;
    c0 = (c0 + c) >>> 0;
    d0 = (d0 + d) >>> 0;
  }
  const out = new DataView(new ArrayBuffer(16));
  [a0, b0, c0, d0].forEach((word, i) => out.setUint32(4 * i, word, true));
  let hex = '';
  for (let i = 0; i < 16; i++) hex += out.getUint8(i).toString(16).padStart(2, '0');
  return hex;
}
