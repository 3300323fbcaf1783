import { type PublicKeyInput, decrypt, encrypt } from '@bucketseal/core'
import { describe, expect, it } from 'vitest'
import { exportPublicKey } from '../src/index.js'
import { PASSPHRASE, freshStore, text } from './helpers.js'

describe('public keys and known recipients', () => {
  it('exports a public key as PEM and JWK with a fingerprint; a colleague imports it and encrypts to it', async () => {
    const { keys: alice } = freshStore()
    const { keys: bob } = freshStore()
    const { key } = await alice.createKeyPair('Alice', PASSPHRASE)
    const exported = await alice.exportPublicKey(key.id)
    expect(exported.id).toBe(key.id)
    expect(exported.fingerprint).toMatch(/^([0-9a-f]{4} ){7}[0-9a-f]{4}$/)
    expect(exported.pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/)
    expect(exported.jwk).toMatchObject({ kty: 'RSA', alg: 'RSA-OAEP-256', e: 'AQAB' })
    expect(exported.jwk).not.toHaveProperty('d')
    expect(await exportPublicKey(key.publicKey)).toEqual(exported)

    const fromPem = await bob.recipients.add('Alice (PEM)', exported.pem)
    expect(fromPem).toMatchObject({ id: key.id, name: 'Alice (PEM)', algorithm: 'RSA-OAEP-256', size: 3072, fingerprint: exported.fingerprint })
    // The same key again, as a JWK: still one entry, the first kept.
    expect(await bob.recipients.add('Alice (JWK)', exported.jwk)).toMatchObject({ id: key.id, name: 'Alice (PEM)' })
    expect((await bob.recipients.list()).map((r) => r.id)).toEqual([key.id])
    // Recipients are not own keys: Bob cannot decrypt with them.
    expect(await bob.list()).toEqual([])
    expect(await bob.exportPublicKey(key.id)).toEqual(exported)

    const sealed = await encrypt(text('for Alice'), { recipients: [await bob.recipientKey(key.id)] })
    expect(await decrypt(sealed, await alice.identitiesFor(sealed))).toEqual(text('for Alice'))
    await expect(bob.identitiesFor(sealed)).rejects.toMatchObject({ code: 'KEY_NOT_FOUND', keyIds: [key.id] })

    expect(await bob.recipients.rename(key.id, 'Alice Liddell')).toMatchObject({ id: key.id, name: 'Alice Liddell' })
    expect(await bob.recipients.get(key.id)).toMatchObject({ name: 'Alice Liddell' })
    expect(await bob.recipients.delete(key.id)).toBe(true)
    expect(await bob.recipients.list()).toEqual([])
    await expect(bob.recipients.rename(key.id, 'x')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' })
    await expect(bob.exportPublicKey(key.id)).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' })
  })

  it('refuses malformed and too-small public keys with a clear INVALID_ARGUMENT, and stores nothing', async () => {
    const { keys } = freshStore()
    const small = await crypto.subtle.generateKey(
      { name: 'RSA-OAEP', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['encrypt', 'decrypt'],
    )
    const smallDer = new Uint8Array(await crypto.subtle.exportKey('spki', small.publicKey))
    await expect(keys.recipients.add('Tiny', smallDer)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /1024 bits, too small/ })
    const ec = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])
    const cases: { name: string; input: PublicKeyInput; message: RegExp }[] = [
      { name: 'not PEM', input: 'hello', message: /PEM/ },
      { name: 'PEM of garbage', input: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', message: /malformed/ },
      { name: 'truncated DER', input: smallDer.subarray(0, 40), message: /malformed/ },
      { name: 'an EC key', input: new Uint8Array(await crypto.subtle.exportKey('spki', ec.publicKey)), message: /malformed|RSA/ },
      { name: 'a private JWK', input: await crypto.subtle.exportKey('jwk', small.privateKey), message: /no private members/ },
      { name: 'an RSA-OAEP-1 JWK', input: { ...(await crypto.subtle.exportKey('jwk', small.publicKey)), alg: 'RSA-OAEP' }, message: /RSA-OAEP-256/ },
    ]
    for (const { input, message } of cases) await expect(keys.recipients.add('Bad', input)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message })
    expect(await keys.recipients.list()).toEqual([])
  })
})
