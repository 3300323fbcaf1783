/**
 * Creating and opening objects: the header, the data key and its wraps, the key commitment.
 * This is the layer the one-shot, streaming and Worker APIs are built on.
 */
import { equalBytes, randomBytes } from './bytes.js'
import { type ObjectKey, openMetadataBytes, sealMetadataBytes } from './chunk.js'
import { CommitmentMismatchError, InvalidArgumentError, WrongKeyError } from './errors.js'
import {
  type Header,
  FLAG_SEALED_METADATA,
  MAX_RECIPIENTS,
  NONCE_PREFIX_LENGTH,
  SALT_LENGTH,
  encodeHeader,
  encodePreamble,
  parseHeader,
} from './header.js'
import { deriveKeys } from './kdf.js'
import { type ObjectMetadata, decodeMetadata, encodeMetadata } from './metadata.js'
import { Failures, type IdentityInput, type RecipientInput, StanzaType, candidatesOf, generateDek, stanzaKeyId, toIdentity, toRecipient } from './recipients.js'
import { chunkCount } from './size.js'

/**
 * 256 KiB. In Chromium, WebCrypto AES-GCM runs on the calling thread with a fixed cost of about
 * 10 µs a call: throughput peaks at 128-512 KiB calls and halves from 1 MiB (docs/BENCHMARKS.md).
 * 256 KiB sits in the middle of the peak, and still lets a ranged read fetch little it does not need.
 */
export const DEFAULT_CHUNK_SIZE = 1 << 18

export interface CreateObjectOptions {
  /** Who can open the object: one or more keys, passphrases or custom recipients. */
  readonly recipients: readonly RecipientInput[]
  /** Plaintext bytes per chunk: a power of two from 1 KiB to 16 MiB. Default 256 KiB. */
  readonly chunkSize?: number
  /** The plaintext length if known. Recorded and authenticated in the header. */
  readonly plaintextLength?: number | null
  /** Private metadata sealed into the header (file name, type, …). */
  readonly metadata?: ObjectMetadata
}

/** A new object's header and the key material to seal its chunks. */
export interface CreatedObject {
  /** The header bytes: write them first, then the chunks. */
  readonly header: Uint8Array
  /** Content key for {@link encryptChunk}; cloneable to Workers; no raw key bytes inside. */
  readonly key: ObjectKey
}

/** An opened object: its parsed header, key and private metadata. */
export interface OpenedObject {
  readonly header: Header
  readonly key: ObjectKey
  readonly metadata: ObjectMetadata | null
}

/**
 * Starts a new object: draws a fresh data key, derives its content key and commitment, wraps the
 * data key for every recipient and builds the header. The data key is dropped before returning.
 *
 * @throws {InvalidArgumentError} no recipients, a bad chunk size or length, oversized metadata.
 * @example
 * const { header, key } = await createObject({ recipients: [publicKey], plaintextLength: file.size })
 */
export async function createObject(options: CreateObjectOptions): Promise<CreatedObject> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object.')
  const { recipients } = options
  if (!Array.isArray(recipients) || recipients.length === 0) {
    throw new InvalidArgumentError('options.recipients must list at least one recipient.')
  }
  if (recipients.length > MAX_RECIPIENTS) throw new InvalidArgumentError(`At most ${MAX_RECIPIENTS} recipients are allowed.`)
  const wrappers = recipients.map(toRecipient)
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE
  const plaintextLength = options.plaintextLength ?? null
  if (plaintextLength !== null) chunkCount(plaintextLength, chunkSize)
  else chunkCount(0, chunkSize)
  const metadata = options.metadata === undefined ? null : encodeMetadata(options.metadata)

  const dek = generateDek()
  try {
    const salt = randomBytes(SALT_LENGTH)
    const noncePrefix = randomBytes(NONCE_PREFIX_LENGTH)
    // The flag binds the metadata's presence into the key derivation (FORMAT.md §2, flags).
    const flags = metadata === null ? 0 : FLAG_SEALED_METADATA
    const preamble = encodePreamble({ flags, chunkSize, plaintextLength, salt, noncePrefix })
    const { contentKey, commitment } = await deriveKeys(dek, salt, preamble, 'encrypt')
    const key: ObjectKey = { key: contentKey, noncePrefix, chunkSize, plaintextLength }
    const stanzas = await Promise.all(wrappers.map((r) => r.wrap(dek)))
    const sealedMetadata = metadata === null ? new Uint8Array(0) : await sealMetadataBytes(key, metadata)
    const header = encodeHeader({ flags, chunkSize, plaintextLength, salt, noncePrefix, commitment, sealedMetadata, recipients: stanzas })
    return { header, key }
  } finally {
    dek.fill(0)
  }
}

/**
 * Opens an object's header with the caller's key(s): finds the recipient entry for a key, unwraps the
 * data key, checks it against the key commitment (before any chunk is touched), derives the content
 * key and opens the private metadata.
 *
 * @param bytes the object's first bytes: at least its whole header (more is fine).
 * Every key and every entry is tried before failing (a forged entry placed first does not stop a
 * genuine one); when none opens, the error is the most specific seen, in FORMAT.md §4's order.
 *
 * @throws {WrongKeyError} no key opens a recipient entry (names the key ids the object is for).
 * @throws {CommitmentMismatchError} a recipient opened to a data key the header does not commit to.
 * @throws {KmsError} a key service could not answer for an entry (`KMS_UNAVAILABLE`, `KMS_FAILED`).
 * @throws {BadHeaderError} | {UnsupportedVersionError} | {TruncatedError} | {TamperedError}
 * @example
 * const { key, metadata } = await openObject(firstBytes, keyPair)
 */
export async function openObject(bytes: Uint8Array, keys: IdentityInput | readonly IdentityInput[]): Promise<OpenedObject> {
  const header = parseHeader(bytes)
  return openHeader(header, keys)
}

/** {@link openObject} for a header that is already parsed. */
export async function openHeader(header: Header, keys: IdentityInput | readonly IdentityInput[]): Promise<OpenedObject> {
  return withDataKey(header, keys, async (_dek, contentKey) => {
    const key: ObjectKey = {
      key: contentKey,
      noncePrefix: header.noncePrefix,
      chunkSize: header.chunkSize,
      plaintextLength: header.plaintextLength,
    }
    const metadata = header.sealedMetadata.length === 0 ? null : decodeMetadata(await openMetadataBytes(key, header.sealedMetadata))
    return { header, key, metadata }
  })
}

/**
 * Finds a recipient entry one of `keys` opens, checks the data key against the header's commitment,
 * and runs `use` with it. The data key is zeroed when `use` settles: callers never keep it.
 * Internal: the one place where a data key leaves a recipient kind.
 */
export async function withDataKey<T>(
  header: Header,
  keys: IdentityInput | readonly IdentityInput[],
  use: (dek: Uint8Array, contentKey: CryptoKey) => Promise<T>,
): Promise<T> {
  // No keys at all (a browser whose store is empty) is the plainest wrong key: the error then names
  // the key ids the object needs, which is what an app must tell its user.
  const list = Array.isArray(keys) ? keys : [keys]
  const identities = list.map(toIdentity)
  // FORMAT.md §4, "Opening": every key given and every entry for it is tried before failing, so a
  // forged or damaged entry placed first cannot hide a genuine one; what is reported when nothing
  // opens is the most specific failure seen.
  const failures = new Failures()
  for (const identity of identities) {
    for await (const dek of candidatesOf(identity)(header.recipients, failures)) {
      try {
        const { contentKey, commitment } = await deriveKeys(dek, header.salt, header.preamble, 'decrypt')
        if (!equalBytes(commitment, header.commitment)) {
          failures.record(new CommitmentMismatchError())
          continue
        }
        return await use(dek, contentKey)
      } finally {
        dek.fill(0)
      }
    }
  }
  const worst = failures.worst
  if (worst !== null) throw worst
  // Labels, not proof: every entry's key id, once each, in header order (FORMAT.md §4, "Wrong key").
  const ids = [...new Set(header.recipients.map(stanzaKeyId).filter((id): id is string => id !== null))]
  const passphrases = header.recipients.filter((s) => s.type === StanzaType.PASSPHRASE).length
  throw new WrongKeyError(ids, passphrases > 0 ? `It also has ${passphrases} passphrase recipient(s).` : undefined)
}
