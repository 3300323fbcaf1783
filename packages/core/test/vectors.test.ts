// The format vectors: decrypted identically in every runtime, and checked against spec.ts, an
// independent reading of FORMAT.md.
import { describe, expect, it } from 'vitest'
import { type IdentityInput, type RecipientInput, decrypt, decryptObject, encrypt, importAesKwKey, parseHeader } from '../src/index.js'
import { type VectorKeyEntry, codeOf, importVectorRsaPair } from './helpers.js'
import { hex, specDecrypt, specDerive, unb64, unhex } from './spec.js'
import file from './vectors/v1.json'


interface Vector {
  readonly name: string
  readonly decryptWith: string
  readonly object: string
  readonly expect: string
  readonly plaintext?: string
  readonly dek?: string
  readonly contentKey?: string
  readonly commitment?: string
  readonly metadata?: unknown
}

const keys: Record<string, VectorKeyEntry> = file.keys
const vectors: readonly Vector[] = file.vectors

async function identity(name: string): Promise<{ decryptWith: IdentityInput; encryptTo: RecipientInput }> {
  const k = keys[name]
  if (k === undefined) throw new Error(`no key ${name}`)
  if (k.kind === 'aes-kw' && k.raw !== undefined) {
    const kek = await importAesKwKey(unhex(k.raw))
    return { decryptWith: kek, encryptTo: kek }
  }
  if (k.kind === 'rsa-oaep' && k.pkcs8 !== undefined && k.spki !== undefined) {
    const pair = await importVectorRsaPair(unb64(k.pkcs8), unb64(k.spki))
    return { decryptWith: pair, encryptTo: pair.publicKey }
  }
  if (k.kind === 'passphrase' && k.passphrase !== undefined) return { decryptWith: { passphrase: k.passphrase }, encryptTo: { passphrase: k.passphrase } }
  throw new Error(`bad key entry ${name}`)
}

describe('format v1 vectors', () => {
  it('the vector file covers every recipient kind and every error code', () => {
    expect(new Set(vectors.map((v) => v.expect))).toEqual(
      new Set(['ok', 'BAD_HEADER', 'UNSUPPORTED_VERSION', 'COMMITMENT_MISMATCH', 'TAMPERED', 'TRUNCATED', 'WRONG_KEY']),
    )
    expect(new Set(vectors.map((v) => v.decryptWith))).toEqual(new Set(['aeskw', 'aeskw-other', 'rsa', 'passphrase']))
  })

  it.for(vectors.map((v) => [v.name, v] as const))('%s', async ([, v]) => {
    const object = unb64(v.object)
    const { decryptWith } = await identity(v.decryptWith)
    if (v.expect !== 'ok') {
      expect(await codeOf(() => decrypt(object, decryptWith))).toBe(v.expect)
      return
    }
    const opened = await decryptObject(object, decryptWith)
    if (v.plaintext !== undefined) expect(hex(opened.plaintext)).toBe(hex(unb64(v.plaintext)))
    if (v.metadata !== undefined) expect(opened.metadata).toEqual(v.metadata)
    if (v.dek !== undefined && v.plaintext !== undefined) {
      // The published intermediate values follow from the spec, and the spec reader agrees.
      const derived = await specDerive(unhex(v.dek), object)
      expect(hex(derived.contentKey)).toBe(v.contentKey)
      expect(hex(derived.commitment)).toBe(v.commitment)
      expect(hex(await specDecrypt(unhex(v.dek), object))).toBe(hex(unb64(v.plaintext)))
    }
  })

  it('new encryptions of the vector plaintexts decrypt with the vector keys', async () => {
    for (const v of vectors.filter((x) => x.expect === 'ok' && x.plaintext !== undefined)) {
      const { decryptWith, encryptTo } = await identity(v.decryptWith)
      const plaintext = unb64(v.plaintext ?? '')
      const sealed = await encrypt(plaintext, { recipients: [encryptTo], chunkSize: parseHeader(unb64(v.object)).chunkSize })
      expect(hex(await decrypt(sealed, decryptWith))).toBe(hex(plaintext))
    }
  })
})
