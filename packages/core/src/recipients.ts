/**
 * Recipients (who an object is encrypted to) and identities (what opens it). Each kind wraps the
 * object's 32-byte data key (DEK) into one header stanza. Two one-method interfaces are the only
 * extension points, as in age: a new kind (a KMS, say) implements them with a new stanza type.
 */
import { buf, equalBytes, fromHex, randomBytes, toHex, utf8 } from './bytes.js'
import { BadHeaderError, BucketsealError, InvalidArgumentError, TamperedError } from './errors.js'
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

/**
 * Why entries did not open, kept while a reader goes on trying (FORMAT.md §4, "Opening"): every
 * entry and every key is tried before failing, and then the most specific failure is reported.
 * Internal.
 */
export class Failures {
  #worst: BucketsealError<string> | null = null

  /** Keeps `error` if it ranks above what is kept; at equal rank the first one stays. */
  record(error: BucketsealError<string>): void {
    if (this.#worst === null || failureRank(error.code) > failureRank(this.#worst.code)) this.#worst = error
  }

  get worst(): BucketsealError<string> | null {
    return this.#worst
  }
}

/**
 * The precedence of FORMAT.md §4: a header that asked for more work than a reader does (an entry
 * was never run) first, then a key service that could not answer (an entry's outcome is unknown:
 * retry), then a data key the commitment refuses, then an entry for the key that does not unwrap.
 * `WRONG_KEY` is what is left when nothing was recorded.
 */
export function failureRank(code: string): number {
  switch (code) {
    case 'BAD_HEADER':
      return 50
    case 'KMS_UNAVAILABLE':
    case 'KMS_FAILED':
      return 40
    case 'COMMITMENT_MISMATCH':
      return 30
    case 'TAMPERED':
      return 20
    default:
      return 10
  }
}

/**
 * An identity's way through a header: yields every candidate data key, in header order, and
 * records why an entry for it failed. A reader stops asking once a candidate passes the commitment.
 * Internal: the built-in kinds have one; a custom {@link Identity} is asked once through `unwrap`.
 */
export type Candidates = (stanzas: readonly Stanza[], failures: Failures) => AsyncGenerator<Uint8Array, void, undefined>

const CANDIDATES = new WeakMap<Identity, Candidates>()

/**
 * Builds an {@link Identity} from its candidates. Its public `unwrap` returns the first candidate
 * (unchecked, as the interface always did) or throws the most specific failure when there is none.
 */
export function identityFrom(candidates: Candidates): Identity {
  const identity: Identity = {
    async unwrap(stanzas) {
      const failures = new Failures()
      for await (const dek of candidates(stanzas, failures)) return dek
      const worst = failures.worst
      if (worst !== null) throw worst
      return null
    },
  }
  CANDIDATES.set(identity, candidates)
  return identity
}

/** The candidates of any identity: its own for the built-in kinds, one `unwrap` call otherwise. */
export function candidatesOf(identity: Identity): Candidates {
  return (
    CANDIDATES.get(identity) ??
    async function* (stanzas, failures) {
      let dek: Uint8Array | null
      try {
        dek = await identity.unwrap(stanzas)
      } catch (error) {
        // A typed failure of a custom kind ranks like ours; anything else is a bug, not an object's fault.
        if (error instanceof BucketsealError) {
          failures.record(error)
          return
        }
        throw error
      }
      if (dek !== null) yield dek
    }
  )
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
/** PBKDF2 iterations a passphrase entry has at least (OWASP 2023 for PBKDF2-SHA-256); the default. */
export const MIN_PBKDF2_ITERATIONS = 600_000
/**
 * PBKDF2 iterations a passphrase entry has at most, for writers and readers alike. The reader's
 * bound is what matters: the iteration count is written by whoever wrote the header, and a reader
 * that ran any count a hostile header asks for could be kept busy for hours.
 *
 * How much a phone can afford. Measured on the 2-core AMD EPYC development server (WebCrypto
 * PBKDF2-SHA-256, median of 5 runs of 1,000,000 iterations, two sessions;
 * `node packages/core/scripts/bench-pbkdf2.mjs`): Node 20.20 5.5 to 6.1 million iterations per
 * second, Chromium 156 7.5 to 8.6 million. No phone was measured: we assume a tenth of the slower
 * figure, 0.5 million per second, for a low-end Android phone (about the second that password
 * managers report for 600,000 iterations on phones). Then 2,000,000 iterations cost about 4 s on
 * such a phone (0.3 s here): slow, but a user who chose it for one entry waits it out. The former
 * bound, 20,000,000, was 40 s on that phone for a single entry, and 8 entries of it over 5 minutes.
 */
export const MAX_PBKDF2_ITERATIONS = 2_000_000
const PBKDF2_SALT_LENGTH = 16
/**
 * Passphrase entries a reader tries at most. Each try costs a full PBKDF2 run, so a hostile header
 * listing hundreds of them could otherwise keep a reader busy for hours; honest objects have one or two.
 */
export const MAX_PASSPHRASE_TRIES = 8
/**
 * PBKDF2 iterations a reader runs at most per open, over all the passphrase entries it tries: eight
 * entries at the default count. With {@link MAX_PBKDF2_ITERATIONS} alone, eight tries could cost
 * 16 million iterations (about 30 s on the phone assumed there); this caps the worst a hostile
 * header can do at about 10 s on that phone (0.6 to 0.9 s here).
 */
export const MAX_PASSPHRASE_WORK = 8 * MIN_PBKDF2_ITERATIONS

function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof CryptoKey !== 'undefined' && value instanceof CryptoKey
}

function isPassphrase(value: unknown): value is Passphrase {
  return typeof value === 'object' && value !== null && 'passphrase' in value
}

function isKeyPair(value: unknown): value is CryptoKeyPair {
  return typeof value === 'object' && value !== null && 'privateKey' in value && 'publicKey' in value
}

/**
 * The key id (hex) a stanza is labelled with: the first 16 bytes of an RSA, AES-KW or KMS entry's
 * body, whether or not the rest is well-formed (it is a label, FORMAT.md §4). `null` for other kinds
 * and for bodies shorter than 16 bytes.
 */
export function stanzaKeyId(stanza: Stanza): string | null {
  if (KEYED_TYPES.has(stanza.type) && stanza.body.length >= KEY_ID_LENGTH) {
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
 * Every entry is tried (FORMAT.md §4, "Opening"); `openObject` checks each against the commitment.
 *
 * @throws {InvalidArgumentError} not an RSA-OAEP SHA-256 private key with the "decrypt" usage.
 * @throws {TamperedError} (from `unwrap`) no entry opened and one with this key id has the wrong
 *   length or does not decrypt.
 * @example
 * const plain = await decrypt(sealed, rsaIdentity(pair.privateKey, pair.publicKey))
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
      // WebKitGTK's RSA-OAEP decrypt drops the message's leading zero bytes (about one data key in
      // 256 starts with 0x00). OAEP has checked the padding already and the key commitment checks
      // the result, so restoring the zeros is safe; anything else of the wrong length is not ours.
      if (dek.length < DEK_LENGTH && dek.length >= DEK_LENGTH - 4) {
        const padded = new Uint8Array(DEK_LENGTH)
        padded.set(dek, DEK_LENGTH - dek.length)
        dek.fill(0)
        return padded
      }
      return dek.length === DEK_LENGTH ? dek : null
    } catch {
      return null
    }
  }
  const tampered = (id: Uint8Array, why: string): TamperedError =>
    new TamperedError(`The recipient entry for key id ${toHex(id)} ${why}: it was modified.`)
  return identityFrom(async function* (stanzas, failures) {
    if (publicKey === undefined) {
      // Without the public key the key id is unknown: every entry of this key's size may be ours,
      // and one that does not decrypt is someone else's, not a modified one.
      for (const s of stanzas) {
        if (s.type !== StanzaType.RSA_OAEP_256 || s.body.length !== KEY_ID_LENGTH + wrappedLength) continue
        const dek = await open(s.body)
        if (dek !== null) yield dek
      }
      return
    }
    const id = fromHex(await rsaKeyId(publicKey))
    for (const s of stanzas) {
      if (s.type !== StanzaType.RSA_OAEP_256 || s.body.length < KEY_ID_LENGTH || !equalBytes(s.body.subarray(0, KEY_ID_LENGTH), id)) continue
      if (s.body.length !== KEY_ID_LENGTH + wrappedLength) {
        failures.record(tampered(id, `has ${s.body.length - KEY_ID_LENGTH} bytes of wrapped key, not ${wrappedLength}`))
        continue
      }
      const dek = await open(s.body)
      if (dek === null) failures.record(tampered(id, 'does not unwrap'))
      else yield dek
    }
  })
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

/**
 * A 256-bit AES-KW key as an identity: opens the stanzas carrying its key id, every one of them
 * (FORMAT.md §4, "Opening").
 *
 * @throws {InvalidArgumentError} not a 256-bit AES-KW key with both wrap usages.
 * @throws {TamperedError} (from `unwrap`) no entry opened and one with this key id has the wrong
 *   length or fails AES-KW's integrity check.
 * @example
 * const plain = await decrypt(sealed, aesKwIdentity(kek))
 */
export function aesKwIdentity(kek: CryptoKey): Identity {
  checkAesKwKey(kek)
  return identityFrom(async function* (stanzas, failures) {
    const id = fromHex(await aesKwKeyId(kek))
    for (const s of stanzas) {
      if (s.type !== StanzaType.AES_KW_256 || s.body.length < KEY_ID_LENGTH || !equalBytes(s.body.subarray(0, KEY_ID_LENGTH), id)) continue
      const dek = s.body.length === KEY_ID_LENGTH + WRAPPED_DEK_LENGTH ? await kwUnwrap(kek, s.body.subarray(KEY_ID_LENGTH)) : null
      if (dek === null) failures.record(new TamperedError(`The recipient entry for key id ${toHex(id)} does not unwrap: it was modified.`))
      else yield dek
    }
  })
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

/**
 * A passphrase as an identity: tries the passphrase stanzas in header order (they carry no key id),
 * at most {@link MAX_PASSPHRASE_TRIES} of them and {@link MAX_PASSPHRASE_WORK} PBKDF2 iterations in
 * all. An entry asking for more than {@link MAX_PBKDF2_ITERATIONS} is never run.
 *
 * @throws {InvalidArgumentError} an empty passphrase.
 * @throws {BadHeaderError} (from `unwrap`) no entry opened and the header asked for more work than a
 *   reader does: an entry over {@link MAX_PBKDF2_ITERATIONS}, or more entries than the caps allow.
 *   No honest writer produces such a header, so this is neither "wrong passphrase" nor retryable.
 * @example
 * const plain = await decrypt(sealed, passphraseIdentity({ passphrase: 'for emergencies' }))
 */
export function passphraseIdentity(p: Passphrase): Identity {
  checkPassphrase(p)
  return identityFrom(async function* (stanzas, failures) {
    let tries = 0
    let work = 0
    // Why an entry was not run; it counts only if nothing opens, so a hostile extra entry cannot
    // hide an honest one. Entries skipped or refused do not count toward the tries.
    let refused: string | null = null
    for (const s of stanzas) {
      if (s.type !== StanzaType.PASSPHRASE || s.body.length !== PBKDF2_SALT_LENGTH + 4 + WRAPPED_DEK_LENGTH) continue
      const iterations = new DataView(s.body.buffer, s.body.byteOffset, s.body.length).getUint32(PBKDF2_SALT_LENGTH)
      // Too few is cheap to run but not worth it: no writer of this format produces it.
      if (iterations < MIN_PBKDF2_ITERATIONS) continue
      if (iterations > MAX_PBKDF2_ITERATIONS) {
        refused ??= `a passphrase entry asks for ${iterations} PBKDF2 iterations, more than the ${MAX_PBKDF2_ITERATIONS} a reader runs`
        continue
      }
      if (tries + 1 > MAX_PASSPHRASE_TRIES || work + iterations > MAX_PASSPHRASE_WORK) {
        refused ??= `the header has more passphrase entries than a reader tries (at most ${MAX_PASSPHRASE_TRIES}, and ${MAX_PASSPHRASE_WORK} PBKDF2 iterations in all)`
        break
      }
      tries++
      work += iterations
      const kek = await passphraseKek(p.passphrase, s.body.subarray(0, PBKDF2_SALT_LENGTH), iterations)
      // A wrong passphrase and a modified entry look the same to AES-KW: neither is recorded.
      const dek = await kwUnwrap(kek, s.body.subarray(PBKDF2_SALT_LENGTH + 4))
      if (dek !== null) yield dek
    }
    if (refused !== null) {
      failures.record(new BadHeaderError(`Not opened with this passphrase: ${refused}. No honest writer makes such a header; it was refused without running it.`))
    }
  })
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
