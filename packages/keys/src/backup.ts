/**
 * The key backup file (docs/FORMAT.md, "Key backup file"): a master key's bytes sealed under a
 * passphrase. It is written once, when the key is created, and is the only copy of the key outside
 * WebCrypto. Opening one gives back non-extractable keys, never bytes.
 */
import { InvalidArgumentError, MIN_PBKDF2_ITERATIONS } from '@bucketseal/core'
import { BadBackupError, WrongPassphraseError } from './errors.js'
import { type KeyAlgorithmName, MAX_NAME_BYTES, type StoredKey, aesKwKeyFromRaw, keyPairFromDer, pairMatches } from './records.js'

/** The file name extension apps should give a backup they offer as a download. */
export const BACKUP_FILE_EXTENSION = '.bucketseal-key'

/** Same bound as the object format's passphrase entries: a hostile file cannot make a reader spin for hours. */
export const MAX_BACKUP_ITERATIONS = 20_000_000

const MAGIC = [0x42, 0x4b, 0x53, 0x4b] // "BKSK"
const VERSION = 1
const TYPE_BYTES: Readonly<{ [A in KeyAlgorithmName]: number }> = { 'RSA-OAEP-256': 1, A256KW: 2 }
const KEY_ID_OFFSET = 8
const ITERATIONS_OFFSET = 24
const SALT_OFFSET = 28
const CHECK_OFFSET = 44
const NONCE_OFFSET = 60
const HEADER_LENGTH = 72
const KEY_ID_LENGTH = 16
const SALT_LENGTH = 16
const CHECK_LENGTH = 16
const NONCE_LENGTH = 12
const TAG_LENGTH = 16
const CHECKSUM_LENGTH = 16
const AES_KW_LENGTH = 32
/** Payload bytes before the name: createdAt (8) and the name's length (2). */
const PAYLOAD_FIXED_LENGTH = 10
/** An RSA-4096 backup with the longest name is under 3.3 KB; anything far larger is not ours. */
const MAX_FILE_LENGTH = 16_384
const MIN_FILE_LENGTH = HEADER_LENGTH + PAYLOAD_FIXED_LENGTH + 1 + AES_KW_LENGTH + TAG_LENGTH + CHECKSUM_LENGTH

const KEY_INFO = utf8('bucketseal/key-backup/v1/key')
const CHECK_INFO = utf8('bucketseal/key-backup/v1/check')

/** What a backup file says about itself without the passphrase. */
export interface BackupInfo {
  /** The format version of the file (1). */
  readonly version: number
  /** The key id of the key inside: match it against the key ids an object needs. */
  readonly id: string
  readonly algorithm: KeyAlgorithmName
  /** PBKDF2-SHA-256 iterations the passphrase is stretched with. */
  readonly iterations: number
}

/** The key a backup is written from. `secret` is PKCS#8 DER (RSA) or the 32 raw bytes (AES-KW). */
export interface BackupContents {
  readonly id: string
  readonly algorithm: KeyAlgorithmName
  readonly name: string
  readonly createdAt: number
  /** SPKI DER of the public key (RSA); empty for AES-KW. */
  readonly spki: Uint8Array
  /** Read, never kept; the caller zeroes it. */
  readonly secret: Uint8Array
}

/**
 * Seals a key into a backup file. Internal: only key creation calls it, at the one moment a private
 * key is extractable.
 */
export async function sealBackup(contents: BackupContents, passphrase: string, iterations: number): Promise<Uint8Array<ArrayBuffer>> {
  const name = utf8(contents.name)
  const rsa = contents.algorithm === 'RSA-OAEP-256'
  const keyPart = rsa ? 2 + contents.spki.length + contents.secret.length : contents.secret.length
  const payload = new Uint8Array(PAYLOAD_FIXED_LENGTH + name.length + keyPart)
  const pv = new DataView(payload.buffer)
  pv.setBigUint64(0, BigInt(contents.createdAt))
  pv.setUint16(8, name.length)
  payload.set(name, PAYLOAD_FIXED_LENGTH)
  let offset = PAYLOAD_FIXED_LENGTH + name.length
  if (rsa) {
    pv.setUint16(offset, contents.spki.length)
    payload.set(contents.spki, offset + 2)
    offset += 2 + contents.spki.length
  }
  payload.set(contents.secret, offset)

  const file = new Uint8Array(HEADER_LENGTH + payload.length + TAG_LENGTH + CHECKSUM_LENGTH)
  const header = file.subarray(0, HEADER_LENGTH)
  header.set(MAGIC, 0)
  header[4] = VERSION
  header[5] = TYPE_BYTES[contents.algorithm]
  header.set(fromHex(contents.id), KEY_ID_OFFSET)
  new DataView(file.buffer).setUint32(ITERATIONS_OFFSET, iterations)
  const salt = crypto.getRandomValues(new Uint8Array(SALT_LENGTH))
  header.set(salt, SALT_OFFSET)
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH))
  header.set(nonce, NONCE_OFFSET)
  try {
    const { key, check } = await deriveBackupKeys(passphrase, salt, iterations)
    header.set(check, CHECK_OFFSET)
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: header }, key, payload)
    file.set(new Uint8Array(sealed), HEADER_LENGTH)
  } finally {
    payload.fill(0)
  }
  file.set(await checksum(file), file.length - CHECKSUM_LENGTH)
  return file
}

/**
 * Reads what a backup file says about itself, without the passphrase: which key it holds. An app can
 * match the id against the key ids of an object before asking for a passphrase.
 *
 * @param file the backup file's bytes; read, not kept.
 * @throws {BadBackupError} not a key backup, a version this library does not read, or a damaged file.
 * @throws {InvalidArgumentError} `file` is not a Uint8Array.
 * @example
 * const { id } = await readBackupInfo(new Uint8Array(await file.arrayBuffer()))
 * if (error.keyIds.includes(id)) await keys.restoreFromBackup(bytes, passphrase)
 */
export async function readBackupInfo(file: Uint8Array): Promise<BackupInfo> {
  if (!(file instanceof Uint8Array)) throw new InvalidArgumentError('file must be a Uint8Array.')
  return parseBackupHeader(new Uint8Array(file))
}

async function parseBackupHeader(file: Uint8Array<ArrayBuffer>): Promise<BackupInfo> {
  if (file.length < MIN_FILE_LENGTH || MAGIC.some((b, i) => file[i] !== b)) {
    throw new BadBackupError('This is not a Bucketseal key backup file.')
  }
  if (file[4] !== VERSION) {
    throw new BadBackupError(`This key backup has format version ${String(file[4])}; this version of Bucketseal reads version ${VERSION}. Update Bucketseal.`)
  }
  if (file.length > MAX_FILE_LENGTH) throw new BadBackupError('This key backup file is too large to be one: it is damaged.')
  // The checksum comes before anything else is believed, so that a damaged salt, iteration count or
  // check value is reported as damage and not as a wrong passphrase.
  if (!sameBytes(await checksum(file), file.subarray(file.length - CHECKSUM_LENGTH))) {
    throw new BadBackupError('This key backup file is damaged (its checksum does not match). Use another copy of it.')
  }
  const algorithm = file[5] === TYPE_BYTES['RSA-OAEP-256'] ? 'RSA-OAEP-256' : file[5] === TYPE_BYTES.A256KW ? 'A256KW' : null
  if (algorithm === null || file[6] !== 0 || file[7] !== 0) throw new BadBackupError('This key backup has an unknown key type or non-zero reserved bytes.')
  const iterations = new DataView(file.buffer).getUint32(ITERATIONS_OFFSET)
  if (iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_BACKUP_ITERATIONS) {
    throw new BadBackupError(`This key backup uses ${iterations} PBKDF2 iterations; readers accept ${MIN_PBKDF2_ITERATIONS} to ${MAX_BACKUP_ITERATIONS}.`)
  }
  return { version: VERSION, id: toHex(file.subarray(KEY_ID_OFFSET, KEY_ID_OFFSET + KEY_ID_LENGTH)), algorithm, iterations }
}

/**
 * Opens a backup file and imports its key, non-extractable, after checking that the key is the one
 * the file names (and, for a key pair, that the private key matches the public key). Internal: the
 * store's `restoreFromBackup` calls it and stores the result.
 *
 * @throws {BadBackupError} | {WrongPassphraseError}
 */
export async function openBackup(file: Uint8Array, passphrase: string): Promise<StoredKey> {
  // A copy we own: WebCrypto wants ArrayBuffer-backed bytes, and the caller's buffer stays untouched.
  const bytes = new Uint8Array(file)
  const info = await parseBackupHeader(bytes)
  const header = bytes.subarray(0, HEADER_LENGTH)
  const salt = bytes.subarray(SALT_OFFSET, SALT_OFFSET + SALT_LENGTH)
  const { key, check } = await deriveBackupKeys(passphrase, salt, info.iterations)
  if (!sameBytes(check, bytes.subarray(CHECK_OFFSET, CHECK_OFFSET + CHECK_LENGTH))) throw new WrongPassphraseError()
  let payload: Uint8Array<ArrayBuffer>
  try {
    const iv = bytes.subarray(NONCE_OFFSET, NONCE_OFFSET + NONCE_LENGTH)
    const sealed = bytes.subarray(HEADER_LENGTH, bytes.length - CHECKSUM_LENGTH)
    payload = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: header }, key, sealed))
  } catch (cause) {
    // The checksum and the passphrase check both passed, so this is deliberate editing, not damage.
    throw new BadBackupError('This key backup was modified after it was written: it does not authenticate.', { cause })
  }
  try {
    const restored = await importPayload(info, payload)
    if (restored.id !== info.id) throw new BadBackupError('The key in this backup is not the key its header names.')
    if (restored.algorithm === 'RSA-OAEP-256' && !(await pairMatches(restored.publicKey, restored.privateKey))) {
      throw new BadBackupError('The private key in this backup does not match its public key.')
    }
    return restored
  } finally {
    payload.fill(0)
  }
}

async function importPayload(info: BackupInfo, payload: Uint8Array<ArrayBuffer>): Promise<StoredKey> {
  const view = new DataView(payload.buffer)
  const nameLength = payload.length >= PAYLOAD_FIXED_LENGTH ? view.getUint16(8) : 0
  const keyStart = PAYLOAD_FIXED_LENGTH + nameLength
  const createdAt = payload.length >= PAYLOAD_FIXED_LENGTH ? view.getBigUint64(0) : -1n
  if (nameLength < 1 || nameLength > MAX_NAME_BYTES || keyStart > payload.length || createdAt < 0n || createdAt > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BadBackupError('This key backup has a malformed payload.')
  }
  let name: string
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(PAYLOAD_FIXED_LENGTH, keyStart))
  } catch (cause) {
    throw new BadBackupError('The key name in this backup is not valid UTF-8.', { cause })
  }
  const rest = payload.subarray(keyStart)
  try {
    if (info.algorithm === 'A256KW') {
      if (rest.length !== AES_KW_LENGTH) throw new BadBackupError('This AES-KW key backup does not hold a 32-byte key.')
      return await aesKwKeyFromRaw(name, Number(createdAt), rest)
    }
    const spkiLength = rest.length >= 2 ? view.getUint16(keyStart) : 0
    if (spkiLength === 0 || 2 + spkiLength >= rest.length) throw new BadBackupError('This key pair backup has a malformed key.')
    return await keyPairFromDer(name, Number(createdAt), rest.subarray(2, 2 + spkiLength), rest.subarray(2 + spkiLength))
  } catch (cause) {
    if (cause instanceof BadBackupError) throw cause
    throw new BadBackupError('The key in this backup does not import: it is malformed or not a supported key.', { cause })
  }
}

/**
 * PBKDF2 stretches the passphrase once; HKDF then splits the result into the AES-GCM key and a check
 * value. Deriving both from one PBKDF2 output (not 64 bytes of PBKDF2, which would cost a reader two
 * full runs and an attacker one) keeps the check value from making guessing any cheaper: a guess
 * costs the same PBKDF2 run whether it is tested against the check value or the ciphertext.
 */
async function deriveBackupKeys(
  passphrase: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<{ readonly key: CryptoKey; readonly check: Uint8Array<ArrayBuffer> }> {
  // NFC so that the same passphrase typed on two platforms gives the same key (as core does).
  const secret = utf8(passphrase.normalize('NFC'))
  const stretched = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
      await crypto.subtle.importKey('raw', secret, 'PBKDF2', false, ['deriveBits']),
      256,
    ),
  )
  secret.fill(0)
  try {
    const ikm = await crypto.subtle.importKey('raw', stretched, 'HKDF', false, ['deriveKey', 'deriveBits'])
    const hkdf = (info: Uint8Array<ArrayBuffer>): HkdfParams => ({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info })
    const key = await crypto.subtle.deriveKey(hkdf(KEY_INFO), ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
    const check = new Uint8Array(await crypto.subtle.deriveBits(hkdf(CHECK_INFO), ikm, CHECK_LENGTH * 8))
    return { key, check }
  } finally {
    stretched.fill(0)
  }
}

/** SHA-256 of everything before the checksum field, first 16 bytes. Detects damage, not attacks. */
async function checksum(file: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const digest = await crypto.subtle.digest('SHA-256', file.subarray(0, file.length - CHECKSUM_LENGTH))
  return new Uint8Array(digest, 0, CHECKSUM_LENGTH)
}

/** Compares without an early exit, so timing does not tell how much of a check value was right. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return diff === 0
}

function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text)
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Key ids come from core's `rsaKeyId`/`aesKwKeyId`: 32 lowercase hex digits. */
function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16))
}
