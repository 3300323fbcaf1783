// Shared fixtures for the core tests. Runs unchanged in Node and in Chromium.
import { type IdentityInput, type RecipientInput, generateAesKwKey, generateRsaKeyPair } from '../src/index.js'

export const SMALL_CHUNK = 1024

let rsa: Promise<CryptoKeyPair> | undefined
let rsaOther: Promise<CryptoKeyPair> | undefined
let kw: Promise<CryptoKey> | undefined

/** One RSA-3072 pair per test file: generation is slow, and the tests only need distinct keys. */
export function rsaPair(): Promise<CryptoKeyPair> {
  rsa ??= generateRsaKeyPair()
  return rsa
}

export function otherRsaPair(): Promise<CryptoKeyPair> {
  rsaOther ??= generateRsaKeyPair({ modulusLength: 2048 })
  return rsaOther
}

export function aesKwKey(): Promise<CryptoKey> {
  kw ??= generateAesKwKey()
  return kw
}

export const PASSPHRASE = { passphrase: 'correct horse battery staple' }

export interface Kind {
  readonly name: string
  readonly recipient: () => Promise<RecipientInput>
  readonly identity: () => Promise<IdentityInput>
}

export const KINDS: readonly Kind[] = [
  { name: 'rsa-oaep', recipient: async () => (await rsaPair()).publicKey, identity: rsaPair },
  { name: 'aes-kw', recipient: aesKwKey, identity: aesKwKey },
  { name: 'passphrase', recipient: async () => PASSPHRASE, identity: async () => PASSPHRASE },
]

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function pattern(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 255
  }
  return out
}

export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    parts.push(value)
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** A stream that delivers `bytes` in pieces of the given sizes (cycled), to exercise buffering. */
export function streamOf(bytes: Uint8Array, pieces: readonly number[] = [bytes.length || 1]): ReadableStream<Uint8Array> {
  let offset = 0
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close()
      const n = Math.max(1, pieces[i++ % pieces.length] ?? 1)
      controller.enqueue(bytes.slice(offset, offset + n))
      offset += n
    },
  })
}

/** A key entry of a vector file (v1.json, rules.json): the key's kind and its material. */
export interface VectorKeyEntry {
  readonly kind: string
  readonly raw?: string
  readonly pkcs8?: string
  readonly spki?: string
  readonly passphrase?: string
  readonly keyName?: string
}

/** A vector's RSA-OAEP key pair, imported as a reader holds it (private key non-extractable). */
export async function importVectorRsaPair(pkcs8: Uint8Array, spki: Uint8Array): Promise<CryptoKeyPair> {
  const alg = { name: 'RSA-OAEP', hash: 'SHA-256' }
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8.slice().buffer, alg, false, ['decrypt'])
  const publicKey = await crypto.subtle.importKey('spki', spki.slice().buffer, alg, true, ['encrypt'])
  return { privateKey, publicKey }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Runs `fn` and returns the `code` of the error it throws; fails if it does not throw one. */
export async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
  } catch (e) {
    if (e instanceof Error && 'code' in e && typeof e.code === 'string') return e.code
    throw e
  }
  throw new Error('expected an error, but the call succeeded')
}
