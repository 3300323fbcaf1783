import { describe, expect, it } from 'vitest'
import {
  TAG_LENGTH,
  chunkCount,
  ciphertextSize,
  decryptRange,
  encrypt,
  encryptStream,
  openObject,
  parseHeader,
  planRange,
  plaintextSize,
} from '../src/index.js'
import { SMALL_CHUNK, aesKwKey, collect, pattern, streamOf } from './helpers.js'

const C = SMALL_CHUNK

describe('size math', () => {
  it.for([
    [0, 1, 16],
    [1, 1, 17],
    [C - 1, 1, C - 1 + 16],
    [C, 1, C + 16],
    [C + 1, 2, C + 1 + 32],
    [5 * C, 5, 5 * C + 80],
  ])('%i plaintext bytes: %i chunks, %i body bytes', ([plain, chunks, body]) => {
    expect(chunkCount(plain ?? 0, C)).toBe(chunks)
    expect(ciphertextSize(plain ?? 0, C)).toBe(body)
    expect(ciphertextSize(plain ?? 0, C, 300)).toBe((body ?? 0) + 300)
    expect(plaintextSize(body ?? 0, C)).toBe(plain)
    expect(plaintextSize((body ?? 0) + 300, C, 300)).toBe(plain)
  })

  it('plaintextSize rejects sizes no object can have', () => {
    expect(plaintextSize(15, C)).toBeNull() // inside the only tag
    expect(plaintextSize(C + 16 + 5, C)).toBeNull() // inside the second chunk's tag
    expect(plaintextSize(C + 16 + 16, C)).toBeNull() // an empty chunk after a full one
    expect(plaintextSize(10, C, 20)).toBeNull()
  })

  it('plaintextSize inverts ciphertextSize for every length up to 5 chunks', () => {
    for (let p = 0; p <= 5 * C; p += 7) expect(plaintextSize(ciphertextSize(p, C, 99), C, 99)).toBe(p)
  })

  it('rejects bad chunk sizes and ranges with INVALID_ARGUMENT', () => {
    for (const bad of [0, 1000, 512, 3 * 1024, 2 ** 25, Number.NaN]) {
      expect(() => chunkCount(10, bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    }
    const layout = { headerLength: 10, chunkSize: C, plaintextLength: 100 }
    expect(() => planRange(layout, 5, 4)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => planRange(layout, 0, 101)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => chunkCount(-1, C)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it('plans ranges at chunk boundaries', () => {
    const layout = { headerLength: 100, chunkSize: C, plaintextLength: 3 * C + 10 }
    const U = C + TAG_LENGTH
    expect(planRange(layout, 0, 1)).toEqual({ startChunk: 0, endChunk: 1, ciphertextStart: 100, ciphertextEnd: 100 + U, skip: 0, length: 1 })
    expect(planRange(layout, C - 1, C + 1)).toMatchObject({ startChunk: 0, endChunk: 2, ciphertextEnd: 100 + 2 * U, skip: C - 1 })
    expect(planRange(layout, C, C)).toMatchObject({ startChunk: 1, endChunk: 1, length: 0 })
    expect(planRange(layout, 3 * C + 9, 3 * C + 10)).toMatchObject({
      startChunk: 3,
      endChunk: 4,
      ciphertextStart: 100 + 3 * U,
      ciphertextEnd: 100 + 3 * U + 10 + TAG_LENGTH,
      skip: 9,
    })
  })
})

describe('ranged decryption', () => {
  it('200 random ranges equal the plaintext slices and read only the covering chunks', async () => {
    const kw = await aesKwKey()
    const plaintext = pattern(7 * C + 333, 5)
    const sealed = await encrypt(plaintext, { recipients: [kw], chunkSize: C })
    const { key, header } = await openObject(sealed, kw)
    const layout = { headerLength: header.length, chunkSize: C, plaintextLength: plaintext.length }
    expect(parseHeader(sealed).length).toBe(header.length)
    let seed = 99
    const next = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % (n + 1))
    const ranges: Array<[number, number]> = [
      [0, 0],
      [0, 1],
      [plaintext.length - 1, plaintext.length],
      [plaintext.length, plaintext.length],
      [0, plaintext.length],
      [C - 1, C + 1],
      [C, 2 * C],
    ]
    while (ranges.length < 200) {
      const a = next(plaintext.length)
      const b = next(plaintext.length)
      ranges.push([Math.min(a, b), Math.max(a, b)])
    }
    for (const [start, end] of ranges) {
      const plan = planRange(layout, start, end)
      const covering = Math.ceil(end / C) - Math.floor(start / C)
      expect(plan.endChunk - plan.startChunk).toBe(start === end ? 0 : covering)
      const slice = sealed.subarray(plan.ciphertextStart, plan.ciphertextEnd)
      expect(await decryptRange(key, layout, start, end, slice)).toEqual(plaintext.subarray(start, end))
    }
  })

  it('a tampered covering chunk fails and a short fetch is a truncation', async () => {
    const kw = await aesKwKey()
    const plaintext = pattern(3 * C, 8)
    const sealed = await encrypt(plaintext, { recipients: [kw], chunkSize: C })
    const { key, header } = await openObject(sealed, kw)
    const layout = { headerLength: header.length, chunkSize: C, plaintextLength: plaintext.length }
    const plan = planRange(layout, C + 5, 2 * C + 5)
    const slice = sealed.slice(plan.ciphertextStart, plan.ciphertextEnd)
    slice[C + 20] = (slice[C + 20] ?? 0) ^ 1
    await expect(decryptRange(key, layout, C + 5, 2 * C + 5, slice)).rejects.toMatchObject({ code: 'TAMPERED', chunkIndex: 2 })
    await expect(decryptRange(key, layout, C + 5, 2 * C + 5, slice.subarray(0, 100))).rejects.toMatchObject({ code: 'TRUNCATED' })
    // Claiming the last chunk is not the last (a shorter plaintext length) fails authentication.
    const lie = { ...layout, plaintextLength: 4 * C }
    const lieKey = { ...key, plaintextLength: null }
    const planLie = planRange(lie, 2 * C, 2 * C + 1)
    await expect(
      decryptRange(lieKey, lie, 2 * C, 2 * C + 1, sealed.subarray(planLie.ciphertextStart, planLie.ciphertextEnd)),
    ).rejects.toMatchObject({ code: 'TAMPERED' })
  })

  it('a streamed object (no recorded length) cut at a chunk boundary reads as TRUNCATED, not as tampering', async () => {
    const kw = await aesKwKey()
    const plaintext = pattern(3 * C + 50, 12)
    const sealed = await collect(streamOf(plaintext, [500]).pipeThrough(encryptStream({ recipients: [kw], chunkSize: C })))
    const { key, header } = await openObject(sealed, kw)
    const cut = sealed.subarray(0, header.length + 2 * (C + TAG_LENGTH)) // the last two chunks are gone
    const size = plaintextSize(cut.length, C, header.length)
    expect(size).toBe(2 * C)
    const layout = { headerLength: header.length, chunkSize: C, plaintextLength: size ?? 0 }
    const plan = planRange(layout, C, C + 10)
    await expect(decryptRange(key, layout, C, C + 10, cut.subarray(plan.ciphertextStart, plan.ciphertextEnd))).rejects.toMatchObject({ code: 'TRUNCATED' })
    // Reading chunk 0 alone is fine: it is authentic, and not claimed to be last.
    const first = planRange(layout, 0, 10)
    expect(await decryptRange(key, layout, 0, 10, cut.subarray(first.ciphertextStart, first.ciphertextEnd))).toEqual(plaintext.subarray(0, 10))
  })
})
