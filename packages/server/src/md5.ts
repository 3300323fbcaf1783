// MD5 (RFC 1321), because WebCrypto has none and SSE-C wants the base64 MD5 of its key in
// `x-amz-server-side-encryption-customer-key-MD5`. That digest only guards the key against
// corruption in transit (the store recomputes and compares it); nothing here relies on MD5 being
// collision-resistant. Internal: not exported from index.ts.

// Per-round left rotations, and the sine-derived constants of RFC 1321 section 3.4.
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0)

/** The MD5 digest of `data` (16 bytes). Reads `data`, never keeps it. */
export function md5(data: Uint8Array): Uint8Array<ArrayBuffer> {
  // Padding: 0x80, zeros up to 56 mod 64, then the bit length as 64-bit little-endian.
  const padded = new Uint8Array((((data.length + 8) >>> 6) + 1) << 6)
  padded.set(data)
  padded[data.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, (data.length << 3) >>> 0, true)
  view.setUint32(padded.length - 4, Math.floor(data.length / 2 ** 29), true)

  const state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]
  const words = new Array<number>(16)
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) words[i] = view.getUint32(block + i * 4, true)
    let [a, b, c, d] = state as [number, number, number, number]
    for (let i = 0; i < 64; i++) {
      const round = i >>> 4
      const f = round === 0 ? (b & c) | (~b & d) : round === 1 ? (d & b) | (~d & c) : round === 2 ? b ^ c ^ d : c ^ (b | ~d)
      const g = round === 0 ? i : round === 1 ? (5 * i + 1) & 15 : round === 2 ? (3 * i + 5) & 15 : (7 * i) & 15
      const sum = (a + f + (K[i] ?? 0) + (words[g] ?? 0)) >>> 0
      const shift = SHIFTS[(round << 2) | (i & 3)] ?? 0
      a = d
      d = c
      c = b
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) >>> 0
    }
    state[0] = ((state[0] ?? 0) + a) >>> 0
    state[1] = ((state[1] ?? 0) + b) >>> 0
    state[2] = ((state[2] ?? 0) + c) >>> 0
    state[3] = ((state[3] ?? 0) + d) >>> 0
  }
  const out = new Uint8Array(16)
  const outView = new DataView(out.buffer)
  state.forEach((word, i) => outView.setUint32(i * 4, word, true))
  return out
}
