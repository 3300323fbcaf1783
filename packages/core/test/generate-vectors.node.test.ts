/// <reference types="node" />
// Writes test/vectors/v1.json. Skipped unless BUCKETSEAL_WRITE_VECTORS=1; the vectors are data, checked
// in, and read by vectors.test.ts in every runtime. Regenerating changes every random field, so do it
// only when the format changes (and bump the version then).
import { writeFile } from 'node:fs/promises'
import { it } from 'vitest'
import { TAG_LENGTH, encrypt, encryptStream, importAesKwKey, parseHeader, rsaKeyId, aesKwKeyId } from '../src/index.js'
import { collect, concatBytes, pattern, streamOf } from './helpers.js'
import { b64, hex, specDerive, specUnwrapAesKw } from './spec.js'

const C = 1024

it.skipIf(process.env.BUCKETSEAL_WRITE_VECTORS !== '1')('write vectors', async () => {
  const kwRaw = pattern(32, 2024)
  const otherRaw = pattern(32, 7)
  const kw = await importAesKwKey(kwRaw)
  const other = await importAesKwKey(otherRaw)
  const rsa = await crypto.subtle.generateKey(
    { name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['encrypt', 'decrypt'],
  )
  const passphrase = { passphrase: 'correct horse battery staple' }
  const keys = {
    aeskw: { kind: 'aes-kw', raw: hex(kwRaw), keyId: await aesKwKeyId(kw) },
    'aeskw-other': { kind: 'aes-kw', raw: hex(otherRaw), keyId: await aesKwKeyId(other) },
    rsa: {
      kind: 'rsa-oaep',
      pkcs8: b64(new Uint8Array(await crypto.subtle.exportKey('pkcs8', rsa.privateKey))),
      spki: b64(new Uint8Array(await crypto.subtle.exportKey('spki', rsa.publicKey))),
      keyId: await rsaKeyId(rsa.publicKey),
    },
    passphrase: { kind: 'passphrase', passphrase: passphrase.passphrase },
  }

  // Every object also carries an AES-KW stanza for `aeskw` (last), so the generator can recover its
  // DEK with the raw KEK and publish the intermediate values.
  const vectors: Record<string, unknown>[] = []
  const positive = async (name: string, comment: string, decryptWith: string, object: Uint8Array, plaintext: Uint8Array, metadata: unknown = null): Promise<void> => {
    const header = parseHeader(object)
    const last = header.recipients[header.recipients.length - 1]
    if (last === undefined) throw new Error('no stanza')
    const dek = await specUnwrapAesKw(kwRaw, last.body)
    const { contentKey, commitment } = await specDerive(dek, object)
    vectors.push({
      name,
      comment,
      decryptWith,
      chunkSize: header.chunkSize,
      plaintextLength: header.plaintextLength,
      headerLength: header.length,
      dek: hex(dek),
      contentKey: hex(contentKey),
      commitment: hex(commitment),
      plaintext: b64(plaintext),
      metadata,
      object: b64(object),
      expect: 'ok',
    })
  }
  for (const size of [0, 1, C - 1, C, C + 1, 3000]) {
    const p = pattern(size, size + 3)
    await positive(`aeskw-${size}`, `${size} bytes, one AES-KW recipient`, 'aeskw', await encrypt(p, { recipients: [kw], chunkSize: C }), p)
  }
  const p1 = pattern(1500, 5)
  await positive('rsa-1500', 'RSA-OAEP-256 (2048-bit) recipient, then AES-KW', 'rsa', await encrypt(p1, { recipients: [rsa.publicKey, kw], chunkSize: C }), p1)
  const p2 = pattern(100, 6)
  await positive('passphrase-100', 'passphrase recipient (PBKDF2-SHA-256, 600,000 iterations), then AES-KW', 'passphrase', await encrypt(p2, { recipients: [passphrase, kw], chunkSize: C }), p2)
  const meta = { name: 'vector.txt', type: 'text/plain', lastModified: 1700000000000, fields: { k: 'v' } }
  const p3 = pattern(2100, 9)
  await positive('multi-metadata', 'three recipient kinds and private metadata', 'rsa', await encrypt(p3, { recipients: [rsa.publicKey, passphrase, kw], chunkSize: C, metadata: meta }), p3, meta)
  const p4 = pattern(2 * C, 10)
  const streamed = await collect(streamOf(p4, [700]).pipeThrough(encryptStream({ recipients: [kw], chunkSize: C })))
  await positive('streamed-2048', 'streamed: plaintext length unknown to the header (all ones)', 'aeskw', streamed, p4)

  // Negative vectors, from a 4-chunk object with a recorded length and a streamed one.
  const base = pattern(3 * C + 100, 11)
  const negative = (name: string, comment: string, object: Uint8Array, code: string, decryptWith = 'aeskw'): void => {
    vectors.push({ name, comment, decryptWith, object: b64(object), expect: code })
  }
  for (const [label, object] of [
    ['known', await encrypt(base, { recipients: [kw], chunkSize: C })],
    ['streamed', await collect(streamOf(base, [999]).pipeThrough(encryptStream({ recipients: [kw], chunkSize: C })))],
  ] as const) {
    const h = parseHeader(object).length
    const U = C + TAG_LENGTH
    const chunk = (i: number): Uint8Array => object.subarray(h + i * U, Math.min(h + (i + 1) * U, object.length))
    const head = object.subarray(0, h)
    const flip = (at: number): Uint8Array => {
      const c = object.slice()
      c[at] = (c[at] ?? 0) ^ 1
      return c
    }
    negative(`${label}-valid`, 'the unmodified base object', object, 'ok')
    negative(`${label}-bad-magic`, 'first byte changed', flip(0), 'BAD_HEADER')
    negative(`${label}-version`, 'version byte 0', flip(4), 'UNSUPPORTED_VERSION')
    negative(`${label}-salt`, 'a bit of the salt flipped', flip(30), 'COMMITMENT_MISMATCH')
    negative(`${label}-commitment`, 'a bit of the commitment flipped', flip(61), 'COMMITMENT_MISMATCH')
    negative(`${label}-chunk-bit`, 'a bit of chunk 1 flipped', flip(h + U + 7), 'TAMPERED')
    negative(`${label}-tag-bit`, 'a bit of the last tag flipped', flip(object.length - 1), 'TAMPERED')
    negative(`${label}-reordered`, 'chunks 0 and 1 swapped', concatBytes(head, chunk(1), chunk(0), chunk(2), chunk(3)), 'TAMPERED')
    negative(`${label}-dropped`, 'chunk 1 dropped', concatBytes(head, chunk(0), chunk(2), chunk(3)), 'TAMPERED')
    negative(`${label}-duplicated`, 'chunk 1 twice', concatBytes(head, chunk(0), chunk(1), chunk(1), chunk(2), chunk(3)), 'TAMPERED')
    negative(`${label}-truncated-boundary`, 'final chunk missing', object.subarray(0, h + 3 * U), 'TRUNCATED')
    negative(`${label}-truncated-header`, 'cut inside the header', object.subarray(0, h - 1), 'TRUNCATED')
    negative(`${label}-appended`, 'one byte appended', concatBytes(object, new Uint8Array([0])), 'TAMPERED')
    negative(`${label}-wrong-key`, 'opened with a key that is not a recipient', object, 'WRONG_KEY', 'aeskw-other')
  }
  const a = await encrypt(base, { recipients: [kw], chunkSize: C })
  const b = await encrypt(pattern(5), { recipients: [kw], chunkSize: C })
  const ha = parseHeader(a)
  const sb = parseHeader(b).recipients[0]
  if (sb === undefined) throw new Error('no stanza')
  const forged = a.slice()
  forged.set(sb.body, ha.length - sb.body.length)
  negative('forged-recipient', "recipient entry replaced by another object's wrap for the same key", forged, 'COMMITMENT_MISMATCH')
  const foreign = concatBytes(b.subarray(0, parseHeader(b).length), a.subarray(ha.length))
  negative('foreign-header', "another object's header in front of this body", foreign, 'TAMPERED')

  const file = {
    description: 'Bucketseal format v1 test vectors. See docs/FORMAT.md and test/vectors/README.md.',
    keys,
    vectors,
  }
  await writeFile(new URL('./vectors/v1.json', import.meta.url), `${JSON.stringify(file, null, 1)}\n`)
}, 120_000)
