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
 * Never seal two different plaintexts at the same index of the same object: the nonce would repeat,
 * which breaks AES-GCM's confidentiality and integrity for that object.
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
  return sealChunk(objectKey, index, plaintext, last)
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
