import { aesKwKeyId, decrypt, encrypt, generateRsaKeyPair, importAesKwKey, rsaKeyId } from '@bucketseal/core'
import { describe, expect, it } from 'vitest'
import { BadBackupError, type KeyStore, type StoredKeyPair, WrongPassphraseError, readBackupInfo } from '../src/index.js'
import { fixChecksum, hex, specOpenBackup, specSealBackup } from './backup-spec.js'
import { PASSPHRASE, freshStore, text } from './helpers.js'

let shared: Promise<{ keys: KeyStore; pair: StoredKeyPair; backup: Uint8Array<ArrayBuffer>; sealed: Uint8Array }> | undefined
/** One pair, its backup, and an object encrypted to it before anything else happens. */
function sharedPair(): Promise<{ keys: KeyStore; pair: StoredKeyPair; backup: Uint8Array<ArrayBuffer>; sealed: Uint8Array }> {
  shared ??= (async () => {
    const { keys } = freshStore()
    const { key, backup } = await keys.createKeyPair('Phone', PASSPHRASE)
    const sealed = await encrypt(text('written before the phone was lost'), { recipients: [key.publicKey] })
    return { keys, pair: key, backup, sealed }
  })()
  return shared
}

describe('recovery backup', () => {
  it('backup → delete → restore → decrypts an object encrypted before; the restored key is non-extractable', async () => {
    const { keys, pair, backup, sealed } = await sharedPair()
    const { keys: other } = freshStore()
    const elsewhere = await other.createAesKwKey('unrelated', PASSPHRASE) // a store with something else in it
    expect(await keys.delete(pair.id)).toBe(true)
    await expect(keys.identitiesFor(sealed)).rejects.toMatchObject({ code: 'KEY_NOT_FOUND', keyIds: [pair.id] })

    for (const store of [keys, other]) {
      const restored = await store.restoreFromBackup(backup, PASSPHRASE)
      if (restored.algorithm !== 'RSA-OAEP-256') throw new Error('expected a key pair')
      expect(restored).toMatchObject({ id: pair.id, name: 'Phone', createdAt: pair.createdAt, algorithm: 'RSA-OAEP-256', size: 3072 })
      expect(restored.fingerprint).toBe(pair.fingerprint)
      expect(restored.privateKey.extractable).toBe(false)
      await expect(crypto.subtle.exportKey('pkcs8', restored.privateKey)).rejects.toThrow()
      expect(await decrypt(sealed, await store.identitiesFor(sealed))).toEqual(text('written before the phone was lost'))
    }
    // A restored key keeps its creation time, so it lists before the newer key.
    expect((await other.list()).map((k) => k.id)).toEqual([pair.id, elsewhere.key.id])
    // Restoring what is already there keeps the stored key (and its name).
    await keys.rename(pair.id, 'Phone (restored)')
    expect(await keys.restoreFromBackup(backup, PASSPHRASE)).toMatchObject({ id: pair.id, name: 'Phone (restored)' })
    expect((await keys.list()).length).toBe(1)
  })

  it('an AES-KW key comes back from its backup too', async () => {
    const { keys } = freshStore()
    const { key, backup } = await keys.createAesKwKey('Archive', PASSPHRASE, { iterations: 650_000 })
    const sealed = await encrypt(text('archived'), { recipients: [key.key] })
    expect(await readBackupInfo(backup)).toEqual({ version: 1, id: key.id, algorithm: 'A256KW', iterations: 650_000 })
    const { keys: newDevice } = freshStore()
    const restored = await newDevice.restoreFromBackup(backup, PASSPHRASE)
    expect(restored).toMatchObject({ id: key.id, name: 'Archive', createdAt: key.createdAt, algorithm: 'A256KW', size: 256 })
    expect(await decrypt(sealed, await newDevice.identitiesFor(sealed))).toEqual(text('archived'))
  })

  it('a wrong passphrase gives WRONG_PASSPHRASE', async () => {
    const { backup } = await sharedPair()
    const { keys } = freshStore()
    const error = await keys.restoreFromBackup(backup, 'correct horse battery stapler').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WrongPassphraseError)
    expect(error).toMatchObject({ code: 'WRONG_PASSPHRASE' })
    expect(await keys.list()).toEqual([])
  })

  // One flipped bit in each field of the file: every one is reported as a damaged backup (the
  // checksum sees it before the passphrase is tried), never as a wrong passphrase.
  const fields = [
    ['magic', 1],
    ['version', 4],
    ['key type', 5],
    ['key id', 8],
    ['iterations', 26],
    ['salt', 30],
    ['check value', 50],
    ['nonce', 64],
    ['ciphertext', 100],
    ['tag', -20],
    ['checksum', -1],
  ] as const
  it.for(fields)('one flipped byte in the %s gives BAD_BACKUP', async ([, at]) => {
    const { backup } = await sharedPair()
    const damaged = new Uint8Array(backup)
    const i = at < 0 ? damaged.length + at : at
    damaged[i] = (damaged[i] ?? 0) ^ 0x01
    const { keys } = freshStore()
    const error = await keys.restoreFromBackup(damaged, PASSPHRASE).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BadBackupError)
    expect(error).toMatchObject({ code: 'BAD_BACKUP' })
    expect(await keys.list()).toEqual([])
  })

  it('refuses truncated, extended and foreign files with BAD_BACKUP', async () => {
    const { backup } = await sharedPair()
    const { keys } = freshStore()
    const cases = [backup.subarray(0, backup.length - 1), new Uint8Array([...backup, 0]), new Uint8Array(0), text('-----BEGIN PRIVATE KEY-----'), new Uint8Array(4000)]
    for (const file of cases) await expect(keys.restoreFromBackup(file, PASSPHRASE)).rejects.toMatchObject({ code: 'BAD_BACKUP' })
    await expect(readBackupInfo(backup.subarray(0, 100))).rejects.toMatchObject({ code: 'BAD_BACKUP' })
    const newer = new Uint8Array(backup)
    newer[4] = 2
    await expect(readBackupInfo(newer)).rejects.toMatchObject({ code: 'BAD_BACKUP', message: /version 2/ })
  })

  it('matches the spec: an independent reader opens it, and the library opens what the spec writer writes', async () => {
    const { pair, backup, sealed } = await sharedPair()
    const spec = await specOpenBackup(backup, PASSPHRASE)
    expect(spec).toMatchObject({ type: 1, keyId: pair.id, iterations: 600_000, createdAt: pair.createdAt, name: 'Phone' })
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', spec.spki))
    expect(hex(digest.subarray(0, 16))).toBe(pair.id)
    const privateKey = await crypto.subtle.importKey('pkcs8', spec.secret, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt'])
    const publicKey = await crypto.subtle.importKey('spki', spec.spki, { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt'])
    expect(await decrypt(sealed, { publicKey, privateKey })).toEqual(text('written before the phone was lost'))

    const rewritten = await specSealBackup({ ...spec, name: 'Written by the spec ✓' }, 'another passphrase')
    const { keys } = freshStore()
    expect(await keys.restoreFromBackup(rewritten, 'another passphrase')).toMatchObject({ id: pair.id, name: 'Written by the spec ✓' })
    expect(await decrypt(sealed, await keys.identitiesFor(sealed))).toEqual(text('written before the phone was lost'))

    const { key: kw, backup: kwBackup } = await freshStore().keys.createAesKwKey('KW', PASSPHRASE)
    const kwSpec = await specOpenBackup(kwBackup, PASSPHRASE)
    expect(kwSpec).toMatchObject({ type: 2, keyId: kw.id, name: 'KW', spki: new Uint8Array(0) })
    expect(await aesKwKeyId(await importAesKwKey(kwSpec.secret))).toBe(kw.id)
  })

  it('refuses a backup that authenticates but holds the wrong key, or was edited with its checksum fixed', async () => {
    const { pair, backup } = await sharedPair()
    const spec = await specOpenBackup(backup, PASSPHRASE)
    const stranger = await generateRsaKeyPair({ dangerouslyExtractablePrivateKey: true })
    const strangerPkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', stranger.privateKey))
    const { keys } = freshStore()
    // Private and public halves from different pairs.
    const mixed = await specSealBackup({ ...spec, secret: strangerPkcs8 }, PASSPHRASE)
    await expect(keys.restoreFromBackup(mixed, PASSPHRASE)).rejects.toMatchObject({ code: 'BAD_BACKUP', message: /does not match its public key/ })
    // A header naming another key id.
    const renamed = await specSealBackup({ ...spec, keyId: await rsaKeyId(stranger.publicKey) }, PASSPHRASE)
    await expect(keys.restoreFromBackup(renamed, PASSPHRASE)).rejects.toMatchObject({ code: 'BAD_BACKUP', message: /not the key its header names/ })
    // Ciphertext edited by someone who knows to fix the checksum: the AEAD still refuses it.
    const edited = new Uint8Array(backup)
    edited[120] = (edited[120] ?? 0) ^ 0x80
    await expect(keys.restoreFromBackup(await fixChecksum(edited), PASSPHRASE)).rejects.toMatchObject({ code: 'BAD_BACKUP', message: /modified/ })
    expect(await keys.list()).toEqual([])
    expect(pair.id).toBe(spec.keyId)
  })
})
