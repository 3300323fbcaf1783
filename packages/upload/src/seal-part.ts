/**
 * Sealing and sending one part: read its slice of the File, seal its chunks, have its digest
 * accepted (nonce safety on resume), PUT it. Runs inside a pool Worker (or inline where there are none); the
 * plaintext and ciphertext of a part never leave this function.
 */
import { type ObjectKey, TAG_LENGTH, encryptChunk } from '@bucketseal/core'
import { TransferError, abortError } from './errors.js'
import { type PutPartOptions, type SignedRequest, putWithRetry } from './http.js'
import { type PartPlan, partAt } from './parts.js'
import { openSpoolFile } from './spool.js'

/** Chunk seals in flight at once inside one part. */
const SEAL_DEPTH = 4

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

/** Reads part `number` of the plan from the file; FILE_CHANGED if the file is shorter than planned. */
async function readPart(file: Blob, plan: PartPlan, number: number): Promise<Uint8Array<ArrayBuffer>> {
  const part = partAt(plan, number)
  const plain = new Uint8Array(await file.slice(part.plaintextStart, part.plaintextEnd).arrayBuffer())
  if (plain.length !== part.plaintextEnd - part.plaintextStart) {
    throw new TransferError('FILE_CHANGED', `The file changed while it was being read (part ${number} is short).`)
  }
  return plain
}

/**
 * Reads and seals part `job.number`, handing each piece of the part (the header for part 1, then
 * each sealed chunk) to `write` with its offset in the part, as soon as it is sealed. Returns the
 * part's digest: SHA-256 (hex) of its chunks' GCM tags, in order.
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
  write: (bytes: Uint8Array, at: number) => void,
  onSealed: (plaintextBytes: number) => void,
): Promise<string> {
  const part = partAt(job.plan, job.number)
  const plain = await readPart(job.file, job.plan, job.number)
  const headerLength = job.number === 1 ? job.header.length : 0
  if (headerLength > 0) write(job.header, 0)
  const { chunkSize } = job.plan
  const lastChunk = Math.ceil(job.plan.plaintextLength / chunkSize) - 1
  const unit = chunkSize + TAG_LENGTH
  const tags = new Uint8Array(part.chunkCount * TAG_LENGTH)
  let sealed = 0
  const inFlight: Array<Promise<void>> = []
  for (let c = 0; c < part.chunkCount; c++) {
    if (signal?.aborted === true) throw abortError(signal)
    const index = part.firstChunk + c
    const piece = plain.subarray(c * chunkSize, (c + 1) * chunkSize)
    const sealing = encryptChunk(job.key, index, piece, index === Math.max(lastChunk, 0)).then((ct) => {
      tags.set(ct.subarray(ct.length - TAG_LENGTH), c * TAG_LENGTH)
      write(ct, headerLength + c * unit)
      sealed += piece.length
    })
    // Observed in order below; this only stops a later failure being reported as unhandled.
    sealing.catch(() => undefined)
    inFlight.push(sealing)
    if (inFlight.length >= SEAL_DEPTH) {
      await inFlight.shift()
      onSealed(sealed)
    }
  }
  await Promise.all(inFlight)
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
 * Reads, seals and returns part `job.number` as one buffer (header included for part 1), after
 * `sealed` accepted its digest.
 * @throws {TransferError} FILE_CHANGED when the file is shorter than planned (changed on disk).
 */
export async function sealPart(job: PartJob, callbacks: Pick<PartCallbacks, 'sealed' | 'progress'>, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(partAt(job.plan, job.number).size)
  const digest = await sealPartInto(job, signal, (bytes, at) => out.set(bytes, at), (n) => callbacks.progress(job.number, n, 0))
  await callbacks.sealed(job.number, digest)
  return out
}

/** Seals part `job.number` and uploads it; resolves with its ETag. */
export async function uploadPart(job: PartJob, callbacks: PartCallbacks, signal?: AbortSignal, put?: PutPartOptions['put']): Promise<string> {
  const part = partAt(job.plan, job.number)
  const plainSize = part.plaintextEnd - part.plaintextStart
  // Sealed chunks go straight into a private file when the Worker can write one, and the PUT sends
  // that file (see spool.ts); otherwise the part is assembled in memory. Either way it is garbage once
  // the PUT is acknowledged or fails, so memory stays at about concurrency × part size.
  const spooled = await openSpoolFile()
  let body: Blob | Uint8Array<ArrayBuffer>
  if (spooled === null) {
    body = await sealPart(job, callbacks, signal)
  } else {
    try {
      const digest = await sealPartInto(job, signal, (bytes, at) => spooled.write(bytes, at), (n) => callbacks.progress(job.number, n, 0))
      await callbacks.sealed(job.number, digest)
      body = await spooled.finish()
    } catch (e) {
      await spooled.release()
      throw e
    }
  }
  const size = body instanceof Blob ? body.size : body.length
  try {
    return await putWithRetry((fresh) => callbacks.sign(job.number, fresh), body, {
      signal,
      dangerouslyAllowInsecureUrls: job.dangerouslyAllowInsecureUrls,
      retries: job.retries,
      stallTimeoutMs: job.stallTimeoutMs,
      onProgress: (loaded) => callbacks.progress(job.number, plainSize, Math.min(loaded, size)),
      // A single-PUT object is complete when the store accepts it; only multipart needs the ETag.
      requireEtag: !job.plan.single,
      ...(put === undefined ? {} : { put }),
    })
  } finally {
    await spooled?.release()
  }
}
