/** Decrypting a plaintext range from the ciphertext of the chunks that cover it. */
import { abytes } from './bytes.js'
import { type ObjectKey, checkKeyUsage, openChunk, tryOpenChunk } from './chunk.js'
import { InvalidArgumentError, TamperedError, TruncatedError } from './errors.js'
import { TAG_LENGTH } from './header.js'
import { type Layout, chunkCount, planRange } from './size.js'

/**
 * Decrypts plaintext bytes `[start, end)` of an object from `ciphertext`, the object's bytes
 * `[plan.ciphertextStart, plan.ciphertextEnd)` as given by {@link planRange}. Every covering chunk is
 * authenticated (including whether it is the last one) before any byte of it is returned.
 *
 * @throws {TamperedError} a covering chunk failed authentication.
 * @throws {TruncatedError} `ciphertext` is shorter than the planned range.
 * @throws {InvalidArgumentError} a bad range, or a key whose chunk size differs from `layout`.
 * @example
 * const plan = planRange(layout, 1000, 2000)
 * const bytes = await fetchRange(plan.ciphertextStart, plan.ciphertextEnd)
 * const plain = await decryptRange(key, layout, 1000, 2000, bytes)
 */
export async function decryptRange(key: ObjectKey, layout: Layout, start: number, end: number, ciphertext: Uint8Array): Promise<Uint8Array> {
  checkKeyUsage(key, 'decrypt')
  abytes(ciphertext, 'ciphertext')
  if (key.chunkSize !== layout.chunkSize) throw new InvalidArgumentError('layout.chunkSize differs from the key\'s chunk size.')
  if (key.plaintextLength !== null && key.plaintextLength !== layout.plaintextLength) {
    throw new InvalidArgumentError('layout.plaintextLength differs from the length recorded in the header.')
  }
  const plan = planRange(layout, start, end)
  const expected = plan.ciphertextEnd - plan.ciphertextStart
  if (ciphertext.length < expected) throw new TruncatedError(`The range needs ${expected} ciphertext bytes, got ${ciphertext.length}.`)
  if (ciphertext.length > expected) throw new InvalidArgumentError(`The range needs ${expected} ciphertext bytes, got ${ciphertext.length}.`)
  const count = chunkCount(layout.plaintextLength, layout.chunkSize)
  const unit = layout.chunkSize + TAG_LENGTH
  const jobs: Promise<Uint8Array>[] = []
  for (let i = plan.startChunk; i < plan.endChunk; i++) {
    const from = (i - plan.startChunk) * unit
    jobs.push(openChunk(key, i, ciphertext.subarray(from, Math.min(from + unit, ciphertext.length)), i === count - 1))
  }
  // Every chunk is opened in parallel, but the error is the lowest failing index's (FORMAT.md §5,
  // "Reading a range"): Promise.all would give whichever failed first in time.
  const settled = await Promise.allSettled(jobs)
  const chunks: Uint8Array[] = []
  for (const r of settled) {
    if (r.status === 'fulfilled') chunks.push(r.value)
    else await onFailure(r.reason)
  }
  async function onFailure(e: unknown): Promise<never> {
    // Without a recorded length, the last chunk is known only from the object's size. If the chunk
    // taken as last opens as an ordinary chunk, the object was cut at a chunk boundary.
    if (e instanceof TamperedError && e.chunkIndex === count - 1 && key.plaintextLength === null) {
      const from = (count - 1 - plan.startChunk) * unit
      const tail = ciphertext.subarray(from, Math.min(from + unit, ciphertext.length))
      if (tail.length === unit && (await tryOpenChunk(key, count - 1, tail, false)) !== null) {
        throw new TruncatedError(`The object ends after chunk ${count - 1}, which is not its final chunk.`)
      }
    }
    throw e
  }
  const out = new Uint8Array(plan.length)
  let written = 0
  let skip = plan.skip
  for (const c of chunks) {
    if (c.length === 0 && count > 1) throw new TamperedError('The object ends with an empty chunk, which encryptors never write.', count - 1)
    const piece = c.subarray(skip, skip + (plan.length - written))
    out.set(piece, written)
    written += piece.length
    skip = 0
  }
  return out
}
