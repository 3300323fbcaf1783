// The reading-rule vectors (rules.json, mirror.json): every runtime, the library and spec.ts (an
// independent reader of FORMAT.md) must both give the expected result for each.
import { describe, expect, it } from 'vitest'
import { type IdentityInput, type KmsClient, KmsError, WrongKeyError, decryptObject, importAesKwKey, kmsIdentity, metadataToHeader, openHeader, parseHeader, withRecipients } from '../src/index.js'
import { type VectorKeyEntry, codeOf, importVectorRsaPair } from './helpers.js'
import { type SpecKey, SpecError, hex, specKmsDecrypt, specOpen, unb64, unhex } from './spec.js'
import mirrorFile from './vectors/mirror.json'
import rulesFile from './vectors/rules.json'


interface RuleVector {
  readonly name: string
  readonly decryptWith: readonly string[]
  readonly object: string
  readonly expect: string
  readonly plaintext?: string
  readonly metadata?: unknown
  readonly keyIds?: readonly string[]
}

interface MirrorVector {
  readonly name: string
  readonly metadata: Readonly<Record<string, string | undefined>>
  readonly expect: string
}

/** JSON imports type absent names as `undefined`; the store's metadata has only strings. */
function strings(m: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).flatMap(([k, v]) => (v === undefined ? [] : [[k, v]])))
}

const keys: Record<string, VectorKeyEntry> = rulesFile.keys
const vectors: readonly RuleVector[] = rulesFile.vectors
const mirrorVectors: readonly MirrorVector[] = mirrorFile.vectors

/** A KMS client running the local adapter's decrypt (FORMAT.md §11) in the test, with the raw key. */
function testKms(raw: Uint8Array, keyName: string): KmsClient {
  return {
    keyName,
    encrypt: () => Promise.reject(new KmsError('KMS_FAILED', 'the vector KMS only decrypts')),
    decrypt: async (blob) => {
      try {
        return await specKmsDecrypt(raw, keyName, blob)
      } catch {
        throw new KmsError('KMS_INVALID_CIPHERTEXT', 'the blob does not decrypt under this key and context')
      }
    },
  }
}

async function libraryKey(name: string): Promise<IdentityInput> {
  const k = keys[name]
  if (k?.kind === 'aes-kw' && k.raw !== undefined) return importAesKwKey(unhex(k.raw))
  if (k?.kind === 'rsa-oaep' && k.pkcs8 !== undefined && k.spki !== undefined) {
    return importVectorRsaPair(unb64(k.pkcs8), unb64(k.spki))
  }
  if (k?.kind === 'passphrase' && k.passphrase !== undefined) return { passphrase: k.passphrase }
  if (k?.kind === 'kms' && k.raw !== undefined && k.keyName !== undefined) return kmsIdentity(testKms(unhex(k.raw), k.keyName))
  throw new Error(`bad key ${name}`)
}

function specKey(name: string): SpecKey {
  const k = keys[name]
  if (k?.kind === 'aes-kw' && k.raw !== undefined) return { kind: 'aes-kw', raw: unhex(k.raw) }
  if (k?.kind === 'rsa-oaep' && k.pkcs8 !== undefined && k.spki !== undefined) return { kind: 'rsa-oaep', pkcs8: unb64(k.pkcs8), spki: unb64(k.spki) }
  if (k?.kind === 'passphrase' && k.passphrase !== undefined) return { kind: 'passphrase', passphrase: k.passphrase }
  if (k?.kind === 'kms' && k.raw !== undefined && k.keyName !== undefined) return { kind: 'kms', raw: unhex(k.raw), keyName: k.keyName }
  throw new Error(`bad key ${name}`)
}

describe('reading-rule vectors', () => {
  it('cover every outcome of opening', () => {
    expect(new Set(vectors.map((v) => v.expect))).toEqual(new Set(['ok', 'BAD_HEADER', 'COMMITMENT_MISMATCH', 'TAMPERED', 'TRUNCATED', 'WRONG_KEY']))
  })

  it.for(vectors.map((v) => [v.name, v] as const))('%s', async ([, v]) => {
    const object = unb64(v.object)
    const libKeys = await Promise.all(v.decryptWith.map(libraryKey))
    const spec = await specOpen(object, v.decryptWith.map(specKey)).then(
      (r) => ({ code: 'ok', ...r }),
      (e: unknown) => {
        if (e instanceof SpecError) return { code: e.code, keyIds: e.keyIds, plaintext: null, metadata: null }
        throw e
      },
    )
    expect(spec.code).toBe(v.expect)
    if (v.expect !== 'ok') {
      expect(await codeOf(() => decryptObject(object, libKeys))).toBe(v.expect)
      if (v.keyIds !== undefined) {
        await expect(decryptObject(object, libKeys)).rejects.toSatisfy((e: unknown) => e instanceof WrongKeyError && e.keyIds.join() === v.keyIds?.join())
        expect('keyIds' in spec ? spec.keyIds : []).toEqual(v.keyIds)
      }
      return
    }
    const opened = await decryptObject(object, libKeys)
    expect(hex(opened.plaintext)).toBe(hex(unb64(v.plaintext ?? '')))
    expect(hex(spec.plaintext ?? new Uint8Array(0))).toBe(hex(unb64(v.plaintext ?? '')))
    expect(opened.metadata).toEqual(v.metadata ?? null)
    expect(spec.metadata).toEqual(v.metadata ?? null)
  })
})

describe('metadata-mirror vectors', () => {
  const body = unb64(mirrorFile.object)
  it.for(mirrorVectors.map((v) => [v.name, v] as const))('%s', async ([, v]) => {
    const metadata = strings(v.metadata)
    if (v.expect === 'null') {
      expect(metadataToHeader(metadata)).toBeNull()
      return
    }
    if (v.expect !== 'ok') {
      expect(() => metadataToHeader(metadata)).toThrow(expect.objectContaining({ code: v.expect }))
      return
    }
    const m = metadataToHeader(metadata)
    const h = parseHeader(body)
    expect(m?.headerLength).toBe(h.length)
    expect(m?.plaintextLength).toBe(h.plaintextLength)
    expect(m?.keyIds.length).toBeGreaterThan(0)
    // Mirror entries open only under the body header's commitment (§7, §12).
    if (m?.header) await openHeader(withRecipients(h, m.header.recipients), await libraryKey('aeskw'))
  })
})
