// Every tampering class gives its typed error, in one-shot and streaming decryption, for objects
// with a recorded length (one-shot, Blob) and without (streamed).
import { describe, expect, it } from 'vitest'
import {
  DecryptionError,
  TAG_LENGTH,
  WrongKeyError,
  decrypt,
  decryptStream,
  encrypt,
  encryptStream,
  generateAesKwKey,
  parseHeader,
} from '../src/index.js'
import { SMALL_CHUNK, aesKwKey, codeOf, collect, concatBytes, otherRsaPair, pattern, rsaPair, streamOf } from './helpers.js'

const C = SMALL_CHUNK
const UNIT = C + TAG_LENGTH
const PLAIN = pattern(3 * C + 100, 42) // 4 chunks: 3 full, 1 short

interface Sample {
  readonly label: string
  readonly sealed: Uint8Array
  readonly headerLength: number
}

async function samples(): Promise<Sample[]> {
  const kw = await aesKwKey()
  const known = await encrypt(PLAIN, { recipients: [kw], chunkSize: C })
  const streamed = await collect(streamOf(PLAIN, [777]).pipeThrough(encryptStream({ recipients: [kw], chunkSize: C })))
  return [
    { label: 'length in header', sealed: known, headerLength: parseHeader(known).length },
    { label: 'streamed, no length', sealed: streamed, headerLength: parseHeader(streamed).length },
  ]
}

function chunksOf(s: Sample): Uint8Array[] {
  const body = s.sealed.subarray(s.headerLength)
  const out: Uint8Array[] = []
  for (let o = 0; o < body.length; o += UNIT) out.push(body.slice(o, o + UNIT))
  return out
}

function withChunks(s: Sample, chunks: Uint8Array[]): Uint8Array {
  return concatBytes(s.sealed.subarray(0, s.headerLength), ...chunks)
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice()
  copy[at] = (copy[at] ?? 0) ^ 0x01
  return copy
}

/** Decrypts both ways and returns the codes; also checks the stream released no unverified bytes. */
async function failures(sealed: Uint8Array): Promise<{ oneShot: string; stream: string; released: Uint8Array }> {
  const kw = await aesKwKey()
  const oneShot = await codeOf(() => decrypt(sealed, kw))
  const released: Uint8Array[] = []
  const stream = await codeOf(async () => {
    const reader = streamOf(sealed, [300]).pipeThrough(decryptStream(kw)).getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      released.push(value)
    }
  })
  return { oneShot, stream, released: concatBytes(...released) }
}

async function expectFailure(sealed: Uint8Array, code: string): Promise<void> {
  const { oneShot, stream, released } = await failures(sealed)
  expect({ oneShot, stream }).toEqual({ oneShot: code, stream: code })
  // Whatever the stream handed out before failing is a verified prefix of the true plaintext.
  expect(released).toEqual(PLAIN.subarray(0, released.length))
}

describe.each([0, 1])('tampering, sample %i', (which) => {
  const get = async (): Promise<Sample> => {
    const s = (await samples())[which]
    if (s === undefined) throw new Error('no sample')
    return s
  }

  it('a flipped bit in each fixed header field', async () => {
    const s = await get()
    // magic, version, suite, reserved, chunk size, length, salt, nonce prefix, reserved, commitment
    const expected: Array<[number, string]> = [
      [0, 'BAD_HEADER'],
      [4, 'UNSUPPORTED_VERSION'],
      [5, 'UNSUPPORTED_VERSION'],
      [6, 'BAD_HEADER'],
      [59, 'BAD_HEADER'],
      [25, 'COMMITMENT_MISMATCH'], // salt
      [55, 'COMMITMENT_MISMATCH'], // nonce prefix
      [70, 'COMMITMENT_MISMATCH'], // commitment itself
    ]
    for (const [at, code] of expected) await expectFailure(flip(s.sealed, at), code)
  })

  it('a changed chunk size or plaintext length field', async () => {
    const s = await get()
    const bigger = s.sealed.slice()
    new DataView(bigger.buffer).setUint32(8, 2 * C)
    await expectFailure(bigger, 'COMMITMENT_MISMATCH')
    const length = s.sealed.slice()
    new DataView(length.buffer).setBigUint64(12, BigInt(PLAIN.length - 1))
    await expectFailure(length, 'COMMITMENT_MISMATCH')
  })

  it('a flipped bit in a chunk and in a tag', async () => {
    const s = await get()
    await expectFailure(flip(s.sealed, s.headerLength + 10), 'TAMPERED')
    await expectFailure(flip(s.sealed, s.headerLength + UNIT + C + 3), 'TAMPERED') // tag of chunk 1
    await expectFailure(flip(s.sealed, s.sealed.length - 1), 'TAMPERED') // tag of the last chunk
  })

  it('reordered, dropped and duplicated chunks', async () => {
    const s = await get()
    const [c0, c1, c2, c3] = chunksOf(s)
    if (c0 === undefined || c1 === undefined || c2 === undefined || c3 === undefined) throw new Error('expected 4 chunks')
    await expectFailure(withChunks(s, [c1, c0, c2, c3]), 'TAMPERED')
    await expectFailure(withChunks(s, [c0, c2, c1, c3]), 'TAMPERED')
    await expectFailure(withChunks(s, [c0, c2, c3]), 'TAMPERED')
    await expectFailure(withChunks(s, [c0, c1, c1, c2, c3]), 'TAMPERED')
    await expectFailure(withChunks(s, [c0, c1, c2, c3, c3]), 'TAMPERED')
  })

  it('truncated at a chunk boundary, inside a chunk, inside the header, and empty', async () => {
    const s = await get()
    const body = s.headerLength
    await expectFailure(s.sealed.subarray(0, body + 3 * UNIT), 'TRUNCATED') // before the final chunk
    await expectFailure(s.sealed.subarray(0, body + UNIT), 'TRUNCATED')
    await expectFailure(s.sealed.subarray(0, body), 'TRUNCATED') // header only
    await expectFailure(s.sealed.subarray(0, body - 1), 'TRUNCATED')
    await expectFailure(s.sealed.subarray(0, 10), 'TRUNCATED')
    // Inside the final chunk: with a recorded length this is plainly a truncation; without one it
    // is indistinguishable from a modified final chunk.
    await expectFailure(s.sealed.subarray(0, s.sealed.length - 5), s.label.startsWith('length') ? 'TRUNCATED' : 'TAMPERED')
    await expectFailure(s.sealed.subarray(0, body + UNIT + 20), s.label.startsWith('length') ? 'TRUNCATED' : 'TAMPERED')
    await expectFailure(s.sealed.subarray(0, body + UNIT + 5), 'TRUNCATED') // inside a tag
  })

  it('bytes appended after the final chunk', async () => {
    const s = await get()
    await expectFailure(concatBytes(s.sealed, new Uint8Array([0])), 'TAMPERED')
    await expectFailure(concatBytes(s.sealed, pattern(UNIT)), 'TAMPERED')
  })

  it('a header from another object', async () => {
    const s = await get()
    const other = await encrypt(PLAIN, { recipients: [await aesKwKey()], chunkSize: C })
    const otherHeader = other.subarray(0, parseHeader(other).length)
    await expectFailure(concatBytes(otherHeader, s.sealed.subarray(s.headerLength)), 'TAMPERED')
  })

  it('a wrong key names the key ids the object was encrypted for', async () => {
    const s = await get()
    const stranger = await generateAesKwKey()
    const error: unknown = await decrypt(s.sealed, stranger).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WrongKeyError)
    expect(error).toBeInstanceOf(DecryptionError)
    if (!(error instanceof WrongKeyError)) return
    expect(error.code).toBe('WRONG_KEY')
    expect(error.keyIds).toHaveLength(1)
    expect(error.message).toContain(error.keyIds[0])
    const other = await otherRsaPair()
    expect(await codeOf(() => collect(streamOf(s.sealed).pipeThrough(decryptStream([stranger, other]))))).toBe('WRONG_KEY')
    // No keys at all (an empty key store) is a wrong key too, and still says which key is needed.
    await expect(decrypt(s.sealed, [])).rejects.toMatchObject({ code: 'WRONG_KEY', keyIds: error.keyIds })
  })
})

describe('key commitment', () => {
  it('a recipient entry replaced by a wrap of a different data key is refused before any chunk', async () => {
    // Build object A and object B for the same AES-KW key, then give A the recipient entry of B: the
    // entry unwraps (to B's data key) but A's header does not commit to that key.
    const kw = await aesKwKey()
    const a = await encrypt(PLAIN, { recipients: [kw], chunkSize: C })
    const b = await encrypt(pattern(10), { recipients: [kw], chunkSize: C })
    const ha = parseHeader(a)
    const hb = parseHeader(b)
    const stanzaA = ha.recipients[0]
    const stanzaB = hb.recipients[0]
    if (stanzaA === undefined || stanzaB === undefined) throw new Error('no stanza')
    expect(stanzaA.body.length).toBe(stanzaB.body.length)
    const forged = a.slice()
    forged.set(stanzaB.body, ha.length - stanzaA.body.length)
    await expectFailure(forged, 'COMMITMENT_MISMATCH')
  })

  it('the same holds for RSA-OAEP recipients', async () => {
    const pair = await rsaPair()
    const a = await encrypt(PLAIN, { recipients: [pair.publicKey], chunkSize: C })
    const b = await encrypt(PLAIN, { recipients: [pair.publicKey], chunkSize: C })
    const ha = parseHeader(a)
    const stanzaB = parseHeader(b).recipients[0]
    if (stanzaB === undefined) throw new Error('no stanza')
    const forged = a.slice()
    forged.set(stanzaB.body, ha.length - stanzaB.body.length)
    expect(await codeOf(() => decrypt(forged, pair))).toBe('COMMITMENT_MISMATCH')
  })

  it('a modified wrapped key is reported as tampering', async () => {
    const pair = await rsaPair()
    const a = await encrypt(PLAIN, { recipients: [pair.publicKey], chunkSize: C })
    expect(await codeOf(() => decrypt(flip(a, parseHeader(a).length - 5), pair))).toBe('TAMPERED')
  })
})
