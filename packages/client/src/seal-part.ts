/**
 * Sealing and sending one part: read its slice of the File a window at a time, seal its chunks,
 * have its digest accepted (nonce safety on resume), PUT it. Runs inside a pool Worker (or inline
 * where there are none); the plaintext and ciphertext of a part never leave this function.
 *
 * Memory per part in flight: two read windows of plaintext (about 2 MiB, never the whole part), the
 * chunk seals in flight, and the part's request body: a buffer reused from part to part.
 */
import { type ObjectKey, TAG_LENGTH, encryptChunk } from '@bucketseal/core'
import { TransferError, abortError } from './errors.js'
import { type PutPartOptions, type SignedRequest, putWithRetry } from './http.js'
import { type PartPlan, partAt } from './parts.js'

/** Chunk seals in flight at once inside one part. */
const SEAL_DEPTH = 4
/**
 * Plaintext read from the file at once, rounded down to whole chunks (at least one): small against
 * a part, large enough that the per-read cost of a Blob slice stays small (docs/BENCHMARKS.md).
 */
const READ_WINDOW = 1024 * 1024

export interface PartJob {
  readonly file: Blob
  readonly plan: PartPlan
  /** 1-based part number. */
  readonly number: number
  readonly key: ObjectKey
  /** The object header: sent in front of part 1. */
  readonly header: Uint8Array
  readonly dangerouslyAllowInsecureUrls?: boolean
  readonly retries?: number
  /** See `RetryOptions.stallTimeoutMs`. */
  readonly stallTimeoutMs?: number
}

/** Calls back to the coordinating page. */
export interface PartCallbacks {
  /** A presigned request for this part; `fresh` after a refusal (expired URL). */
  sign(number: number, fresh: boolean): Promise<SignedRequest>
  /**
   * Called once the part is sealed and before any byte of it is sent, with its {@link digestPart}
   * digest. The coordinator records it, or compares it with the digest recorded when this part was
   * first sealed, and throws FILE_CHANGED if they differ: the sealed bytes are then dropped unsent,
   * since sending a second ciphertext under the same nonces would break AES-GCM.
   */
  sealed(number: number, digest: string): Promise<void>
  /** Progress of this part: plaintext bytes sealed, ciphertext bytes sent. */
  progress(number: number, sealed: number, sent: number): void
}

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Reads plaintext `[start, end)` of the file; FILE_CHANGED if the file is shorter than planned. */
async function readWindow(file: Blob, start: number, end: number, number: number): Promise<Uint8Array<ArrayBuffer>> {
  const plain = new Uint8Array(await file.slice(start, end).arrayBuffer())
  if (plain.length !== end - start) {
    throw new TransferError('FILE_CHANGED', `The file changed while it was being read (part ${number} is short).`)
  }
  return plain
}

/**
 * The plaintext windows of part `number`, in order, each read while the one before is sealed; at
 * most two are held. Each window is whole chunks of the part.
 */
async function* windowsOf(job: PartJob): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  const part = partAt(job.plan, job.number)
  const step = Math.max(1, Math.floor(READ_WINDOW / job.plan.chunkSize)) * job.plan.chunkSize
  const read = (at: number): Promise<Uint8Array<ArrayBuffer>> => readWindow(job.file, at, Math.min(at + step, part.plaintextEnd), job.number)
  let at = part.plaintextStart
  let next = read(at)
  // A part of an empty file is one empty chunk: one empty window.
  for (;;) {
    const current = await next
    at += step
    const more = at < part.plaintextEnd
    if (more) {
      next = read(at)
      // Observed at the next turn; this only stops a failure being reported as unhandled meanwhile.
      next.catch(() => undefined)
    }
    yield current
    if (!more) return
  }
}

/**
 * Reads and seals part `job.number`, handing each sealed chunk to `write` with its index in the part
 * as soon as it is sealed. Returns the part's digest: SHA-256 (hex) of its chunks' GCM tags, in order.
 *
 * Why the tags identify the plaintext (docs/SECURITY.md §5): under one content key
 * and one nonce, AES-GCM is a function of the plaintext, so the same bytes always give the same
 * tags. Two different chunks under the same key and nonce give the same tag only if they collide in
 * GHASH under a hash key nobody outside the content key knows: probability at most ⌈ℓ/16⌉ / 2¹²⁸
 * for ℓ-byte chunks, about 2⁻¹¹⁴ for 256 KiB. So equal digests mean equal plaintext except with
 * negligible probability, and a changed part is caught before anything of it leaves the Worker.
 * Unlike a plain SHA-256 of the plaintext, the digest confirms no guessed file without the key, and
 * costs nothing beyond the sealing itself.
 */
async function sealPartInto(
  job: PartJob,
  signal: AbortSignal | undefined,
  write: (sealed: Uint8Array, chunk: number) => void,
  onSealed: (plaintextBytes: number) => void,
): Promise<string> {
  const part = partAt(job.plan, job.number)
  const { chunkSize } = job.plan
  const lastChunk = Math.max(Math.ceil(job.plan.plaintextLength / chunkSize) - 1, 0)
  const tags = new Uint8Array(part.chunkCount * TAG_LENGTH)
  let sealed = 0
  let c = 0
  const inFlight: Array<Promise<void>> = []
  for await (const plain of windowsOf(job)) {
    for (let offset = 0; offset < plain.length || (offset === 0 && c < part.chunkCount); offset += chunkSize) {
      if (signal?.aborted === true) throw abortError(signal)
      const chunk = c++
      const index = part.firstChunk + chunk
      const piece = plain.subarray(offset, offset + chunkSize)
      const sealing = encryptChunk(job.key, index, piece, index === lastChunk).then((ct) => {
        tags.set(ct.subarray(ct.length - TAG_LENGTH), chunk * TAG_LENGTH)
        write(ct, chunk)
        sealed += piece.length
      })
      // Observed in order below; this only stops a later failure being reported as unhandled.
      sealing.catch(() => undefined)
      inFlight.push(sealing)
      if (inFlight.length >= SEAL_DEPTH) {
        await inFlight.shift()
        onSealed(sealed)
      }
      if (piece.length === 0) break
    }
  }
  await Promise.all(inFlight)
  if (c !== part.chunkCount) throw new TransferError('FILE_CHANGED', `The file changed while it was being read (part ${job.number}).`)
  onSealed(sealed)
  return hex(await crypto.subtle.digest('SHA-256', tags))
}

/**
 * The digest of part `job.number` as {@link uploadPart} reports it, by sealing the part again
 * without keeping or sending it: how a resumed upload proves that a finished part is still the file's.
 */
export function digestPart(job: PartJob, signal?: AbortSignal): Promise<string> {
  return sealPartInto(job, signal, () => undefined, () => undefined)
}

/**
 * Part buffers of this Worker (or page), kept for the next part. A Uint8Array request body is
 * copied when the request starts (XHR and fetch "extract a body" from a copy of the bytes), so one
 * buffer serves part after part, and the sealed chunks are copied into it as they come, at once
 * garbage: no part-sized allocation per part, and nothing part-sized left for the collector. At
 * most two are kept, for the two parts a Worker may hold while the next one is sealed.
 */
const spareBuffers: ArrayBuffer[] = []
const MAX_SPARE_BUFFERS = 2

function takeBuffer(size: number): Uint8Array<ArrayBuffer> {
  const spare = spareBuffers.pop()
  return spare !== undefined && spare.byteLength >= size ? new Uint8Array(spare, 0, size) : new Uint8Array(size)
}

function giveBack(bytes: Uint8Array<ArrayBuffer>): void {
  if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(bytes.buffer)
}

/**
 * Reads and seals part `job.number` into one buffer (header in front for part 1), after `sealed`
 * accepted its digest. The buffer is lent: `release` gives it back for the next part, once the
 * request that sends it has settled (and will not be retried).
 * @throws {TransferError} FILE_CHANGED when the file is shorter than planned (changed on disk).
 */
async function sealPart(
  job: PartJob,
  callbacks: Pick<PartCallbacks, 'sealed' | 'progress'>,
  signal: AbortSignal | undefined,
): Promise<{ body: Uint8Array<ArrayBuffer>; release: () => void }> {
  const part = partAt(job.plan, job.number)
  const headerLength = job.number === 1 ? job.header.length : 0
  const unit = job.plan.chunkSize + TAG_LENGTH
  const body = takeBuffer(part.size)
  try {
    if (headerLength > 0) body.set(job.header, 0)
    const digest = await sealPartInto(job, signal, (ct, chunk) => body.set(ct, headerLength + chunk * unit), (n) => callbacks.progress(job.number, n, 0))
    await callbacks.sealed(job.number, digest)
  } catch (e) {
    giveBack(body)
    throw e
  }
  return { body, release: () => giveBack(body) }
}

/** Seals part `job.number` and uploads it; resolves with its ETag. */
export async function uploadPart(job: PartJob, callbacks: PartCallbacks, signal?: AbortSignal, put?: PutPartOptions['put']): Promise<string> {
  const part = partAt(job.plan, job.number)
  const plainSize = part.plaintextEnd - part.plaintextStart
  const { body, release } = await sealPart(job, callbacks, signal)
  try {
    return await putWithRetry((fresh) => callbacks.sign(job.number, fresh), body, {
      signal,
      dangerouslyAllowInsecureUrls: job.dangerouslyAllowInsecureUrls,
      retries: job.retries,
      stallTimeoutMs: job.stallTimeoutMs,
      onProgress: (loaded) => callbacks.progress(job.number, plainSize, Math.min(loaded, body.length)),
      // A single PUT object is complete when the store accepts it; only multipart needs the ETag.
      requireEtag: !job.plan.single,
      ...(put === undefined ? {} : { put }),
    })
  } finally {
    release()
  }
}
