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
import { type SharingSigner, download, httpSigner, openRemote, reencryptObject, rotateRecipients, setRecipients, shareObject, upload } from '../src/index.js'
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

  describe('rotation does not trust key-id labels', () => {
    const relabelled = new Uint8Array(16).fill(0xaa)
    const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16))
    /** Offset of `needle` in `haystack` (the leaked key's id inside the stored header). */
    function find(haystack: Uint8Array, needle: Uint8Array): number {
      outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
        for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
        return i
      }
      return -1
    }

    it('an entry of the retired key relabelled in the body: removed when the retired key is given, reported when not', async () => {
      const prefix = `${testKey('relabel')}/`
      const replacement = await generateAesKwKey()
      const leakedId = await rsaKeyId(colleague.publicKey)
      const data = bytes(300_000, 71)
      for (const name of ['checked', 'trusted']) {
        const key = `${prefix}${name}`
        await put(data, key, [owner, colleague.publicKey])
        // A bucket writer relabels the leaked key's entry; the object still opens with that key.
        const stored = unb64(await s3.getStored(key))
        const at = find(stored.subarray(0, parseHeader(stored).length), fromHex(leakedId))
        expect(at).toBeGreaterThan(0)
        stored.set(relabelled, at)
        // The mirror too, so that nothing of the old label is left.
        await s3.putStored(key, toBase64(stored), headerToMetadata(stored, { prefix: '' }))
        expect(await readWith(key, colleague.privateKey)).toBe(await sha256(data))
      }
      const trusted = await rotateRecipients(`${prefix}trusted`, leakedId, [replacement], { signer, keys: [owner] })
      // By label alone nothing is found to rotate, and the result says what was kept on trust.
      expect(trusted).toMatchObject({ rotated: 0, skipped: 1 })
      expect(trusted.unverified).toEqual([{ objectKey: `${prefix}trusted`, keyIds: ['aa'.repeat(16)] }])
      const checked = await rotateRecipients(`${prefix}checked`, leakedId, [replacement], { signer, keys: [owner], retiredKey: colleague })
      expect(checked).toMatchObject({ rotated: 1, skipped: 0, failed: 0, unverified: [] })
      await expect(download(`${prefix}checked`, { signer, keys: colleague.privateKey })).rejects.toMatchObject({ code: 'WRONG_KEY' })
      expect(await readWith(`${prefix}checked`, replacement)).toBe(await sha256(data))
      expect(await readWith(`${prefix}checked`, owner)).toBe(await sha256(data))
    })

    it('an entry of the retired key planted in the metadata mirror is never carried into the new header', async () => {
      const prefix = `${testKey('mirror-plant')}/`
      const key = `${prefix}obj`
      const replacement = await generateAesKwKey()
      const leakedId = await rsaKeyId(colleague.publicKey)
      const data = bytes(200_000, 72)
      await put(data, key, [owner, colleague.publicKey])
      const remote = await openRemote(key, { signer, keys: owner })
      const leaked = remote.header.recipients.find((r) => find(r.body, fromHex(leakedId)) === 0)
      if (leaked === undefined) throw new Error('no entry for the leaked key')
      const planted = { type: leaked.type, body: new Uint8Array(leaked.body) }
      planted.body.set(relabelled, 0)
      await s3.setStoredMetadata(key, headerToMetadata(remote.header, { prefix: '', recipients: [...remote.header.recipients, planted] }))
      const result = await rotateRecipients(prefix, leakedId, [replacement], { signer, keys: [owner] })
      expect(result).toMatchObject({ rotated: 1, failed: 0 })
      expect(result.droppedMirrored).toEqual([{ objectKey: key, keyIds: ['aa'.repeat(16)] }])
      await expect(download(key, { signer, keys: colleague.privateKey })).rejects.toMatchObject({ code: 'WRONG_KEY' })
      expect(await readWith(key, replacement)).toBe(await sha256(data))
    })
  })

  it('a header rewrite is pinned to the version it opened: a change in between is refused (If-Match, 412)', async () => {
    const key = testKey('pinned-rewrite')
    await put(bytes(50_000, 73), key, [owner, colleague.publicKey])
    // Someone else rewrites the object right after the rewrite's own check (its second HEAD).
    let heads = 0
    const racing: SharingSigner = {
      ...signer,
      async head(k) {
        const info = await signer.head(k)
        if (++heads === 2) await s3.flipStoredByte(k, info.size - 1)
        return info
      },
    }
    await expect(setRecipients(key, [owner], { signer: racing, keys: owner })).rejects.toMatchObject({ code: 'REQUEST_REJECTED', status: 412 })
    expect(heads).toBe(2)
    // Nothing was written: the other writer's version stands, and no multipart upload is left.
    await expect(download(key, { signer, keys: colleague })).resolves.toBeDefined()
    expect(await s3.pendingMultipartUploads(key)).toBe(0)
  })

  it('sharing sends the ETag it read with the metadata copy (RGW ignores the condition; AWS honours it)', async () => {
    const key = testKey('pinned-share')
    await put(bytes(50_000, 74), key)
    const sent: unknown[] = []
    const recording = httpSigner('/api/s3', {
      fetch: async (input, init) => {
        if (String(input).endsWith('/replaceMetadata')) sent.push(JSON.parse(String(init?.body)))
        return fetch(input, init)
      },
    })
    const before = await signer.head(key)
    await shareObject(key, [colleague.publicKey], { signer: recording, keys: owner })
    expect(sent).toEqual([expect.objectContaining({ key, etag: before.etag })])
    // What stays the store's: Ceph RGW copies on a stale x-amz-copy-source-if-match (docs/SECURITY.md §6).
    await s3.flipStoredByte(key, before.size - 1)
    await expect(signer.replaceMetadata(key, before.metadata, before.etag)).resolves.toBeUndefined()
  })
})
