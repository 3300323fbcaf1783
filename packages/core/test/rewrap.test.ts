// Changing an object's recipients without re-encrypting it.
import { describe, expect, it } from 'vitest'
import {
  decrypt,
  encrypt,
  generateAesKwKey,
  headerToMetadata,
  metadataToHeader,
  openHeader,
  parseHeader,
  rewrapHeader,
  rewrapRecipients,
  withRecipients,
} from '../src/index.js'
import { SMALL_CHUNK, aesKwKey, codeOf, concatBytes, otherRsaPair, pattern, rsaPair } from './helpers.js'

const PLAIN = pattern(5 * SMALL_CHUNK + 77, 31)

describe('rewrapping recipients', () => {
  it('a new header in front of the same chunks: added recipients open it, removed ones no longer do', async () => {
    const owner = await rsaPair()
    const colleague = await otherRsaPair()
    const leaked = await generateAesKwKey()
    const sealed = await encrypt(PLAIN, { recipients: [owner.publicKey, leaked], chunkSize: SMALL_CHUNK, metadata: { name: 'r.txt' } })
    const old = parseHeader(sealed)
    const next = await rewrapHeader(sealed, { keys: owner, recipients: [owner.publicKey, colleague.publicKey] })
    const h = parseHeader(next)
    // Fixed fields, commitment and sealed metadata are untouched; only the recipients changed.
    expect(h.preamble).toEqual(old.preamble)
    expect(h.commitment).toEqual(old.commitment)
    expect(h.sealedMetadata).toEqual(old.sealedMetadata)
    const rewritten = concatBytes(next, sealed.subarray(old.length))
    expect(await decrypt(rewritten, colleague)).toEqual(PLAIN)
    expect(await decrypt(rewritten, owner)).toEqual(PLAIN)
    expect(await codeOf(() => decrypt(rewritten, leaked))).toBe('WRONG_KEY')
    // The original object is unchanged and still opens for the old recipients.
    expect(await decrypt(sealed, leaked)).toEqual(PLAIN)
  })

  it('only a key that opens the object can rewrap it', async () => {
    const sealed = await encrypt(PLAIN, { recipients: [await aesKwKey()], chunkSize: SMALL_CHUNK })
    const stranger = await generateAesKwKey()
    expect(await codeOf(() => rewrapHeader(sealed, { keys: stranger, recipients: [stranger] }))).toBe('WRONG_KEY')
    expect(await codeOf(() => rewrapHeader(sealed, { keys: stranger, recipients: [] }))).toBe('INVALID_ARGUMENT')
  })

  it('recipients shared through the metadata mirror open the object under the body header', async () => {
    const owner = await aesKwKey()
    const colleague = await otherRsaPair()
    const sealed = await encrypt(PLAIN, { recipients: [owner], chunkSize: SMALL_CHUNK })
    const body = parseHeader(sealed)
    const shared = await rewrapRecipients(body, { keys: owner, recipients: [owner, colleague.publicKey] })
    const meta = headerToMetadata(sealed, { prefix: '', recipients: shared })
    const mirror = metadataToHeader(meta, { prefix: '' })
    if (mirror?.header === null || mirror === null) throw new Error('expected recipients in the mirror')
    expect(await codeOf(() => openHeader(body, colleague))).toBe('WRONG_KEY')
    const opened = await openHeader(withRecipients(body, mirror.header.recipients), colleague)
    expect(opened.key.chunkSize).toBe(SMALL_CHUNK)
  })

  it('a forged recipient in the metadata (a wrap of another data key) is refused', async () => {
    const owner = await aesKwKey()
    const attacker = await generateAesKwKey()
    const sealed = await encrypt(PLAIN, { recipients: [owner], chunkSize: SMALL_CHUNK })
    // The attacker can write metadata: it puts in an entry for the owner's key id that wraps a data
    // key of its choosing (here: the data key of another object for the same key).
    const other = await encrypt(pattern(10), { recipients: [owner, attacker], chunkSize: SMALL_CHUNK })
    const forged = parseHeader(other).recipients
    const body = parseHeader(sealed)
    expect(await codeOf(() => openHeader(withRecipients(body, forged), owner))).toBe('COMMITMENT_MISMATCH')
    expect(await codeOf(() => openHeader(withRecipients(body, forged), attacker))).toBe('COMMITMENT_MISMATCH')
  })
})
