// Sharing and key rotation of stored objects without re-encrypting them, against Ceph RGW.
import {
  aesKwKeyId,
  decrypt,
  encrypt,
  generateAesKwKey,
  generateRsaKeyPair,
  headerToMetadata,
  parseHeader,
  rsaKeyId,
} from '@bucketseal/core'
import { createStore } from 'idb-keyval'
import { beforeAll, describe, expect, it } from 'vitest'
import { download, openRemote, reencryptObject, rotateRecipients, setRecipients, shareObject, upload } from '../src/index.js'
import { bytes, readAll, s3, sha256, signer, testKey, toBase64 } from './s3.js'

const MiB = 1024 * 1024

let owner: CryptoKey
let colleague: CryptoKeyPair

beforeAll(async () => {
  owner = await generateAesKwKey()
  colleague = await generateRsaKeyPair({ modulusLength: 2048 })
})

async function put(data: Uint8Array<ArrayBuffer>, key: string, recipients: readonly (CryptoKey | CryptoKeyPair['publicKey'])[] = [owner]): Promise<void> {
  await upload(new File([data], 'shared.bin'), {
    signer,
    recipients,
    objectKey: key,
    partSize: 5 * MiB,
    store: createStore(`share-test-${Math.random()}`, 'uploads'),
  }).done
}

async function readWith(key: string, keys: CryptoKey | CryptoKeyPair): Promise<string> {
  const { stream } = await download(key, { signer, keys })
  return sha256(await readAll(stream))
}

function unb64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

describe('sharing without re-upload', () => {
  it('shares through the metadata mirror: a server-side copy, no body sent', async () => {
    const data = bytes(3 * MiB, 41)
    const key = testKey('share-meta')
    await put(data, key)
    await expect(readWith(key, colleague)).rejects.toMatchObject({ code: 'WRONG_KEY' })
    await s3.resetProxyStats()
    const result = await shareObject(key, [colleague.publicKey], { signer, keys: owner })
    expect(result.mode).toBe('metadata')
    expect(result.keyIds).toEqual([await aesKwKeyId(owner), await rsaKeyId(colleague.publicKey)])
    const stats = await s3.proxyStats()
    // One PUT reached the store: the server's CopyObject onto itself, with no body.
    expect(stats.requests.PUT).toBe(1)
    expect(stats.bytesReceived).toBe(0)
    expect(await readWith(key, colleague)).toBe(await sha256(data))
    expect(await readWith(key, owner)).toBe(await sha256(data))
    // A recipient added through metadata can share on in turn (its entry is checked by the commitment).
    const third = await generateAesKwKey()
    await shareObject(key, [third], { signer, keys: colleague })
    expect(await readWith(key, third)).toBe(await sha256(data))
  })

  it('a forged recipient written into the metadata is refused (the body commitment decides)', async () => {
    const data = bytes(100_000, 42)
    const key = testKey('forged')
    await put(data, key)
    // The attacker can write metadata: it adds an entry for the colleague's key that wraps a data
    // key of its own choosing (from an object it made), hoping to make the colleague use it.
    const bait = await encrypt(bytes(10, 1), { recipients: [colleague.publicKey] })
    const remote = await openRemote(key, { signer, keys: owner })
    const forged = headerToMetadata(remote.header, { prefix: '', recipients: [...remote.header.recipients, ...parseHeader(bait).recipients] })
    await s3.setStoredMetadata(key, forged)
    await expect(download(key, { signer, keys: colleague })).rejects.toMatchObject({ code: 'COMMITMENT_MISMATCH' })
    // The owner is unaffected.
    expect(await readWith(key, owner)).toBe(await sha256(data))
  })

  it('removing a recipient rewrites the header: the removed key no longer opens it, content bytes are not re-uploaded', async () => {
    const data = bytes(17 * MiB + 3, 43)
    const key = testKey('unshare')
    await put(data, key, [owner, colleague.publicKey])
    const before = unb64(await s3.getStored(key))
    const oldHeaderLength = parseHeader(before).length
    await s3.resetProxyStats()
    const result = await setRecipients(key, [owner], { signer, keys: owner })
    expect(result.mode).toBe('header')
    const stats = await s3.proxyStats()
    // The browser sent the new header and one 5 MiB part of existing ciphertext; the store copied the rest.
    expect(stats.bytesReceived).toBe(result.bytesSent)
    expect(result.bytesSent).toBeLessThan(5 * MiB + 4096)
    await expect(download(key, { signer, keys: colleague })).rejects.toMatchObject({ code: 'WRONG_KEY' })
    expect(await readWith(key, owner)).toBe(await sha256(data))
    // Same chunks, byte for byte, behind the new header.
    const after = unb64(await s3.getStored(key))
    const newHeaderLength = parseHeader(after).length
    expect(await sha256(after.slice(newHeaderLength))).toBe(await sha256(before.slice(oldHeaderLength)))
    // The metadata mirror follows the new header.
    const head = await signer.head(key)
    expect(JSON.parse(head.metadata['client-side-encryption-matdesc'] ?? '{}')).toMatchObject({ hdr: newHeaderLength, kid: [await aesKwKeyId(owner)] })
  })

  it('rotates a key under a prefix, reports what it cannot open, and a second run skips everything', async () => {
    const prefix = `${testKey('rotate')}/`
    const replacement = await generateAesKwKey()
    const stranger = await generateAesKwKey()
    const datas = [bytes(1000, 51), bytes(6 * MiB, 52), bytes(0, 53)]
    for (const [i, d] of datas.entries()) await put(d, `${prefix}obj-${i}`, [owner, colleague.publicKey])
    const alien = await encrypt(bytes(10, 54), { recipients: [stranger] })
    await s3.putStored(`${prefix}alien`, toBase64(alien), headerToMetadata(alien, { prefix: '' }))
    const progress: number[] = []
    const retired = await aesKwKeyId(owner)
    const first = await rotateRecipients(prefix, retired, [replacement], { signer, keys: [owner], onProgress: (p) => progress.push(p.seen) })
    expect(first).toMatchObject({ seen: 4, rotated: 3, skipped: 0, failed: 1 })
    expect(first.failures[0]).toMatchObject({ objectKey: `${prefix}alien`, code: 'WRONG_KEY' })
    expect(progress).toEqual([1, 2, 3, 4])
    for (const [i, d] of datas.entries()) {
      expect(await readWith(`${prefix}obj-${i}`, replacement)).toBe(await sha256(d))
      expect(await readWith(`${prefix}obj-${i}`, colleague)).toBe(await sha256(d))
      await expect(download(`${prefix}obj-${i}`, { signer, keys: owner })).rejects.toMatchObject({ code: 'WRONG_KEY' })
    }
    // Run again (as after an interruption): rotated objects no longer carry the retired key.
    const second = await rotateRecipients(prefix, retired, [replacement], { signer, keys: [replacement] })
    expect(second).toMatchObject({ seen: 4, rotated: 0, skipped: 3, failed: 1 })
  })

  it('re-encryption shuts out a party that kept the old data key', async () => {
    const data = bytes(2 * MiB + 9, 61)
    const key = testKey('reencrypt')
    await put(data, key, [owner, colleague.publicKey])
    const before = unb64(await s3.getStored(key))
    const oldHeader = before.subarray(0, parseHeader(before).length)
    await reencryptObject(key, [owner], { signer, keys: owner, upload: { store: createStore(`share-test-${Math.random()}`, 'uploads') } })
    const after = unb64(await s3.getStored(key))
    const h = parseHeader(after)
    expect(h.commitment).not.toEqual(parseHeader(before).commitment)
    expect(await readWith(key, owner)).toBe(await sha256(data))
    await expect(download(key, { signer, keys: colleague })).rejects.toMatchObject({ code: 'WRONG_KEY' })
    // Even with the old header (whose data key the colleague can still unwrap), the new chunks do
    // not open: the old data key is worthless for the new object.
    const spliced = new Uint8Array(oldHeader.length + after.length - h.length)
    spliced.set(oldHeader)
    spliced.set(after.subarray(h.length), oldHeader.length)
    await expect(decrypt(spliced, colleague)).rejects.toMatchObject({ code: expect.stringMatching(/TAMPERED|TRUNCATED/) })
    // The sealed name came along.
    expect((await openRemote(key, { signer, keys: owner })).metadata?.name).toBe('shared.bin')
  })
})
