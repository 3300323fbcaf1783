// The header parser, fed hostile input, throws nothing but its typed errors.
import { describe, expect, it } from 'vitest'
import { HEADER_PREFIX_LENGTH, encrypt, isBucketsealError, parseHeader, readHeaderLength } from '../src/index.js'
import { PASSPHRASE, SMALL_CHUNK, aesKwKey, pattern, rsaPair } from './helpers.js'

const PARSE_CODES = new Set(['BAD_HEADER', 'UNSUPPORTED_VERSION', 'TRUNCATED'])

function parseOutcome(bytes: Uint8Array): string {
  try {
    parseHeader(bytes)
    return 'ok'
  } catch (e) {
    if (isBucketsealError(e) && PARSE_CODES.has(e.code)) return e.code
    throw e
  }
}

async function validHeader(): Promise<Uint8Array> {
  const pair = await rsaPair()
  const sealed = await encrypt(pattern(100), {
    recipients: [pair.publicKey, await aesKwKey(), PASSPHRASE],
    chunkSize: SMALL_CHUNK,
    metadata: { name: 'x.bin' },
  })
  return sealed.subarray(0, parseHeader(sealed).length)
}

describe('header parser', () => {
  it('parses what the encoder wrote, and reports its fields', async () => {
    const header = await validHeader()
    const h = parseHeader(header)
    expect(h.length).toBe(header.length)
    expect(readHeaderLength(header.subarray(0, HEADER_PREFIX_LENGTH))).toBe(header.length)
    expect(h.chunkSize).toBe(SMALL_CHUNK)
    expect(h.plaintextLength).toBe(100)
    expect(h.recipients.map((r) => r.type)).toEqual([1, 2, 3])
    expect(h.sealedMetadata.length).toBeGreaterThan(16)
  })

  it('every truncated prefix of a valid header gives TRUNCATED (or BAD_HEADER), never a crash', async () => {
    const header = await validHeader()
    for (let n = 0; n < header.length; n++) {
      expect(['TRUNCATED', 'BAD_HEADER']).toContain(parseOutcome(header.subarray(0, n)))
    }
  })

  it('every single-byte change of a header either parses or fails with a typed error', async () => {
    const header = await validHeader()
    const outcomes = new Set<string>()
    for (let i = 0; i < header.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const copy = header.slice()
        copy[i] = (copy[i] ?? 0) ^ mask
        outcomes.add(parseOutcome(copy))
      }
    }
    // Structure errors and harmless changes (salt, wrapped keys) both occur; nothing else does.
    expect(outcomes).toEqual(new Set(['ok', 'BAD_HEADER', 'UNSUPPORTED_VERSION', 'TRUNCATED']))
  })

  it('thousands of random inputs, with and without a valid magic, only give typed errors', () => {
    let seed = 12345
    for (let i = 0; i < 3000; i++) {
      const length = (seed = (seed * 1103515245 + 12345) >>> 0) % 700
      const bytes = pattern(length, seed)
      if (i % 2 === 0 && length >= 6) bytes.set([0x42, 0x4b, 0x53, 0x4c, 1, 1], 0)
      if (i % 4 === 0 && length >= 100) {
        // A plausible header length and small counts, to get past the first checks more often.
        const view = new DataView(bytes.buffer)
        view.setUint32(8, SMALL_CHUNK)
        view.setUint32(92, length)
        view.setUint32(96, 0)
        bytes[6] = 0
        bytes[7] = 0
        bytes[59] = 0
      }
      expect(['ok', ...PARSE_CODES]).toContain(parseOutcome(bytes))
    }
  })

  it('refuses non-Uint8Array input with INVALID_ARGUMENT', () => {
    // @ts-expect-error: checking the runtime guard
    expect(() => parseHeader('BKSL')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it('names a foreign object and a future version clearly', () => {
    expect(() => parseHeader(new TextEncoder().encode('%PDF-1.7 …'))).toThrow(/not a Bucketseal object/)
    const future = new Uint8Array(HEADER_PREFIX_LENGTH)
    future.set([0x42, 0x4b, 0x53, 0x4c, 2, 1])
    expect(() => parseHeader(future)).toThrow(/version 2 is not supported/)
  })
})
