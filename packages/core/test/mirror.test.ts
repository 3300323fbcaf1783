import { describe, expect, it } from 'vitest'
import { CEK_ALG, decrypt, encrypt, headerToMetadata, metadataToHeader, openHeader, parseHeader } from '../src/index.js'
import { SMALL_CHUNK, aesKwKey, otherRsaPair, pattern, rsaPair } from './helpers.js'

describe('metadata mirror', () => {
  it.for(['x-amz-meta-', 'x-oss-meta-', 'x-cos-meta-', 'x-bce-meta-'])('round trips under %s and opens the object', async (prefix) => {
    const pair = await rsaPair()
    const plaintext = pattern(3000)
    const sealed = await encrypt(plaintext, { recipients: [pair.publicKey], chunkSize: SMALL_CHUNK })
    const meta = headerToMetadata(sealed, { prefix, partSize: 5 << 20 })
    expect(meta[`${prefix}client-side-encryption-cek-alg`]).toBe(CEK_ALG)
    expect(meta[`${prefix}client-side-encryption-wrap-alg`]).toBe('RSA-OAEP-256')
    expect(meta[`${prefix}client-side-encryption-unencrypted-content-length`]).toBe('3000')
    expect(meta[`${prefix}client-side-encryption-part-size`]).toBe(String(5 << 20))
    const size = Object.entries(meta).reduce((n, [k, v]) => n + k.length + v.length, 0)
    expect(size).toBeLessThanOrEqual(2048)
    for (const v of Object.values(meta)) expect(v).toMatch(/^[\x20-\x7e]*$/)
    const back = metadataToHeader(meta, { prefix })
    expect(back?.hasRecipients).toBe(true)
    expect(back?.headerLength).toBe(parseHeader(sealed).length)
    expect(back?.plaintextLength).toBe(3000)
    expect(back?.partSize).toBe(5 << 20)
    // The mirror's header opens the object's key; the chunks (from the body) then authenticate it.
    if (!back?.header) throw new Error('expected recipients in the mirror')
    const opened = await openHeader(back.header, pair)
    expect(opened.key.chunkSize).toBe(SMALL_CHUNK)
    // SDKs return metadata without the prefix and in any case: both are read.
    const stripped = Object.fromEntries(Object.entries(meta).map(([k, v]) => [k.slice(prefix.length).toUpperCase(), v]))
    expect(metadataToHeader(stripped, { prefix })?.keyIds).toEqual(back.keyIds)
    expect(await decrypt(sealed, pair)).toEqual(plaintext)
  })

  it('when the recipients do not fit, mirrors the rest and says the body holds them', async () => {
    const a = await rsaPair()
    const b = await otherRsaPair()
    const sealed = await encrypt(pattern(1), { recipients: [a.publicKey, b.publicKey, a.publicKey, await aesKwKey()], chunkSize: SMALL_CHUNK })
    const meta = headerToMetadata(sealed)
    expect(meta['x-amz-meta-client-side-encryption-key']).toBeUndefined()
    expect(JSON.parse(meta['x-amz-meta-client-side-encryption-matdesc'] ?? '{}')).toMatchObject({ recipients: 'body' })
    const back = metadataToHeader(meta)
    expect(back?.hasRecipients).toBe(false)
    expect(back?.header).toBeNull()
    expect(back?.keyIds).toHaveLength(4)
    // A tight budget drops key ids last, and says so.
    const tight = headerToMetadata(sealed, { budget: 520 })
    expect(JSON.parse(tight['x-amz-meta-client-side-encryption-matdesc'] ?? '{}')).toMatchObject({ kidPartial: true })
  })

  it('no mirror gives null; a damaged mirror gives BAD_HEADER', async () => {
    expect(metadataToHeader({ 'x-amz-meta-owner': 'me' })).toBeNull()
    const sealed = await encrypt(pattern(1), { recipients: [await aesKwKey()], chunkSize: SMALL_CHUNK })
    const meta = headerToMetadata(sealed)
    expect(() => metadataToHeader({ ...meta, 'x-amz-meta-client-side-encryption-start': 'AAAA' })).toThrow(expect.objectContaining({ code: 'BAD_HEADER' }))
    expect(() => metadataToHeader({ ...meta, 'x-amz-meta-client-side-encryption-matdesc': '{' })).toThrow(expect.objectContaining({ code: 'BAD_HEADER' }))
    expect(() => metadataToHeader({ ...meta, 'x-amz-meta-client-side-encryption-cek-alg': 'AES/CTR/NoPadding' })).toThrow(
      expect.objectContaining({ code: 'BAD_HEADER' }),
    )
  })

  it('a mirror whose recipients were swapped for another object\'s cannot open this one', async () => {
    const kw = await aesKwKey()
    const a = await encrypt(pattern(10), { recipients: [kw], chunkSize: SMALL_CHUNK })
    const b = await encrypt(pattern(10), { recipients: [kw], chunkSize: SMALL_CHUNK })
    const forged = { ...headerToMetadata(a), 'x-amz-meta-client-side-encryption-key': headerToMetadata(b)['x-amz-meta-client-side-encryption-key'] ?? '' }
    const back = metadataToHeader(forged)
    if (!back?.header) throw new Error('expected a header')
    await expect(openHeader(back.header, kw)).rejects.toMatchObject({ code: 'COMMITMENT_MISMATCH' })
  })
})
