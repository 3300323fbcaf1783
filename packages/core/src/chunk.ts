/**
 * Chunk-level sealing: encrypt or decrypt chunk i of an object on its own, so Workers can seal parts
 * of one object in parallel and a range can be decrypted without the rest (FORMAT.md, "Chunks").
 */
import { abytes, aint, buf } from './bytes.js'
import { InvalidArgumentError, TamperedError } from './errors.js'
import { MAX_CHUNKS, NONCE_PREFIX_LENGTH, TAG_LENGTH } from './header.js'
import { chunkCount } from './size.js'

/**
 * What a Worker needs to seal or open chunks of one object. Structured-cloneable (the `CryptoKey`
 * is non-extractable but can be posted to a Worker); it holds no raw key bytes.
 */
export interface ObjectKey {
  /** AES-256-GCM content key derived for this object; non-extractable. */
  readonly key: CryptoKey
  readonly noncePrefix: Uint8Array
  readonly chunkSize: number
  /** Plaintext length when the header records it; `null` for objects streamed without a length. */
  readonly plaintextLength: number | null
}

const LAST_FLAG = 1
/** Flag byte of the private-metadata nonce: never 0 or 1, so no chunk nonce can equal it. */
const METADATA_FLAG = 2

/** prefix (7) ‖ uint32 BE counter ‖ flag: the STREAM nonce of Hoang, Reyhanitabar, Rogaway, Vizár. */
function nonce(prefix: Uint8Array, counter: number, flag: number): Uint8Array<ArrayBuffer> {
  const n = new Uint8Array(12)
  n.set(prefix, 0)
  new DataView(n.buffer).setUint32(NONCE_PREFIX_LENGTH, counter)
  n[11] = flag
  return n
}

/**
 * A writer's content key (from `createObject`) only seals and a reader's (from `openObject`) only
 * opens (kdf.ts): say which one this is, rather than let WebCrypto throw an untyped error.
 * @throws {InvalidArgumentError}
 */
export function checkKeyUsage(objectKey: ObjectKey, usage: 'encrypt' | 'decrypt'): void {
  const key: unknown = objectKey.key
  if (typeof CryptoKey !== 'undefined' && !(key instanceof CryptoKey)) throw new InvalidArgumentError('objectKey.key must be a CryptoKey from createObject or openObject.')
  if (!objectKey.key.usages.includes(usage)) {
    throw new InvalidArgumentError(
      usage === 'encrypt'
        ? 'This object key opens an object (it came from openObject): it cannot seal chunks. Only the writer of an object, with the key from createObject, seals.'
        : 'This object key seals a new object (it came from createObject): it cannot open chunks. Open the object with openObject.',
    )
  }
}

function checkPosition(objectKey: ObjectKey, index: number, last: boolean, plaintextLength: number | undefined): void {
  aint(index, 'index', 0, MAX_CHUNKS - 1)
  if (typeof last !== 'boolean') throw new InvalidArgumentError('last must be a boolean.')
  const total = objectKey.plaintextLength
  if (total === null) return
  const count = chunkCount(total, objectKey.chunkSize)
  if (index >= count) {
    throw new InvalidArgumentError(`Chunk index ${index} is past the end of this object (${count} chunks).`)
  }
  if (last !== (index === count - 1)) {
    throw new InvalidArgumentError(`Chunk ${index} ${last ? 'is not' : 'is'} the last chunk of this object.`)
  }
  if (plaintextLength !== undefined) {
    const expected = index === count - 1 ? total - index * objectKey.chunkSize : objectKey.chunkSize
    if (plaintextLength !== expected) {
      throw new InvalidArgumentError(`Chunk ${index} must hold ${expected} bytes of plaintext, got ${plaintextLength}.`)
    }
  }
}

/**
 * Seals chunk `index` of an object. Every chunk but the last holds exactly `chunkSize` bytes; the last
 * holds 1 to `chunkSize` bytes (0 only when the whole object is empty).
 *
 * Stateless: it does not remember what it sealed. Never seal two different plaintexts at the same
 * index of the same object: the nonce would repeat, which breaks AES-GCM's confidentiality and
 * integrity for that object. {@link chunkSealer} refuses a repeated index for you.
 *
 * @param plaintext read, not kept; the result is a new buffer of `plaintext.length + 16` bytes.
 * @throws {InvalidArgumentError} wrong chunk size, index or last flag for this object.
 * @example
 * const sealed = await encryptChunk(objectKey, 0, firstChunk, false)
 */
export async function encryptChunk(
  objectKey: ObjectKey,
  index: number,
  plaintext: Uint8Array,
  last: boolean,
): Promise<Uint8Array> {
  checkChunk(objectKey, index, plaintext, last)
  return sealChunk(objectKey, index, plaintext, last)
}

/** The argument checks of {@link encryptChunk}, synchronous so a sealer can check before it records. */
function checkChunk(objectKey: ObjectKey, index: number, plaintext: Uint8Array, last: boolean): void {
  checkKeyUsage(objectKey, 'encrypt')
  abytes(plaintext, 'plaintext')
  checkPosition(objectKey, index, last, plaintext.length)
  const size = objectKey.chunkSize
  if (last ? plaintext.length > size || (plaintext.length === 0 && index > 0) : plaintext.length !== size) {
    throw new InvalidArgumentError(
      last
        ? `The last chunk must hold 1 to ${size} bytes (0 only for an empty object), got ${plaintext.length}.`
        : `A chunk that is not the last must hold exactly ${size} bytes, got ${plaintext.length}.`,
    )
  }
}

/** Options of {@link chunkSealer}. */
export interface ChunkSealerOptions {
  /**
   * The chunk indexes this sealer may seal, `[start, end)`; default all of them. Give each Worker its
   * own range when several seal parts of one object: sealers do not share what they have sealed, so
   * two of them over the same indexes could each seal an index once.
   */
  readonly indexes?: { readonly start: number; readonly end: number }
}

/** A chunk writer that seals each index of one object at most once. */
export interface ChunkSealer {
  /**
   * Seals chunk `index`, as {@link encryptChunk} does, and records the index before sealing: a
   * second call with the same index (even while the first is still running, even with the same
   * bytes or another last flag) is refused. An index whose sealing failed stays taken.
   *
   * @param plaintext read, not kept; the result is a new buffer of `plaintext.length + 16` bytes.
   * @throws {InvalidArgumentError} the index was sealed before by this sealer, is outside its
   *   `indexes`, follows a chunk sealed as last, or any check of {@link encryptChunk} fails.
   */
  seal(index: number, plaintext: Uint8Array, last: boolean): Promise<Uint8Array>
  /** True when this sealer has sealed (or started sealing) chunk `index`. */
  has(index: number): boolean
}

/**
 * A stateful chunk writer for one object: {@link encryptChunk} that refuses an index it has sealed
 * before. {@link encryptChunk} is stateless and trusts its caller never to seal two plaintexts at
 * one index, which would repeat an AES-GCM nonce and give away both chunks' XOR and the ability to
 * forge chunks of the object. A writer that retries, resumes, or hands indexes to Workers should
 * seal through one of these instead.
 *
 * The record is per sealer, in memory: about a bit per chunk sealed (a 1 TiB object of 256 KiB
 * chunks, about 2 MB). It cannot stop a second sealer, another process or a resumed upload from sealing
 * an index again with the same key; keep one sealer per object and process, and partition indexes
 * between Workers with `indexes`.
 *
 * @throws {InvalidArgumentError} `indexes` not a range of chunk indexes.
 * @example
 * const { header, key } = await createObject({ recipients, plaintextLength: file.size })
 * const sealer = chunkSealer(key)
 * const first = await sealer.seal(0, firstChunk, false)
 * await sealer.seal(0, otherBytes, false) // InvalidArgumentError: chunk 0 was sealed before
 */
export function chunkSealer(objectKey: ObjectKey, options: ChunkSealerOptions = {}): ChunkSealer {
  const known = objectKey.plaintextLength === null ? MAX_CHUNKS : chunkCount(objectKey.plaintextLength, objectKey.chunkSize)
  const start = options.indexes === undefined ? 0 : aint(options.indexes.start, 'indexes.start', 0, MAX_CHUNKS - 1)
  const end = options.indexes === undefined ? known : aint(options.indexes.end, 'indexes.end', start + 1, MAX_CHUNKS)
  const sealed = new IndexSet()
  // For objects of unknown length, the index of the chunk sealed as last: nothing may follow it,
  // and no second chunk may claim to be last (either would let a reader stop at the wrong end).
  let lastIndex: number | null = null
  return {
    async seal(index, plaintext, last) {
      checkChunk(objectKey, index, plaintext, last)
      if (index < start || index >= end) throw new InvalidArgumentError(`Chunk index ${index} is outside this sealer's indexes [${start}, ${end}).`)
      if (sealed.has(index)) {
        throw new InvalidArgumentError(`Chunk ${index} of this object was sealed before: sealing it again would reuse its nonce. Seal each index once.`)
      }
      if (lastIndex !== null && (last || index > lastIndex)) {
        throw new InvalidArgumentError(`Chunk ${lastIndex} was sealed as the last chunk of this object: chunk ${index} cannot ${last ? 'be last too' : 'follow it'}.`)
      }
      sealed.add(index)
      if (last) lastIndex = index
      return sealChunk(objectKey, index, plaintext, last)
    },
    has(index) {
      return Number.isSafeInteger(index) && index >= 0 && sealed.has(index)
    },
  }
}

/**
 * A set of chunk indexes: 32-bit words of a bitmap, kept in a map by word number, so dense indexes
 * cost a bit each (4 million chunks, about 2 MB) and a far one costs one word, not a bitmap up to it.
 */
class IndexSet {
  readonly #words = new Map<number, number>()

  has(index: number): boolean {
    return (((this.#words.get(Math.floor(index / 32)) ?? 0) >>> index % 32) & 1) === 1
  }

  add(index: number): void {
    const word = Math.floor(index / 32)
    this.#words.set(word, (this.#words.get(word) ?? 0) | (1 << index % 32))
  }
}

/** encryptChunk without the checks, for callers (our streams) that guarantee them. */
export async function sealChunk(objectKey: ObjectKey, index: number, plaintext: Uint8Array, last: boolean): Promise<Uint8Array> {
  const iv = nonce(objectKey.noncePrefix, index, last ? LAST_FLAG : 0)
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, tagLength: 128 }, objectKey.key, buf(plaintext)))
}

/**
 * Opens chunk `index` of an object and returns its plaintext only if the tag verifies.
 *
 * @param ciphertext the chunk's bytes including its 16-byte tag; read, not kept.
 * @throws {TamperedError} the chunk is not the authentic chunk `index` (with this last flag) of the
 *   object, or has a length no chunk at this position can have.
 * @throws {InvalidArgumentError} an index or last flag that contradicts the object's recorded length.
 * @example
 * const plain = await decryptChunk(objectKey, 3, sealedChunk, false)
 */
export async function decryptChunk(
  objectKey: ObjectKey,
  index: number,
  ciphertext: Uint8Array,
  last: boolean,
): Promise<Uint8Array> {
  checkKeyUsage(objectKey, 'decrypt')
  abytes(ciphertext, 'ciphertext')
  checkPosition(objectKey, index, last, undefined)
  const max = objectKey.chunkSize + TAG_LENGTH
  if (ciphertext.length < TAG_LENGTH || ciphertext.length > max || (!last && ciphertext.length !== max)) {
    throw new TamperedError(`Chunk ${index} has an impossible length (${ciphertext.length} bytes).`, index)
  }
  return openChunk(objectKey, index, ciphertext, last)
}

/** decryptChunk without the argument checks. Throws TamperedError when the tag does not verify. */
export async function openChunk(objectKey: ObjectKey, index: number, ciphertext: Uint8Array, last: boolean): Promise<Uint8Array> {
  const iv = nonce(objectKey.noncePrefix, index, last ? LAST_FLAG : 0)
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, tagLength: 128 }, objectKey.key, buf(ciphertext)))
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'OperationError') {
      throw new TamperedError(`Chunk ${index} failed authentication: the object was modified or its chunks reordered.`, index)
    }
    throw cause
  }
}

/** Tries chunk `index` with the given flag; `null` instead of an error when the tag does not verify. */
export async function tryOpenChunk(objectKey: ObjectKey, index: number, ciphertext: Uint8Array, last: boolean): Promise<Uint8Array | null> {
  try {
    return await openChunk(objectKey, index, ciphertext, last)
  } catch (e) {
    if (e instanceof TamperedError) return null
    throw e
  }
}

/** Seals the private metadata under the content key with the reserved metadata nonce. */
export async function sealMetadataBytes(objectKey: Pick<ObjectKey, 'key' | 'noncePrefix'>, plaintext: Uint8Array): Promise<Uint8Array> {
  const iv = nonce(objectKey.noncePrefix, 0, METADATA_FLAG)
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, tagLength: 128 }, objectKey.key, buf(plaintext)))
}

export async function openMetadataBytes(objectKey: Pick<ObjectKey, 'key' | 'noncePrefix'>, sealed: Uint8Array): Promise<Uint8Array> {
  const iv = nonce(objectKey.noncePrefix, 0, METADATA_FLAG)
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, tagLength: 128 }, objectKey.key, buf(sealed)))
  } catch {
    throw new TamperedError('The sealed private metadata failed authentication.')
  }
}
