/**
 * Creating master keys: the one moment a key's bytes exist outside WebCrypto. They are sealed into the
 * recovery backup, the key is imported again as non-extractable, and the bytes are zeroed. From then
 * on no API can export the key: WebCrypto refuses to export a non-extractable key, and IndexedDB
 * stores the CryptoKey object itself, not its bytes.
 */
import { InvalidArgumentError, MIN_PBKDF2_ITERATIONS, generateRsaKeyPair } from '@bucketseal/core'
import { type BackupContents, MAX_BACKUP_ITERATIONS, openBackup, sealBackup } from './backup.js'
import { type StoredAesKwKey, type StoredKey, type StoredKeyPair, aesKwKeyFromRaw, checkName, keyPairFromDer } from './records.js'

/** Shortest backup passphrase accepted (the NIST SP 800-63B floor for secrets people choose). */
export const MIN_PASSPHRASE_LENGTH = 8

/** The RSA modulus length of new key pairs. */
export const KEY_PAIR_MODULUS_LENGTH = 3072

export interface BackupOptions {
  /**
   * PBKDF2-SHA-256 iterations that stretch the backup passphrase: 600,000 (the default, OWASP 2023)
   * to 20,000,000. More makes guessing slower, and restoring too.
   */
  readonly iterations?: number
}

/** A new key and its recovery backup. */
export interface CreatedKey<K extends StoredKey> {
  readonly key: K
  /**
   * The recovery backup file: the key sealed under the passphrase (docs/FORMAT.md, "Key backup
   * file"). Offer it as a download now: it is the only copy of the key outside this browser, and no
   * API can make another. New bytes, owned by the caller.
   */
  readonly backup: Uint8Array<ArrayBuffer>
}

/** Generates an RSA-OAEP-256 key pair (3072 bits) with its backup. Not stored: the store does that. */
export async function generateKeyPair(name: string, passphrase: string, options: BackupOptions): Promise<CreatedKey<StoredKeyPair>> {
  const iterations = checkCreation(name, passphrase, options)
  const pair = await generateRsaKeyPair({ modulusLength: KEY_PAIR_MODULUS_LENGTH, dangerouslyExtractablePrivateKey: true })
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey))
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey))
  try {
    // The extractable `pair.privateKey` is dropped here; only the re-imported, non-extractable key is
    // returned and stored. (A garbage-collected CryptoKey cannot be wiped, only left unreachable.)
    const key = await keyPairFromDer(name, Date.now(), spki, pkcs8)
    const contents = { id: key.id, algorithm: key.algorithm, name, createdAt: key.createdAt, spki, secret: pkcs8 }
    return { key, backup: await sealAndVerify(contents, passphrase, iterations) }
  } finally {
    pkcs8.fill(0)
  }
}

/**
 * Generates an AES-KW-256 key with its backup. The bytes are drawn here rather than by
 * `generateKey`, so no extractable CryptoKey ever exists; WebCrypto's AES keys are random bytes too.
 */
export async function generateAesKwKey(name: string, passphrase: string, options: BackupOptions): Promise<CreatedKey<StoredAesKwKey>> {
  const iterations = checkCreation(name, passphrase, options)
  const raw = crypto.getRandomValues(new Uint8Array(32))
  try {
    const key = await aesKwKeyFromRaw(name, Date.now(), raw)
    const contents = { id: key.id, algorithm: key.algorithm, name, createdAt: key.createdAt, spki: new Uint8Array(0), secret: raw }
    return { key, backup: await sealAndVerify(contents, passphrase, iterations) }
  } finally {
    raw.fill(0)
  }
}

/**
 * A backup that does not open is found out on the day it is needed, when nothing can be done; so it
 * is opened once now, at the cost of one more PBKDF2 run.
 */
async function sealAndVerify(contents: BackupContents, passphrase: string, iterations: number): Promise<Uint8Array<ArrayBuffer>> {
  const backup = await sealBackup(contents, passphrase, iterations)
  const reopened = await openBackup(backup, passphrase)
  if (reopened.id !== contents.id) throw new Error('Bucketseal bug: a fresh key backup does not open to its key.')
  return backup
}

function checkCreation(name: string, passphrase: string, options: BackupOptions): number {
  checkName(name)
  if (typeof passphrase !== 'string' || passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new InvalidArgumentError(`The backup passphrase must be a string of at least ${MIN_PASSPHRASE_LENGTH} characters.`)
  }
  const iterations = options.iterations ?? MIN_PBKDF2_ITERATIONS
  if (!Number.isSafeInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_BACKUP_ITERATIONS) {
    throw new InvalidArgumentError(`iterations must be an integer from ${MIN_PBKDF2_ITERATIONS} to ${MAX_BACKUP_ITERATIONS}, got ${String(iterations)}.`)
  }
  return iterations
}
