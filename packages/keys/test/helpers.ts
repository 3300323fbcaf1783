// Shared fixtures for the keys tests (Chromium: the store needs IndexedDB).
import { createStore } from 'idb-keyval'
import { KeyStore } from '../src/index.js'

export const PASSPHRASE = 'correct horse battery staple'

/** A store in a database of its own, so tests never see each other's keys. */
export function freshStore(): { readonly keys: KeyStore; readonly dbName: string } {
  const dbName = `bucketseal-keys-test-${crypto.randomUUID()}`
  return { keys: new KeyStore({ store: createStore(dbName, 'keys') }), dbName }
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value)
}

/** True when `value` holds bytes anywhere inside (typed arrays, ArrayBuffers), or PEM/JWK private parts. */
export function holdsSecretBytes(value: unknown, seen = new Set<unknown>()): boolean {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true
  if (typeof value === 'string') return /PRIVATE KEY/.test(value)
  if (typeof value !== 'object' || value === null || value instanceof CryptoKey || seen.has(value)) return false
  seen.add(value)
  if ('d' in value) return true // a JWK private exponent
  return Object.values(value).some((v) => holdsSecretBytes(v, seen))
}
