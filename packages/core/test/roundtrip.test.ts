import { describe, expect, it } from 'vitest'
import {
  DEFAULT_CHUNK_SIZE,
  ciphertextSize,
  decrypt,
  decryptObject,
  decryptStream,
  encrypt,
  encryptBlob,
  encryptStream,
  parseHeader,
} from '../src/index.js'
import { KINDS, PASSPHRASE, SMALL_CHUNK, aesKwKey, collect, otherRsaPair, pattern, rsaPair, streamOf } from './helpers.js'

const C = SMALL_CHUNK
const SIZES = [0, 1, C - 1, C, C + 1, 3 * C, 3 * C + 7]

describe.each(KINDS)('round trip with a $name recipient', (kind) => {
  it.for(SIZES)('one-shot, %i bytes', async (size) => {
    const plaintext = pattern(size, size + 1)
    const sealed = await encrypt(plaintext, { recipients: [await kind.recipient()], chunkSize: C })
    expect(sealed.length).toBe(ciphertextSize(size, C, parseHeader(sealed).length))
    expect(await decrypt(sealed, await kind.identity())).toEqual(plaintext)
  })

  it.for([0, C, 2 * C + 3])('stream with a length unknown to the header, %i bytes', async (size) => {
    const plaintext = pattern(size, 7)
    const sealed = await collect(streamOf(plaintext, [100, 999, 1500]).pipeThrough(encryptStream({ recipients: [await kind.recipient()], chunkSize: C })))
    expect(parseHeader(sealed).plaintextLength).toBeNull()
    const plain = await collect(streamOf(sealed, [37, 4096, 1]).pipeThrough(decryptStream(await kind.identity())))
    expect(plain).toEqual(plaintext)
  })
})

describe('round trips across APIs', () => {
  it('default chunk size, several chunks, with private metadata', async () => {
    const { publicKey } = await rsaPair()
    const plaintext = pattern(3 * DEFAULT_CHUNK_SIZE + 12345, 3)
    const metadata = { name: 'contract — signed.pdf', type: 'application/pdf', lastModified: 1_700_000_000_000, fields: { project: 'atlas' } }
    const sealed = await encrypt(plaintext, { recipients: [publicKey], metadata })
    const header = parseHeader(sealed)
    expect(header.chunkSize).toBe(DEFAULT_CHUNK_SIZE)
    expect(header.plaintextLength).toBe(plaintext.length)
    const opened = await decryptObject(sealed, await rsaPair())
    expect(opened.plaintext).toEqual(plaintext)
    expect(opened.metadata).toEqual(metadata)
  })

  it('private metadata never appears in the clear', async () => {
    const sealed = await encrypt(pattern(10), { recipients: [await aesKwKey()], chunkSize: C, metadata: { name: 'SECRET-FILENAME.txt' } })
    const text = new TextDecoder('latin1').decode(sealed)
    expect(text).not.toContain('SECRET-FILENAME')
  })

  it('many recipients: each one alone opens the object', async () => {
    const rsa = await rsaPair()
    const other = await otherRsaPair()
    const kw = await aesKwKey()
    const plaintext = pattern(5000)
    const sealed = await encrypt(plaintext, { recipients: [rsa.publicKey, other.publicKey, kw, PASSPHRASE], chunkSize: C })
    expect(parseHeader(sealed).recipients).toHaveLength(4)
    for (const key of [rsa, other, kw, PASSPHRASE, other.privateKey]) {
      expect(await decrypt(sealed, key)).toEqual(plaintext)
    }
  })

  it('encryptBlob reads a Blob slice by slice and the result decrypts by every path', async () => {
    const plaintext = pattern(10 * C + 17, 9)
    const kw = await aesKwKey()
    const blob = new Blob([plaintext])
    // A slice of 3 chunks forces many slices, and a slice size that is not a chunk multiple is rounded down.
    const sealed = await collect(encryptBlob(blob, { recipients: [kw], chunkSize: C, sliceSize: 3 * C + 100 }))
    expect(parseHeader(sealed).plaintextLength).toBe(plaintext.length)
    expect(await decrypt(sealed, kw)).toEqual(plaintext)
    expect(await collect(streamOf(sealed, [C + 16]).pipeThrough(decryptStream(kw)))).toEqual(plaintext)
  })

  it('encryptBlob of an empty Blob', async () => {
    const kw = await aesKwKey()
    const sealed = await collect(encryptBlob(new Blob([]), { recipients: [kw], chunkSize: C }))
    expect(await decrypt(sealed, kw)).toEqual(new Uint8Array(0))
  })

  it('decryptStream exposes the opened header and metadata', async () => {
    const kw = await aesKwKey()
    const sealed = await encrypt(pattern(3000), { recipients: [kw], chunkSize: C, metadata: { name: 'a.txt' } })
    const pair = decryptStream(kw)
    const plain = collect(streamOf(sealed, [50]).pipeThrough(pair))
    expect((await pair.opened).metadata?.name).toBe('a.txt')
    expect(await plain).toEqual(pattern(3000))
  })

  it('encryptStream with a declared length refuses input of another length', async () => {
    const kw = await aesKwKey()
    const stream = streamOf(pattern(100)).pipeThrough(encryptStream({ recipients: [kw], chunkSize: C, plaintextLength: 99 }))
    await expect(collect(stream)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('two encryptions of the same plaintext share no bytes beyond the fixed fields', async () => {
    const kw = await aesKwKey()
    const a = await encrypt(pattern(2000), { recipients: [kw], chunkSize: C })
    const b = await encrypt(pattern(2000), { recipients: [kw], chunkSize: C })
    const ha = parseHeader(a)
    const hb = parseHeader(b)
    expect(ha.salt).not.toEqual(hb.salt)
    expect(ha.noncePrefix).not.toEqual(hb.noncePrefix)
    expect(a.subarray(ha.length)).not.toEqual(b.subarray(hb.length))
  })
})
