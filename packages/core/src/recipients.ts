/**
 * Recipients (who an object is encrypted to) and identities (what opens it). Each kind wraps the
 * object's 32-byte data key (DEK) into one header stanza. Two one-method interfaces are the only
 * extension points, as in age: a new kind (a KMS, say) implements them with a new stanza type.
 */
import { buf, equalBytes, fromHex, randomBytes, toHex, utf8 } from './bytes.js'
import { InvalidArgumentError, TamperedError } from './errors.js'
import type { Stanza } from './header.js'
import { KEY_ID_LENGTH, aesKwKeyId, checkAesKwKey, checkRsaKey, rsaKeyId, rsaModulusLength } from './keys.js'

/** Stanza type bytes (FORMAT.md, "Recipients"). */
export const StanzaType = {
  RSA_OAEP_256: 0x01,
  AES_KW_256: 0x02,
  PASSPHRASE: 0x03,
  /** A data key wrapped by a remote key service (kms.ts, FORMAT.md §11). */
  KMS: 0x04,
} as const

/** Kinds whose body starts with a 16-byte key id. */
const KEYED_TYPES: ReadonlySet<number> = new Set([StanzaType.RSA_OAEP_256, StanzaType.AES_KW_256, StanzaType.KMS])

/** Something an object can be encrypted to. */
export interface Recipient {
  /** Wraps the data key into a stanza. `dek` is read, never kept. */
  wrap(dek: Uint8Array): Promise<Stanza>
}

/** Something that can open an object: returns the data key, or `null` when no stanza is for it. */
export interface Identity {
  unwrap(stanzas: readonly Stanza[]): Promise<Uint8Array | null>
}

/** A passphrase, used as a recipient (to encrypt) or an identity (to decrypt). */
export interface Passphrase {
  readonly passphrase: string
  /** PBKDF2 iterations when encrypting; at least 600,000 (the default). */
  readonly iterations?: number
}

/** What `encrypt` accepts as a recipient: an RSA-OAEP public key, an AES-KW key, a passphrase, or your own. */
export type RecipientInput = Recipient | CryptoKey | Passphrase
/** What `decrypt` accepts as a key: an RSA-OAEP key pair or private key, an AES-KW key, a passphrase, or your own. */
export type IdentityInput = Identity | CryptoKeyPair | CryptoKey | Passphrase

const DEK_LENGTH = 32
const WRAPPED_DEK_LENGTH = 40 // AES-KW adds one 8-byte block
/** OAEP label: binds the wrap to its purpose, so an RSA ciphertext from another protocol never fits. */
const OAEP_LABEL = utf8('bucketseal/v1/dek')
export const MIN_PBKDF2_ITERATIONS = 600_000
/** Upper bound when decrypting, so a hostile header cannot make a reader spin for hours. */
export const MAX_PBKDF2_ITERATIONS = 20_000_000
const PBKDF2_SALT_LENGTH = 16
/**
 * Passphrase entries a reader tries at most. Each try costs a full PBKDF2 run, so a hostile header
 * listing hundreds of them could otherwise keep a reader busy for hours; honest objects have one or two.
 */
export const MAX_PASSPHRASE_TRIES = 8

function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof CryptoKey !== 'undefined' && value instanceof CryptoKey
}

function isPassphrase(value: unknown): value is Passphrase {
  return typeof value === 'object' && value !== null && 'passphrase' in value
}

function isKeyPair(value: unknown): value is CryptoKeyPair {
  return typeof value === 'object' && value !== null && 'privateKey' in value && 'publicKey' in value
}

/** The key id (hex) named by a stanza, for the kinds that carry one. */
export function stanzaKeyId(stanza: Stanza): string | null {
  if (KEYED_TYPES.has(stanza.type) && stanza.body.length > KEY_ID_LENGTH) {
    return toHex(stanza.body.subarray(0, KEY_ID_LENGTH))
  }
  return null
}

// ---- RSA-OAEP ----

/** An RSA-OAEP-256 public key as a recipient. */
export function rsaRecipient(publicKey: CryptoKey): Recipient {
  checkRsaKey(publicKey, 'public')
  if (!publicKey.usages.includes('encrypt')) throw new InvalidArgumentError('The RSA public key needs the "encrypt" usage.')
  return {
    async wrap(dek) {
      const id = fromHex(await rsaKeyId(publicKey))
      const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP', label: buf(OAEP_LABEL) }, publicKey, buf(dek)))
      const body = new Uint8Array(KEY_ID_LENGTH + wrapped.length)
      body.set(id, 0)
      body.set(wrapped, KEY_ID_LENGTH)
      return { type: StanzaType.RSA_OAEP_256, body }
    },
  }
}

/**
 * An RSA-OAEP private key as an identity. With the public key, it opens the stanza carrying its key
 * id; with the private key alone (its key id cannot be computed) it tries every RSA stanza of its size.
 */
export function rsaIdentity(privateKey: CryptoKey, publicKey?: CryptoKey): Identity {
  checkRsaKey(privateKey, 'private')
  if (!privateKey.usages.includes('decrypt')) throw new InvalidArgumentError('The RSA private key needs the "decrypt" usage.')
  if (publicKey !== undefined) checkRsaKey(publicKey, 'public')
  const wrappedLength = rsaModulusLength(privateKey) / 8
  const open = async (body: Uint8Array): Promise<Uint8Array | null> => {
    try {
      const dek = new Uint8Array(
        await crypto.subtle.decrypt({ name: 'RSA-OAEP', label: buf(OAEP_LABEL) }, privateKey, buf(body.subarray(KEY_ID_LENGTH))),
      )
      return dek.length === DEK_LENGTH ? dek : null
    } catch {
      return null
    }
  }
  return {
    async unwrap(stanzas) {
      const candidates = stanzas.filter((s) => s.type === StanzaType.RSA_OAEP_256 && s.body.length === KEY_ID_LENGTH + wrappedLength)
      if (publicKey === undefined) {
        for (const s of candidates) {
          const dek = await open(s.body)
          if (dek !== null) return dek
        }
        return null
      }
      const id = fromHex(await rsaKeyId(publicKey))
      for (const s of candidates) {
        if (!equalBytes(s.body.subarray(0, KEY_ID_LENGTH), id)) continue
        const dek = await open(s.body)
        if (dek === null) throw new TamperedError(`The recipient entry for key id ${toHex(id)} does not unwrap: it was modified.`)
        return dek
      }
      return null
    },
  }
}

// ---- AES-KW ----

async function dekAsKey(dek: Uint8Array): Promise<CryptoKey> {
  // AES-KW in WebCrypto wraps keys, not bytes: carry the DEK as an (extractable, short-lived) AES key.
  return crypto.subtle.importKey('raw', buf(dek), 'AES-GCM', true, ['encrypt'])
}

async function kwWrap(kek: CryptoKey, dek: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.wrapKey('raw', await dekAsKey(dek), kek, 'AES-KW'))
}

async function kwUnwrap(kek: CryptoKey, wrapped: Uint8Array): Promise<Uint8Array | null> {
  try {
    const key = await crypto.subtle.unwrapKey('raw', buf(wrapped), kek, 'AES-KW', 'AES-GCM', true, ['encrypt'])
    return new Uint8Array(await crypto.subtle.exportKey('raw', key))
  } catch {
    return null
  }
}

/** A 256-bit AES-KW key as a recipient. */
export function aesKwRecipient(kek: CryptoKey): Recipient {
  checkAesKwKey(kek)
  return {
    async wrap(dek) {
      const id = fromHex(await aesKwKeyId(kek))
      const body = new Uint8Array(KEY_ID_LENGTH + WRAPPED_DEK_LENGTH)
      body.set(id, 0)
      body.set(await kwWrap(kek, dek), KEY_ID_LENGTH)
      return { type: StanzaType.AES_KW_256, body }
    },
  }
}

/** A 256-bit AES-KW key as an identity: opens the stanza carrying its key id. */
export function aesKwIdentity(kek: CryptoKey): Identity {
  checkAesKwKey(kek)
  return {
    async unwrap(stanzas) {
      const id = fromHex(await aesKwKeyId(kek))
      for (const s of stanzas) {
        if (s.type !== StanzaType.AES_KW_256 || s.body.length !== KEY_ID_LENGTH + WRAPPED_DEK_LENGTH) continue
        if (!equalBytes(s.body.subarray(0, KEY_ID_LENGTH), id)) continue
        const dek = await kwUnwrap(kek, s.body.subarray(KEY_ID_LENGTH))
        if (dek === null) throw new TamperedError(`The recipient entry for key id ${toHex(id)} does not unwrap: it was modified.`)
        return dek
      }
      return null
    },
  }
}

// ---- Passphrase (PBKDF2-SHA-256, then AES-KW) ----

async function passphraseKek(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  // NFC so that the same passphrase typed on two platforms gives the same key.
  const base = await crypto.subtle.importKey('raw', buf(utf8(passphrase.normalize('NFC'))), 'PBKDF2', false, ['deriveKey'])
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: buf(salt), iterations },
    base,
    { name: 'AES-KW', length: 256 },
    false,
    ['wrapKey', 'unwrapKey'],
  )
}

function checkPassphrase(p: Passphrase): void {
  if (typeof p.passphrase !== 'string' || p.passphrase.length === 0) {
    throw new InvalidArgumentError('passphrase must be a non-empty string.')
  }
}

/** A passphrase as a recipient: PBKDF2-SHA-256 (≥ 600,000 iterations, random 16-byte salt) → AES-KW. */
export function passphraseRecipient(p: Passphrase): Recipient {
  checkPassphrase(p)
  const iterations = p.iterations ?? MIN_PBKDF2_ITERATIONS
  if (!Number.isSafeInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new InvalidArgumentError(`iterations must be from ${MIN_PBKDF2_ITERATIONS} to ${MAX_PBKDF2_ITERATIONS}, got ${String(iterations)}.`)
  }
  return {
    async wrap(dek) {
      const salt = randomBytes(PBKDF2_SALT_LENGTH)
      const body = new Uint8Array(PBKDF2_SALT_LENGTH + 4 + WRAPPED_DEK_LENGTH)
      body.set(salt, 0)
      new DataView(body.buffer).setUint32(PBKDF2_SALT_LENGTH, iterations)
      body.set(await kwWrap(await passphraseKek(p.passphrase, salt, iterations), dek), PBKDF2_SALT_LENGTH + 4)
      return { type: StanzaType.PASSPHRASE, body }
    },
  }
}

/** A passphrase as an identity: tries each passphrase stanza (they carry no key id). */
export function passphraseIdentity(p: Passphrase): Identity {
  checkPassphrase(p)
  return {
    async unwrap(stanzas) {
      let tries = 0
      for (const s of stanzas) {
        if (s.type !== StanzaType.PASSPHRASE || s.body.length !== PBKDF2_SALT_LENGTH + 4 + WRAPPED_DEK_LENGTH) continue
        if (++tries > MAX_PASSPHRASE_TRIES) break
        const iterations = new DataView(s.body.buffer, s.body.byteOffset, s.body.length).getUint32(PBKDF2_SALT_LENGTH)
        if (iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) continue
        const kek = await passphraseKek(p.passphrase, s.body.subarray(0, PBKDF2_SALT_LENGTH), iterations)
        const dek = await kwUnwrap(kek, s.body.subarray(PBKDF2_SALT_LENGTH + 4))
        if (dek !== null) return dek
      }
      return null
    },
  }
}

// ---- Inputs ----

/** Turns what a caller passed as a recipient into a {@link Recipient}. */
export function toRecipient(input: RecipientInput): Recipient {
  if (isCryptoKey(input)) {
    if (input.algorithm.name === 'RSA-OAEP') return rsaRecipient(input)
    if (input.algorithm.name === 'AES-KW') return aesKwRecipient(input)
    throw new InvalidArgumentError(`A ${input.algorithm.name} key cannot be a recipient; use an RSA-OAEP public key or an AES-KW key.`)
  }
  if (isPassphrase(input)) return passphraseRecipient(input)
  if (typeof input === 'object' && input !== null && typeof input.wrap === 'function') return input
  throw new InvalidArgumentError('A recipient must be a CryptoKey, { passphrase } or an object with a wrap() method.')
}

/** Turns what a caller passed as a key into an {@link Identity}. */
export function toIdentity(input: IdentityInput): Identity {
  if (isCryptoKey(input)) {
    if (input.algorithm.name === 'RSA-OAEP') return rsaIdentity(input)
    if (input.algorithm.name === 'AES-KW') return aesKwIdentity(input)
    throw new InvalidArgumentError(`A ${input.algorithm.name} key cannot open objects; use an RSA-OAEP private key or key pair, or an AES-KW key.`)
  }
  if (isKeyPair(input)) return rsaIdentity(input.privateKey, input.publicKey)
  if (isPassphrase(input)) return passphraseIdentity(input)
  if (typeof input === 'object' && input !== null && typeof input.unwrap === 'function') return input
  throw new InvalidArgumentError('A key must be a CryptoKey, a CryptoKeyPair, { passphrase } or an object with an unwrap() method.')
}

/** Generates a fresh 256-bit data key. Exported for tests of the recipient kinds only. */
export function generateDek(): Uint8Array {
  return randomBytes(DEK_LENGTH)
}
