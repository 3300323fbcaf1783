// The chunk-level API: sealing parts of one object independently and in any order.
import { describe, expect, it } from 'vitest'
import { TAG_LENGTH, createObject, decrypt, decryptChunk, encryptChunk, openObject } from '../src/index.js'
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
    const { key } = await createObject({ recipients: [kw], chunkSize: C, plaintextLength: 10 })
    const clone = structuredClone(key)
    const sealed = await encryptChunk(clone, 0, pattern(10), true)
    expect(await decryptChunk(key, 0, sealed, true)).toEqual(pattern(10))
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
    const free = (await createObject({ recipients: [kw], chunkSize: C })).key
    await bad(encryptChunk(free, 1, new Uint8Array(0), true)) // empty last chunk after others
    await expect(decryptChunk(free, 0, pattern(10), true)).rejects.toMatchObject({ code: 'TAMPERED' })
  })

  it('a chunk opened at another index or with another last flag fails', async () => {
    const kw = await aesKwKey()
    const { key } = await createObject({ recipients: [kw], chunkSize: C })
    const sealed = await encryptChunk(key, 4, pattern(C), false)
    await expect(decryptChunk(key, 5, sealed, false)).rejects.toMatchObject({ code: 'TAMPERED', chunkIndex: 5 })
    await expect(decryptChunk(key, 4, sealed, true)).rejects.toMatchObject({ code: 'TAMPERED' })
    expect(await decryptChunk(key, 4, sealed, false)).toEqual(pattern(C))
  })
})
