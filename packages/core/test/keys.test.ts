import { describe, expect, it } from 'vitest'
import {
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
import { SMALL_CHUNK, otherRsaPair, pattern, rsaPair } from './helpers.js'

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
    const others = Array.from({ length: 8 }, (_, i) => ({ passphrase: `not it ${i}` }))
    const ninth = await encrypt(pattern(10), { recipients: [...others, { passphrase: 'the one' }], chunkSize: SMALL_CHUNK })
    await expect(decrypt(ninth, { passphrase: 'the one' })).rejects.toMatchObject({ code: 'WRONG_KEY' })
    const eighth = await encrypt(pattern(10), { recipients: [...others.slice(0, 7), { passphrase: 'the one' }], chunkSize: SMALL_CHUNK })
    expect(await decrypt(eighth, { passphrase: 'the one' })).toEqual(pattern(10))
  })
})
