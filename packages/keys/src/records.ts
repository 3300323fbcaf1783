/**
 * What the key store holds: own key pairs, own AES-KW keys and the public keys of known recipients.
 * Builders that turn key bytes into records (importing them non-extractable), and the shape checks
 * that records read back from IndexedDB must pass before anyone trusts them.
 */
import { InvalidArgumentError, aesKwKeyId, fingerprint, importAesKwKey, importPublicKey, rsaKeyId } from '@bucketseal/core'

/** Key algorithms, named as in JOSE (RFC 7518) and in the object format's metadata mirror. */
export type KeyAlgorithmName = 'RSA-OAEP-256' | 'A256KW'

/** What every stored key and recipient has. */
export interface KeyInfo {
  /** The key id of the object format (32 lowercase hex digits): stable, and named in object headers. */
  readonly id: string
  /** A name for people; not unique. */
  readonly name: string
  /** When the key was created (for a recipient: added), in milliseconds since the Unix epoch. */
  readonly createdAt: number
  readonly algorithm: KeyAlgorithmName
  /** Key size in bits: the RSA modulus length, or 256 for AES-KW. */
  readonly size: number
}

/** An own RSA-OAEP-256 key pair. The private key is non-extractable: it opens objects, and that is all. */
export interface StoredKeyPair extends KeyInfo {
  readonly algorithm: 'RSA-OAEP-256'
  /** The key id in groups of four hex digits, for people to compare. */
  readonly fingerprint: string
  readonly publicKey: CryptoKey
  readonly privateKey: CryptoKey
}

/** An own AES-KW-256 key-encryption key, non-extractable. */
export interface StoredAesKwKey extends KeyInfo {
  readonly algorithm: 'A256KW'
  readonly key: CryptoKey
}

/** An own master key: a key pair or an AES-KW key. */
export type StoredKey = StoredKeyPair | StoredAesKwKey

/** A colleague's public key, kept to encrypt objects for them. */
export interface KnownRecipient extends KeyInfo {
  readonly algorithm: 'RSA-OAEP-256'
  readonly fingerprint: string
  readonly publicKey: CryptoKey
}

/** Names are at most this many UTF-8 bytes, in the store and in backup files. */
export const MAX_NAME_BYTES = 256

/** Throws unless `name` is a usable key name: a string with a non-space character, at most 256 UTF-8 bytes. */
export function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim().length === 0) throw new InvalidArgumentError('name must be a non-empty string.')
  if (new TextEncoder().encode(name).length > MAX_NAME_BYTES) throw new InvalidArgumentError(`name must be at most ${MAX_NAME_BYTES} bytes of UTF-8.`)
  return name
}

const RSA_OAEP: RsaHashedImportParams = { name: 'RSA-OAEP', hash: 'SHA-256' }

/**
 * Builds a key pair record from DER bytes. The private key is imported non-extractable, so the
 * record can never give its bytes back. The public key is validated by core (RSA-OAEP, 2048-4096 bits).
 * Throws core's `InvalidArgumentError` for a bad public key and WebCrypto's error for a bad PKCS#8.
 */
export async function keyPairFromDer(
  name: string,
  createdAt: number,
  spki: Uint8Array<ArrayBuffer>,
  pkcs8: Uint8Array<ArrayBuffer>,
): Promise<StoredKeyPair> {
  const publicKey = await importPublicKey(spki)
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, RSA_OAEP, false, ['decrypt'])
  return { ...(await publicKeyEntry(name, createdAt, publicKey)), privateKey }
}

/** Builds an AES-KW record from the 32 raw key bytes, imported non-extractable. */
export async function aesKwKeyFromRaw(name: string, createdAt: number, raw: Uint8Array): Promise<StoredAesKwKey> {
  const key = await importAesKwKey(raw)
  return { id: await aesKwKeyId(key), name, createdAt, algorithm: 'A256KW', size: 256, key }
}

/**
 * Builds a recipient record from a public key that core's `importPublicKey` has validated; a key pair
 * record is this plus the private key.
 */
export async function publicKeyEntry(name: string, createdAt: number, publicKey: CryptoKey): Promise<KnownRecipient> {
  return {
    id: await rsaKeyId(publicKey),
    name,
    createdAt,
    algorithm: 'RSA-OAEP-256',
    size: modulusLength(publicKey),
    fingerprint: await fingerprint(publicKey),
    publicKey,
  }
}

/**
 * True when the private key opens what the public key seals. A backup holds both halves; without
 * this check, a file whose halves disagree would restore a key that names one id and opens nothing.
 */
export async function pairMatches(publicKey: CryptoKey, privateKey: CryptoKey): Promise<boolean> {
  const probe = crypto.getRandomValues(new Uint8Array(32))
  try {
    const sealed = await crypto.subtle.encrypt(RSA_OAEP, publicKey, probe)
    const opened = new Uint8Array(await crypto.subtle.decrypt(RSA_OAEP, privateKey, sealed))
    return opened.length === probe.length && opened.every((b, i) => b === probe[i])
  } catch {
    return false
  }
}

/** The modulus length of an RSA key, in bits. */
export function modulusLength(key: CryptoKey): number {
  const alg = key.algorithm
  return 'modulusLength' in alg && typeof alg.modulusLength === 'number' ? alg.modulusLength : 0
}

// ---- Reading records back ----
// IndexedDB gives back whatever was stored, by this version or another, so every record is checked
// for shape before use; a record that fails is treated as absent rather than trusted. Records are the
// objects above as they are (CryptoKeys included: IndexedDB clones them, extractable or not); their
// layout version is in the store's key prefix (see store.ts), so the values carry no version field.

/** The stored key in `value`, or `null` when it is not a well-formed key record. */
export function readStoredKey(value: unknown): StoredKey | null {
  const info = readInfo(value)
  if (info === null || typeof value !== 'object' || value === null) return null
  if (info.algorithm === 'RSA-OAEP-256') {
    const publicKey = cryptoKey(value, 'publicKey', 'public')
    const privateKey = cryptoKey(value, 'privateKey', 'private')
    const print = Reflect.get(value, 'fingerprint')
    if (publicKey === null || privateKey === null || typeof print !== 'string') return null
    return { ...info, algorithm: info.algorithm, fingerprint: print, publicKey, privateKey }
  }
  const key = cryptoKey(value, 'key', 'secret')
  return key === null ? null : { ...info, algorithm: info.algorithm, key }
}

/** The recipient in `value`, or `null` when it is not a well-formed recipient record. */
export function readRecipient(value: unknown): KnownRecipient | null {
  const info = readInfo(value)
  if (info === null || info.algorithm !== 'RSA-OAEP-256' || typeof value !== 'object' || value === null) return null
  const publicKey = cryptoKey(value, 'publicKey', 'public')
  const print = Reflect.get(value, 'fingerprint')
  if (publicKey === null || typeof print !== 'string') return null
  return { ...info, algorithm: info.algorithm, fingerprint: print, publicKey }
}

function readInfo(value: unknown): KeyInfo | null {
  if (typeof value !== 'object' || value === null) return null
  const field = (name: string): unknown => Reflect.get(value, name)
  const id = field('id')
  const name = field('name')
  const createdAt = field('createdAt')
  const algorithm = field('algorithm')
  const size = field('size')
  if (typeof id !== 'string' || typeof name !== 'string' || typeof createdAt !== 'number' || typeof size !== 'number') return null
  if (algorithm !== 'RSA-OAEP-256' && algorithm !== 'A256KW') return null
  return { id, name, createdAt, algorithm, size }
}

function cryptoKey(value: object, name: string, type: KeyType): CryptoKey | null {
  const key: unknown = Reflect.get(value, name)
  if (!(key instanceof CryptoKey) || key.type !== type) return null
  // The store never writes an extractable private or secret key; one found there was put by
  // something else, and handing it out would break the promise that no API exports key bytes.
  return type !== 'public' && key.extractable ? null : key
}
