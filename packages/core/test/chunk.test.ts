// The chunk-level API: sealing parts of one object independently and in any order.
import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, TAG_LENGTH, chunkSealer, createObject, decrypt, decryptChunk, encryptChunk, openObject } from '../src/index.js'
import { SMALL_CHUNK, aesKwKey, concatBytes, pattern } from './helpers.js'

const C = SMALL_CHUNK

describe('chunk-level sealing', () => {
  it('chunks sealed in reverse order, concurrently, assemble into an object every API decrypts', async () => {
    const kw = await aesKwKey()
    const plaintext = pattern(6 * C + 40, 11)
    const { header, key } = await createObject({ recipients: [kw], chunkSize: C, plaintextLength: plaintext.length, metadata: { name: 'p.bin' } })
    const count = 7
    const order = [6, 5, 4, 3, 2, 1, 0]
    const sealed: Uint8Array[] = new Array<Uint8Array>(count)
    await Promise.all(
      order.map(async (i) => {
        sealed[i] = await encryptChunk(key, i, plaintext.subarray(i * C, (i + 1) * C), i === count - 1)
      }),
    )
    const object = concatBytes(header, ...sealed)
    expect(await decrypt(object, kw)).toEqual(plaintext)
    const opened = await openObject(object, kw)
    expect(opened.metadata?.name).toBe('p.bin')
    expect(await decryptChunk(opened.key, 3, object.subarray(header.length + 3 * (C + TAG_LENGTH), header.length + 4 * (C + TAG_LENGTH)), false)).toEqual(
      plaintext.subarray(3 * C, 4 * C),
    )
  })

  it('the object key survives structured cloning (as when posted to a Worker)', async () => {
    const kw = await aesKwKey()
    const { header, key } = await createObject({ recipients: [kw], chunkSize: C, plaintextLength: 10 })
    const clone = structuredClone(key)
    const sealed = await encryptChunk(clone, 0, pattern(10), true)
    const reader = structuredClone((await openObject(header, kw)).key)
    expect(await decryptChunk(reader, 0, sealed, true)).toEqual(pattern(10))
    expect(clone.key.extractable).toBe(false)
  })

  it('refuses wrong positions and sizes instead of sealing a malformed object', async () => {
    const kw = await aesKwKey()
    const { key } = await createObject({ recipients: [kw], chunkSize: C, plaintextLength: 2 * C + 5 })
    const bad = (p: Promise<unknown>): Promise<void> => expect(p).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await bad(encryptChunk(key, 0, pattern(C), true)) // not the last chunk
    await bad(encryptChunk(key, 2, pattern(5), false)) // is the last chunk
    await bad(encryptChunk(key, 2, pattern(6), true)) // wrong final size
    await bad(encryptChunk(key, 1, pattern(C - 1), false)) // short middle chunk
    await bad(encryptChunk(key, 3, pattern(5), true)) // past the end
    await bad(encryptChunk(key, -1, pattern(C), false))
    const free = await createObject({ recipients: [kw], chunkSize: C })
    await bad(encryptChunk(free.key, 1, new Uint8Array(0), true)) // empty last chunk after others
    await expect(decryptChunk((await openObject(free.header, kw)).key, 0, pattern(10), true)).rejects.toMatchObject({ code: 'TAMPERED' })
  })

  it('a chunk opened at another index or with another last flag fails', async () => {
    const kw = await aesKwKey()
    const { header, key: writer } = await createObject({ recipients: [kw], chunkSize: C })
    const sealed = await encryptChunk(writer, 4, pattern(C), false)
    const { key } = await openObject(header, kw)
    await expect(decryptChunk(key, 5, sealed, false)).rejects.toMatchObject({ code: 'TAMPERED', chunkIndex: 5 })
    await expect(decryptChunk(key, 4, sealed, true)).rejects.toMatchObject({ code: 'TAMPERED' })
    expect(await decryptChunk(key, 4, sealed, false)).toEqual(pattern(C))
  })

  it('a writer key only seals and a reader key only opens, each refusing the other with a typed error', async () => {
    const kw = await aesKwKey()
    const { header, key: writer } = await createObject({ recipients: [kw], chunkSize: C, plaintextLength: 10 })
    const sealed = await encryptChunk(writer, 0, pattern(10), true)
    const { key: reader } = await openObject(header, kw)
    expect(writer.key.usages).toEqual(['encrypt'])
    expect(reader.key.usages).toEqual(['decrypt'])
    // A co-recipient's app cannot seal forged chunks with the key it opened the object with.
    await expect(encryptChunk(reader, 0, pattern(10), true)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('cannot seal') })
    await expect(decryptChunk(writer, 0, sealed, true)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('cannot open') })
    await expect(chunkSealer(reader).seal(0, pattern(10), true)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})

describe('chunkSealer: each index once', () => {
  it('encryptChunk itself is stateless: it seals one index twice (the nonce reuse the sealer prevents)', async () => {
    const { key } = await createObject({ recipients: [await aesKwKey()], chunkSize: C })
    const a = await encryptChunk(key, 0, pattern(C, 1), false)
    const b = await encryptChunk(key, 0, pattern(C, 2), false)
    // Same key, same nonce: the XOR of the ciphertexts is the XOR of the plaintexts.
    const xor = (x: Uint8Array, y: Uint8Array): Uint8Array => x.map((v, i) => v ^ (y[i] ?? 0))
    expect(xor(a.subarray(0, C), b.subarray(0, C))).toEqual(xor(pattern(C, 1), pattern(C, 2)))
  })

  it('refuses an index it has sealed, with other bytes, the same bytes, or another last flag', async () => {
    const kw = await aesKwKey()
    const plaintext = pattern(2 * C + 5, 3)
    const { header, key } = await createObject({ recipients: [kw], chunkSize: C, plaintextLength: plaintext.length })
    const sealer = chunkSealer(key)
    const chunks = [await sealer.seal(1, plaintext.subarray(C, 2 * C), false), await sealer.seal(0, plaintext.subarray(0, C), false)]
    for (const attempt of [() => sealer.seal(0, pattern(C, 9), false), () => sealer.seal(0, plaintext.subarray(0, C), false), () => sealer.seal(1, plaintext.subarray(C, 2 * C), false)]) {
      const error = await attempt().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidArgumentError)
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/sealed before/) })
    }
    expect([sealer.has(0), sealer.has(1), sealer.has(2)]).toEqual([true, true, false])
    // The object it wrote is whole and opens.
    const last = await sealer.seal(2, plaintext.subarray(2 * C), true)
    expect(await decrypt(new Uint8Array([...header, ...(chunks[1] ?? []), ...(chunks[0] ?? []), ...last]), kw)).toEqual(plaintext)
  })

  it('refuses a second concurrent seal of one index: the index is taken before the first finishes', async () => {
    const { key } = await createObject({ recipients: [await aesKwKey()], chunkSize: C })
    const sealer = chunkSealer(key)
    const results = await Promise.allSettled([sealer.seal(7, pattern(C, 1), false), sealer.seal(7, pattern(C, 2), false)])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected'])
  })

  it('a refused call (bad size) does not take the index', async () => {
    const { key } = await createObject({ recipients: [await aesKwKey()], chunkSize: C, plaintextLength: 2 * C })
    const sealer = chunkSealer(key)
    await expect(sealer.seal(0, pattern(C - 1), false)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(sealer.has(0)).toBe(false)
    expect((await sealer.seal(0, pattern(C), false)).length).toBe(C + TAG_LENGTH)
  })

  it('of an object of unknown length: one last chunk, and nothing after it', async () => {
    const { key } = await createObject({ recipients: [await aesKwKey()], chunkSize: C })
    const sealer = chunkSealer(key)
    await sealer.seal(3, pattern(10), true)
    await expect(sealer.seal(5, pattern(C), false)).rejects.toThrow(/cannot follow it/)
    await expect(sealer.seal(2, pattern(10), true)).rejects.toThrow(/cannot be last too/)
    // Earlier chunks, in any order, are still welcome.
    await sealer.seal(1, pattern(C), false)
    await sealer.seal(0, pattern(C), false)
    expect([0, 1, 2, 3].map((i) => sealer.has(i))).toEqual([true, true, false, true])
  })

  it('seals only the indexes it was given, so Workers can split one object', async () => {
    const { key } = await createObject({ recipients: [await aesKwKey()], chunkSize: C, plaintextLength: 8 * C })
    const worker = chunkSealer(key, { indexes: { start: 2, end: 4 } })
    await worker.seal(2, pattern(C), false)
    await worker.seal(3, pattern(C), false)
    for (const index of [1, 4]) await expect(worker.seal(index, pattern(C), false)).rejects.toThrow(/outside this sealer's indexes \[2, 4\)/)
    expect(() => chunkSealer(key, { indexes: { start: 3, end: 3 } })).toThrow(InvalidArgumentError)
  })

  it('keeps apart neighbouring and far indexes', async () => {
    const { key } = await createObject({ recipients: [await aesKwKey()], chunkSize: C })
    const sealer = chunkSealer(key)
    for (const index of [0, 31, 32, 511, 512, 100_000, 2 ** 32 - 2]) await sealer.seal(index, pattern(C), false)
    expect([0, 1, 30, 31, 32, 33, 511, 512, 513, 100_000, 99_999, 2 ** 32 - 2, 2 ** 32 - 1].map((i) => sealer.has(i))).toEqual([true, false, false, true, true, false, true, true, false, true, false, true, false])
    await expect(sealer.seal(100_000, pattern(C), false)).rejects.toThrow(/sealed before/)
  })
})
