/**
 * Key helpers: generate and import the master keys that recipients use. Safe defaults: private and
 * symmetric keys are non-extractable unless the caller asks, by name, for the opposite.
 */
import { abytes, buf, concat, fromBase64, toBase64, toHex, utf8 } from './bytes.js'
import { InvalidArgumentError } from './errors.js'

/** RSA modulus sizes accepted for RSA-OAEP recipients. 3072 is the default. */
export const RSA_MODULUS_LENGTHS: readonly number[] = [2048, 3072, 4096]
/** Key ids are the first 16 bytes of a SHA-256 hash, written as 32 lowercase hex digits. */
export const KEY_ID_LENGTH = 16

const RSA_EXPONENT = new Uint8Array([1, 0, 1])

export interface GenerateRsaKeyPairOptions {
  /** 2048, 3072 (default) or 4096. */
  readonly modulusLength?: number
  /**
   * Makes the private key extractable. Only for code that must write a backup at creation (the keys
   * package does); anything else should leave the private key inside WebCrypto.
   */
  readonly dangerouslyExtractablePrivateKey?: boolean
}

/**
 * Generates an RSA-OAEP (SHA-256) key pair for use as a recipient and identity. The private key is
 * non-extractable by default; the public key is always exportable.
 *
 * @throws {InvalidArgumentError} an unsupported modulus length.
 * @example
 * const pair = await generateRsaKeyPair()
 * const sealed = await encrypt(data, { recipients: [pair.publicKey] })
 */
export async function generateRsaKeyPair(options: GenerateRsaKeyPairOptions = {}): Promise<CryptoKeyPair> {
  const modulusLength = options.modulusLength ?? 3072
  if (!RSA_MODULUS_LENGTHS.includes(modulusLength)) {
    throw new InvalidArgumentError(`modulusLength must be one of ${RSA_MODULUS_LENGTHS.join(', ')}, got ${String(modulusLength)}.`)
  }
  const pair = await crypto.subtle.generateKey(
    { name: 'RSA-OAEP', modulusLength, publicExponent: RSA_EXPONENT, hash: 'SHA-256' },
    options.dangerouslyExtractablePrivateKey === true,
    ['encrypt', 'decrypt'],
  )
  return pair
}

/** A public key as SPKI DER bytes, SPKI PEM text, or a JWK. */
export type PublicKeyInput = Uint8Array | string | JsonWebKey

/**
 * Imports an RSA-OAEP SHA-256 public key for use as a recipient, and validates it.
 *
 * @throws {InvalidArgumentError} malformed input, not an RSA key, or a modulus outside 2048-4096 bits.
 * @example
 * const colleague = await importPublicKey(pemText)
 */
export async function importPublicKey(input: PublicKeyInput): Promise<CryptoKey> {
  const algorithm: RsaHashedImportParams = { name: 'RSA-OAEP', hash: 'SHA-256' }
  let key: CryptoKey
  try {
    if (input instanceof Uint8Array) {
      key = await crypto.subtle.importKey('spki', buf(input), algorithm, true, ['encrypt'])
    } else if (typeof input === 'string') {
      key = await crypto.subtle.importKey('spki', buf(pemToDer(input)), algorithm, true, ['encrypt'])
    } else if (typeof input === 'object' && input !== null) {
      if (input.kty !== 'RSA' || input.d !== undefined) {
        throw new InvalidArgumentError('The JWK must be an RSA public key (kty "RSA", no private members).')
      }
      if (input.alg !== undefined && input.alg !== 'RSA-OAEP-256') {
        throw new InvalidArgumentError(`The JWK is for ${input.alg}; Bucketseal needs RSA-OAEP-256.`)
      }
      const { kty, n, e } = input
      if (typeof n !== 'string' || typeof e !== 'string') throw new InvalidArgumentError('The JWK lacks "n" or "e".')
      key = await crypto.subtle.importKey('jwk', { kty, n, e, alg: 'RSA-OAEP-256', ext: true }, algorithm, true, ['encrypt'])
    } else {
      throw new InvalidArgumentError('A public key must be SPKI DER bytes, a PEM string or a JWK object.')
    }
  } catch (cause) {
    if (cause instanceof InvalidArgumentError) throw cause
    throw new InvalidArgumentError('The public key is malformed or is not an RSA public key.')
  }
  checkRsaKey(key, 'public')
  return key
}

/** Throws unless `key` is an RSA-OAEP SHA-256 key of an accepted size and the given type. */
export function checkRsaKey(key: CryptoKey, type: KeyType): void {
  const alg = key.algorithm
  if (key.type !== type || alg.name !== 'RSA-OAEP' || !isRsaHashed(alg)) {
    throw new InvalidArgumentError(`Expected an RSA-OAEP ${type} key, got a ${alg.name} ${key.type} key.`)
  }
  const { modulusLength, hash } = alg
  if (hash.name !== 'SHA-256') throw new InvalidArgumentError(`RSA-OAEP keys must use SHA-256, this one uses ${hash.name}.`)
  if (!RSA_MODULUS_LENGTHS.includes(modulusLength)) {
    throw new InvalidArgumentError(
      `RSA keys must be ${RSA_MODULUS_LENGTHS.join(', ')} bits; this one is ${modulusLength} bits${modulusLength < 2048 ? ', too small to be safe' : ''}.`,
    )
  }
}

function isRsaHashed(alg: KeyAlgorithm): alg is RsaHashedKeyAlgorithm {
  return 'modulusLength' in alg && 'hash' in alg
}

/** The modulus length in bits of a validated RSA key. */
export function rsaModulusLength(key: CryptoKey): number {
  const alg = key.algorithm
  return isRsaHashed(alg) ? alg.modulusLength : 0
}

function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem)
  if (m === null || m[1] === undefined) {
    throw new InvalidArgumentError('Expected a PEM block "-----BEGIN PUBLIC KEY-----" (SPKI).')
  }
  return fromBase64(m[1].replace(/\s+/g, ''), 'PEM body')
}

/** Exports a public key as SPKI PEM text (64-column base64, as OpenSSL writes it). */
export async function exportPublicKeyPem(publicKey: CryptoKey): Promise<string> {
  checkRsaKey(publicKey, 'public')
  const der = new Uint8Array(await crypto.subtle.exportKey('spki', publicKey))
  const b64 = toBase64(der)
  const lines = b64.match(/.{1,64}/g) ?? []
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`
}

/**
 * The key id of an RSA public key: the first 16 bytes of SHA-256 over its SPKI DER encoding, as hex.
 * It names the key in object headers and lets a reader pick the right recipient entry.
 */
export async function rsaKeyId(publicKey: CryptoKey): Promise<string> {
  checkRsaKey(publicKey, 'public')
  const der = await crypto.subtle.exportKey('spki', publicKey)
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', der)).subarray(0, KEY_ID_LENGTH))
}

export interface AesKwKeyOptions {
  /** Makes the key extractable (for an app that backs it up itself). Off by default. */
  readonly dangerouslyExtractable?: boolean
}

/**
 * Generates a 256-bit AES-KW key-encryption key, non-extractable by default.
 * @example
 * const kek = await generateAesKwKey()
 * const sealed = await encrypt(data, { recipients: [kek] })
 */
export async function generateAesKwKey(options: AesKwKeyOptions = {}): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'AES-KW', length: 256 }, options.dangerouslyExtractable === true, ['wrapKey', 'unwrapKey'])
}

/**
 * Imports 32 raw bytes as an AES-KW key-encryption key (non-extractable by default).
 * @throws {InvalidArgumentError} not 32 bytes.
 */
export async function importAesKwKey(raw: Uint8Array, options: AesKwKeyOptions = {}): Promise<CryptoKey> {
  abytes(raw, 'raw', 32)
  return crypto.subtle.importKey('raw', buf(raw), 'AES-KW', options.dangerouslyExtractable === true, ['wrapKey', 'unwrapKey'])
}

/** Throws unless `key` is a 256-bit AES-KW key usable for wrapping. */
export function checkAesKwKey(key: CryptoKey): void {
  const alg = key.algorithm
  if (alg.name !== 'AES-KW' || !('length' in alg) || alg.length !== 256) {
    throw new InvalidArgumentError(`Expected a 256-bit AES-KW key, got ${alg.name}.`)
  }
  if (!key.usages.includes('wrapKey') || !key.usages.includes('unwrapKey')) {
    throw new InvalidArgumentError('The AES-KW key needs both the "wrapKey" and "unwrapKey" usages.')
  }
}

const KW_KEY_ID_LABEL = utf8('bucketseal/v1/aes-kw-key-id')

/**
 * The key id of an AES-KW key. Its bytes may be unreadable (non-extractable), so the id is derived
 * from a key check value: SHA-256(label ‖ AES-KW(key, 32 zero bytes)), first 16 bytes, as hex.
 */
export async function aesKwKeyId(kek: CryptoKey): Promise<string> {
  checkAesKwKey(kek)
  const zero = await crypto.subtle.importKey('raw', new Uint8Array(32), 'AES-GCM', true, ['encrypt'])
  const check = new Uint8Array(await crypto.subtle.wrapKey('raw', zero, kek, 'AES-KW'))
  const digest = await crypto.subtle.digest('SHA-256', buf(concat([KW_KEY_ID_LABEL, check])))
  return toHex(new Uint8Array(digest).subarray(0, KEY_ID_LENGTH))
}

/**
 * A short fingerprint of a public key for people to compare aloud: the key id in groups of four
 * hex digits, e.g. `3f2a 9c01 …`.
 */
export async function fingerprint(publicKey: CryptoKey): Promise<string> {
  const id = await rsaKeyId(publicKey)
  return (id.match(/.{4}/g) ?? []).join(' ')
}
