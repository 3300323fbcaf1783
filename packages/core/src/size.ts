/**
 * Size and range math for the chunked layout. Pure functions: no crypto, no I/O.
 *
 * An object is `header ‖ chunk 0 ‖ … ‖ chunk n−1`. Every chunk but the last carries exactly
 * `chunkSize` plaintext bytes; the last carries 1 to `chunkSize` (0 only for an empty object, which
 * still has one chunk). Each chunk adds a 16-byte tag.
 */
import { aint } from './bytes.js'
import { InvalidArgumentError } from './errors.js'
import { MAX_CHUNK_SIZE, MAX_CHUNKS, MIN_CHUNK_SIZE, TAG_LENGTH, isValidChunkSize } from './header.js'

/** Where an object's chunks are: enough to turn plaintext offsets into ciphertext offsets. */
export interface Layout {
  /** Bytes of header before chunk 0 (0 to address the chunk body alone). */
  readonly headerLength: number
  readonly chunkSize: number
  readonly plaintextLength: number
}

/** The chunks and ciphertext bytes that cover a plaintext range. */
export interface RangePlan {
  /** First chunk to fetch; equals `endChunk` when the range is empty. */
  readonly startChunk: number
  /** One past the last chunk to fetch. */
  readonly endChunk: number
  /** Ciphertext byte range to fetch, `[ciphertextStart, ciphertextEnd)` within the object. */
  readonly ciphertextStart: number
  readonly ciphertextEnd: number
  /** Plaintext bytes to drop from the front of the first chunk. */
  readonly skip: number
  /** Plaintext bytes in the range: `end − start`. */
  readonly length: number
}

function checkChunkSize(chunkSize: number): void {
  if (!isValidChunkSize(chunkSize)) {
    throw new InvalidArgumentError(
      `chunkSize must be a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}, got ${String(chunkSize)}.`,
    )
  }
}

/**
 * Number of chunks of an object of `plaintextLength` bytes (at least 1).
 * @throws {InvalidArgumentError} bad sizes, or more than 2^32 chunks.
 * @example chunkCount(65536, 65536) // 1
 */
export function chunkCount(plaintextLength: number, chunkSize: number): number {
  checkChunkSize(chunkSize)
  aint(plaintextLength, 'plaintextLength', 0, Number.MAX_SAFE_INTEGER)
  const n = Math.max(1, Math.ceil(plaintextLength / chunkSize))
  if (n > MAX_CHUNKS) throw new InvalidArgumentError(`An object of ${plaintextLength} bytes needs more than 2^32 chunks of ${chunkSize} bytes.`)
  return n
}

/**
 * Ciphertext size of an object: header plus plaintext plus one tag per chunk.
 * @example ciphertextSize(100_000, 65536, 512) // 512 + 100000 + 2 * 16
 */
export function ciphertextSize(plaintextLength: number, chunkSize: number, headerLength = 0): number {
  aint(headerLength, 'headerLength', 0, Number.MAX_SAFE_INTEGER)
  return headerLength + plaintextLength + chunkCount(plaintextLength, chunkSize) * TAG_LENGTH
}

/**
 * Plaintext size of an object from its ciphertext size, or `null` when no object of that size can
 * exist (a cut inside a tag, or an empty final chunk after full ones).
 * @example plaintextSize(512 + 100032, 65536, 512) // 100000
 */
export function plaintextSize(ciphertextLength: number, chunkSize: number, headerLength = 0): number | null {
  checkChunkSize(chunkSize)
  aint(ciphertextLength, 'ciphertextLength', 0, Number.MAX_SAFE_INTEGER)
  aint(headerLength, 'headerLength', 0, Number.MAX_SAFE_INTEGER)
  const body = ciphertextLength - headerLength
  if (body < TAG_LENGTH) return null
  const unit = chunkSize + TAG_LENGTH
  const full = Math.floor(body / unit)
  const rest = body - full * unit
  if (rest === 0) return full * chunkSize
  if (rest < TAG_LENGTH || (rest === TAG_LENGTH && full > 0)) return null
  return full * chunkSize + rest - TAG_LENGTH
}

/** Offset of chunk `index` within the object. */
export function chunkOffset(layout: Layout, index: number): number {
  return layout.headerLength + index * (layout.chunkSize + TAG_LENGTH)
}

/**
 * Plans a ranged read of plaintext bytes `[start, end)`: which chunks to fetch, which ciphertext
 * bytes they occupy, and how much of the first chunk's plaintext to skip.
 *
 * @throws {InvalidArgumentError} `start > end`, or `end` past the plaintext length.
 * @example
 * const plan = planRange({ headerLength: 512, chunkSize: 65536, plaintextLength: 1e6 }, 70000, 70010)
 * // plan.startChunk === 1, plan.endChunk === 2, plan.skip === 4464
 */
export function planRange(layout: Layout, start: number, end: number): RangePlan {
  const total = layout.plaintextLength
  const count = chunkCount(total, layout.chunkSize)
  aint(layout.headerLength, 'headerLength', 0, Number.MAX_SAFE_INTEGER)
  aint(end, 'end', 0, total)
  aint(start, 'start', 0, end)
  if (start === end) {
    const at = Math.min(Math.floor(start / layout.chunkSize), count)
    const offset = chunkOffset(layout, at)
    return { startChunk: at, endChunk: at, ciphertextStart: offset, ciphertextEnd: offset, skip: 0, length: 0 }
  }
  const startChunk = Math.floor(start / layout.chunkSize)
  const endChunk = Math.ceil(end / layout.chunkSize)
  const lastPlain = Math.min(endChunk * layout.chunkSize, total) - (endChunk - 1) * layout.chunkSize
  return {
    startChunk,
    endChunk,
    ciphertextStart: chunkOffset(layout, startChunk),
    ciphertextEnd: chunkOffset(layout, endChunk - 1) + lastPlain + TAG_LENGTH,
    skip: start - startChunk * layout.chunkSize,
    length: end - start,
  }
}
