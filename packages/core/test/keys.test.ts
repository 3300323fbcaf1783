import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  MAX_PASSPHRASE_TRIES,
  MAX_PASSPHRASE_WORK,
  MAX_PBKDF2_ITERATIONS,
  MIN_PBKDF2_ITERATIONS,
  type Recipient,
  StanzaType,
  aesKwKeyId,
  decrypt,
  encrypt,
  exportPublicKeyPem,
  fingerprint,
  generateAesKwKey,
  generateRsaKeyPair,
  importAesKwKey,
  importPublicKey,
  parseHeader,
  rsaKeyId,
  stanzaKeyId,
} from '../src/index.js'
import { SMALL_CHUNK, codeOf, otherRsaPair, pattern, rsaPair } from './helpers.js'

describe('key helpers', () => {
  it('generated private keys are non-extractable; public keys export as PEM and JWK and import back', async () => {
    const pair = await rsaPair()
    expect(pair.privateKey.extractable).toBe(false)
    await expect(crypto.subtle.exportKey('pkcs8', pair.privateKey)).rejects.toThrow()
    const pem = await exportPublicKeyPem(pair.publicKey)
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END PUBLIC KEY-----\n$/)
    const fromPem = await importPublicKey(pem)
    const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey)
    const fromJwk = await importPublicKey(jwk)
    const der = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey))
    const fromDer = await importPublicKey(der)
    const id = await rsaKeyId(pair.publicKey)
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    for (const k of [fromPem, fromJwk, fromDer]) expect(await rsaKeyId(k)).toBe(id)
    // An imported public key is a working recipient.
    const sealed = await encrypt(pattern(10), { recipients: [fromPem], chunkSize: SMALL_CHUNK })
    expect(stanzaKeyId(parseHeader(sealed).recipients[0] ?? { type: 0, body: new Uint8Array(0) })).toBe(id)
    expect(await decrypt(sealed, pair)).toEqual(pattern(10))
    expect(await fingerprint(pair.publicKey)).toMatch(/^([0-9a-f]{4} ){7}[0-9a-f]{4}$/)
  })

  it('the key id is SHA-256 of the SPKI, first 16 bytes', async () => {
    const pair = await otherRsaPair()
    const der = await crypto.subtle.exportKey('spki', pair.publicKey)
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', der))
    const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')
    expect(await rsaKeyId(pair.publicKey)).toBe(hex)
  })

  it('refuses malformed and too-small public keys with a clear INVALID_ARGUMENT', async () => {
    const small = await crypto.subtle.generateKey(
      { name: 'RSA-OAEP', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['encrypt', 'decrypt'],
    )
    const smallDer = new Uint8Array(await crypto.subtle.exportKey('spki', small.publicKey))
    await expect(importPublicKey(smallDer)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/1024 bits, too small/) })
    await expect(importPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(importPublicKey('not a key')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/PEM/) })
    await expect(importPublicKey(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(importPublicKey({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    const priv = await crypto.subtle.exportKey('jwk', small.privateKey)
    await expect(importPublicKey(priv)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/no private members/) })
    const ec = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])
    const ecDer = new Uint8Array(await crypto.subtle.exportKey('spki', ec.publicKey))
    await expect(importPublicKey(ecDer)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(generateRsaKeyPair({ modulusLength: 1024 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('AES-KW keys: non-extractable by default, stable key id, imported from raw bytes', async () => {
    const kek = await generateAesKwKey()
    expect(kek.extractable).toBe(false)
    const raw = pattern(32, 77)
    const a = await importAesKwKey(raw)
    const b = await importAesKwKey(raw)
    expect(await aesKwKeyId(a)).toBe(await aesKwKeyId(b))
    expect(await aesKwKeyId(a)).not.toBe(await aesKwKeyId(kek))
    await expect(importAesKwKey(pattern(16))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    const sealed = await encrypt(pattern(50), { recipients: [a], chunkSize: SMALL_CHUNK })
    expect(await decrypt(sealed, b)).toEqual(pattern(50))
  })

  it('refuses unusable recipients and keys', async () => {
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    await expect(encrypt(pattern(1), { recipients: [hmac] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(encrypt(pattern(1), { recipients: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(encrypt(pattern(1), { recipients: [{ passphrase: '' }] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(encrypt(pattern(1), { recipients: [{ passphrase: 'x', iterations: 1000 }] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    const pair = await rsaPair()
    // A public key cannot decrypt, a private key cannot be a recipient.
    const sealed = await encrypt(pattern(1), { recipients: [pair.publicKey], chunkSize: SMALL_CHUNK })
    await expect(decrypt(sealed, pair.publicKey)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(encrypt(pattern(1), { recipients: [pair.privateKey] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(encrypt(pattern(1), { recipients: [await generateAesKwKey()], chunkSize: 1000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('a reader tries at most 8 passphrase entries, so a hostile header cannot keep it busy for hours', async () => {
    expect(MAX_PASSPHRASE_TRIES).toBe(8)
    const others = Array.from({ length: 8 }, (_, i) => ({ passphrase: `not it ${i}` }))
    const ninth = await encrypt(pattern(10), { recipients: [...others, { passphrase: 'the one' }], chunkSize: SMALL_CHUNK })
    // Not WRONG_KEY: the passphrase may well be right, the header asked for more work than a reader does.
    await expect(decrypt(ninth, { passphrase: 'the one' })).rejects.toMatchObject({ code: 'BAD_HEADER' })
    const eighth = await encrypt(pattern(10), { recipients: [...others.slice(0, 7), { passphrase: 'the one' }], chunkSize: SMALL_CHUNK })
    expect(await decrypt(eighth, { passphrase: 'the one' })).toEqual(pattern(10))
  })
})

/** A passphrase entry as a hostile writer makes it: any iteration count, a random wrapped key. */
function passphraseEntry(iterations: number): Recipient {
  return {
    async wrap() {
      const body = crypto.getRandomValues(new Uint8Array(16 + 4 + 40))
      new DataView(body.buffer).setUint32(16, iterations)
      return { type: StanzaType.PASSPHRASE, body }
    },
  }
}

describe('passphrase work a hostile header can ask for', () => {
  // Counts PBKDF2 runs at the platform's door, so "not run" is checked by count, never by time.
  const pbkdf2Runs = (): (() => number) => {
    const spy = vi.spyOn(crypto.subtle, 'deriveKey')
    return () => spy.mock.calls.filter(([algorithm]) => typeof algorithm === 'object' && algorithm.name === 'PBKDF2').length
  }
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.for([MAX_PBKDF2_ITERATIONS + 1, 20_000_000, 0xffff_ffff])('an entry asking for %i iterations is refused with BAD_HEADER, without running PBKDF2', async (iterations) => {
    const sealed = await encrypt(pattern(10), { recipients: [passphraseEntry(iterations)], chunkSize: SMALL_CHUNK })
    const runs = pbkdf2Runs()
    expect(await codeOf(() => decrypt(sealed, { passphrase: 'anything' }))).toBe('BAD_HEADER')
    expect(runs()).toBe(0)
  })

  it('such an entry does not hide an honest one after it', async () => {
    const sealed = await encrypt(pattern(10), { recipients: [passphraseEntry(0xffff_ffff), { passphrase: 'the one' }], chunkSize: SMALL_CHUNK })
    const runs = pbkdf2Runs()
    expect(await decrypt(sealed, { passphrase: 'the one' })).toEqual(pattern(10))
    expect(runs()).toBe(1)
  })

  it(`all entries together cost at most ${MAX_PASSPHRASE_WORK} iterations per open`, async () => {
    // Two entries at the maximum fit the budget (4,000,000 of 4,800,000); the third is not run.
    expect(2 * MAX_PBKDF2_ITERATIONS).toBeLessThanOrEqual(MAX_PASSPHRASE_WORK)
    expect(3 * MAX_PBKDF2_ITERATIONS).toBeGreaterThan(MAX_PASSPHRASE_WORK)
    const entries = Array.from({ length: 5 }, () => passphraseEntry(MAX_PBKDF2_ITERATIONS))
    const sealed = await encrypt(pattern(10), { recipients: entries, chunkSize: SMALL_CHUNK })
    const runs = pbkdf2Runs()
    expect(await codeOf(() => decrypt(sealed, { passphrase: 'anything' }))).toBe('BAD_HEADER')
    expect(runs()).toBe(2)
  })

  it('entries under the minimum are skipped, as before: WRONG_KEY, nothing run', async () => {
    const sealed = await encrypt(pattern(10), { recipients: [passphraseEntry(MIN_PBKDF2_ITERATIONS - 1)], chunkSize: SMALL_CHUNK })
    const runs = pbkdf2Runs()
    expect(await codeOf(() => decrypt(sealed, { passphrase: 'anything' }))).toBe('WRONG_KEY')
    expect(runs()).toBe(0)
  })

  it('writers are held to the same bound', async () => {
    expect(await codeOf(() => encrypt(pattern(1), { recipients: [{ passphrase: 'x', iterations: MAX_PBKDF2_ITERATIONS + 1 }] }))).toBe('INVALID_ARGUMENT')
  })
})
