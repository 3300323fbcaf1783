import { WrongKeyError, decrypt, encrypt, generateAesKwKey, generateRsaKeyPair, parseHeader } from '@bucketseal/core'
import { type UseStore, createStore, set } from 'idb-keyval'
import { describe, expect, it } from 'vitest'
import { KeyStore, type StoredKeyPair } from '../src/index.js'
import { PASSPHRASE, freshStore, holdsSecretBytes, text } from './helpers.js'

// RSA key generation is the slow part; one pair serves the tests that only read it.
let shared: Promise<{ keys: KeyStore; pair: StoredKeyPair; backup: Uint8Array }> | undefined
function sharedPair(): Promise<{ keys: KeyStore; pair: StoredKeyPair; backup: Uint8Array }> {
  shared ??= (async () => {
    const { keys } = freshStore()
    const { key, backup } = await keys.createKeyPair('Laptop', PASSPHRASE)
    return { keys, pair: key, backup }
  })()
  return shared
}

describe('KeyStore: own keys', () => {
  it('creates an RSA-OAEP-256 3072-bit pair with a stable id, a name, a creation time and a fingerprint', async () => {
    const before = Date.now()
    const { keys, pair, backup } = await sharedPair()
    expect(pair).toMatchObject({ name: 'Laptop', algorithm: 'RSA-OAEP-256', size: 3072 })
    expect(pair.id).toMatch(/^[0-9a-f]{32}$/)
    expect(pair.fingerprint).toBe(pair.id.match(/.{4}/g)?.join(' '))
    expect(pair.createdAt).toBeGreaterThan(before - 60_000)
    expect(pair.createdAt).toBeLessThanOrEqual(Date.now())
    expect(backup.length).toBeGreaterThan(2000)
    expect(await keys.get(pair.id)).toEqual(pair)
    // The stored key is the key the object format names: an object encrypted to the public key
    // carries this id in its recipient entry.
    const sealed = await encrypt(text('hi'), { recipients: [pair.publicKey] })
    await expect(decrypt(sealed, await generateAesKwKey())).rejects.toMatchObject({ code: 'WRONG_KEY', keyIds: [pair.id] })
  })

  it('stores the private key non-extractable: crypto.subtle.exportKey fails on it, and no API returns key bytes', async () => {
    const { keys, pair } = await sharedPair()
    const stored = await keys.get(pair.id)
    if (stored?.algorithm !== 'RSA-OAEP-256') throw new Error('expected the key pair')
    for (const key of [pair.privateKey, stored.privateKey]) {
      expect(key.extractable).toBe(false)
      for (const format of ['pkcs8', 'jwk'] as const) await expect(crypto.subtle.exportKey(format, key)).rejects.toThrow()
      await expect(crypto.subtle.wrapKey('pkcs8', key, await generateAesKwKey(), 'AES-KW')).rejects.toThrow()
    }
    // Every read API hands out CryptoKeys and public data only.
    const results: unknown[] = [
      stored,
      await keys.list(),
      await keys.identities(),
      await keys.identitiesFor(await encrypt(text('x'), { recipients: [pair.publicKey] })),
      await keys.exportPublicKey(pair.id),
      await keys.rename(pair.id, 'Laptop'),
      await keys.recipientKey(pair.id),
    ]
    for (const result of results) expect(holdsSecretBytes(result)).toBe(false)
    expect((await keys.recipientKey(pair.id)).type).toBe('public')
  })

  it('list shows exactly what is stored; rename and delete change it', async () => {
    const { keys } = freshStore()
    expect(await keys.list()).toEqual([])
    const a = (await keys.createAesKwKey('Archive A', PASSPHRASE)).key
    const b = (await keys.createAesKwKey('Archive B', PASSPHRASE)).key
    expect(a).toMatchObject({ algorithm: 'A256KW', size: 256, name: 'Archive A' })
    expect(a.key.extractable).toBe(false)
    expect(await keys.list()).toEqual([a, b])

    const renamed = await keys.rename(a.id, 'Archive (old)')
    expect(renamed).toEqual({ ...a, name: 'Archive (old)' })
    expect(await keys.list()).toEqual([renamed, b])

    expect(await keys.delete(a.id)).toBe(true)
    expect(await keys.delete(a.id)).toBe(false)
    expect(await keys.get(a.id)).toBeUndefined()
    expect(await keys.list()).toEqual([b])
    await expect(keys.rename(a.id, 'x')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND', keyIds: [a.id] })
    await expect(keys.recipientKey(a.id)).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' })
    expect(await keys.delete(b.id)).toBe(true)
    expect(await keys.list()).toEqual([])
  })

  it('ignores records it did not write: malformed ones, and private keys that are extractable', async () => {
    const dbName = `bucketseal-keys-test-${crypto.randomUUID()}`
    const idb = createStore(dbName, 'keys')
    const keys = new KeyStore({ store: idb })
    const { key } = await keys.createAesKwKey('Real', PASSPHRASE)
    const leaky = await generateRsaKeyPair({ modulusLength: 2048, dangerouslyExtractablePrivateKey: true })
    const id = 'ab'.repeat(16)
    // Records are stored under `v1/key/<id>` (store.ts); these imitate another writer's.
    await set(`v1/key/${id}`, { id, name: 'Leaky', createdAt: 1, algorithm: 'RSA-OAEP-256', size: 3072, fingerprint: 'x', ...leaky }, idb)
    await set(`v1/key/${'cd'.repeat(16)}`, { id: 'cd'.repeat(16), name: 42 }, idb)
    expect(await keys.list()).toEqual([key])
    expect(await keys.get(id)).toBeUndefined()
  })

  it('an AES-KW master key seals and opens objects through the store', async () => {
    const { keys } = freshStore()
    const { key } = await keys.createAesKwKey('Team', PASSPHRASE)
    const sealed = await encrypt(text('symmetric'), { recipients: [await keys.recipientKey(key.id)] })
    expect(await decrypt(sealed, await keys.identitiesFor(sealed))).toEqual(text('symmetric'))
    expect(await decrypt(sealed, await keys.identities())).toEqual(text('symmetric'))
    await expect(keys.exportPublicKey(key.id)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('a missing key gives KEY_NOT_FOUND naming the key ids the object needs', async () => {
    const { pair } = await sharedPair()
    const sealed = await encrypt(text('needs the laptop key'), { recipients: [pair.publicKey, { passphrase: PASSPHRASE }] })
    const { keys: elsewhere } = freshStore() // another profile, or storage that was evicted
    const error = await elsewhere.identitiesFor(sealed).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'KEY_NOT_FOUND', keyIds: [pair.id], name: 'KeyNotFoundError' })
    expect(String(error)).toMatch(/restore it from its backup file.*passphrase/)
    // The same from a parsed header and from core's WrongKeyError.
    await expect(elsewhere.identitiesFor(parseHeader(sealed))).rejects.toMatchObject({ code: 'KEY_NOT_FOUND', keyIds: [pair.id] })
    const wrong = await decrypt(sealed, await generateAesKwKey()).catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(WrongKeyError)
    if (wrong instanceof WrongKeyError) await expect(elsewhere.identitiesFor(wrong)).rejects.toMatchObject({ code: 'KEY_NOT_FOUND', keyIds: [pair.id] })
    const onlyPassphrase = await encrypt(text('p'), { recipients: [{ passphrase: PASSPHRASE }] })
    await expect(elsewhere.identitiesFor(onlyPassphrase)).rejects.toMatchObject({ code: 'KEY_NOT_FOUND', keyIds: [], message: /passphrase/ })
  })

  it('refuses bad arguments with INVALID_ARGUMENT before touching storage', async () => {
    const { keys } = freshStore()
    await expect(keys.createKeyPair('', PASSPHRASE)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(keys.createKeyPair('x'.repeat(257), PASSPHRASE)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(keys.createAesKwKey('Short', 'seven77')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /at least 8/ })
    await expect(keys.createAesKwKey('Fast', PASSPHRASE, { iterations: 1000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(keys.get('not-an-id')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(keys.delete('ABCDEF0123456789ABCDEF0123456789')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(keys.restoreFromBackup(new Uint8Array(10), '')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(await keys.list()).toEqual([])
  })

  it('reports STORAGE_UNAVAILABLE when the browser refuses IndexedDB', async () => {
    const refusing: UseStore = () => Promise.reject(new DOMException('The user denied permission to access the database.', 'UnknownError'))
    const keys = new KeyStore({ store: refusing })
    const error = await keys.list().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', name: 'StorageUnavailableError' })
    expect(error).toHaveProperty('cause.name', 'UnknownError')
    await expect(keys.createAesKwKey('Nowhere', PASSPHRASE)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' })
  })
})
