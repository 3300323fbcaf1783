/**
 * Sealing and sending one part: read its slice of the File, record its digest (nonce safety on
 * resume), seal its chunks, PUT it. Runs inside a pool Worker (or inline where there are none); the
 * plaintext and ciphertext of a part never leave this function.
 */
import { type ObjectKey, encryptChunk } from '@bucketseal/core'
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
   * Called with the SHA-256 (hex) of the part's plaintext before it is sealed. The coordinator
   * records it, or compares it with the digest recorded when this part was first sealed, and throws
   * FILE_CHANGED if they differ: sealing different bytes under the same nonces would break AES-GCM.
   */
  sealing(number: number, digest: string): Promise<void>
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

/** SHA-256 (hex) of part `number`'s plaintext: how a resumed upload proves the file is the same. */
export async function digestPart(file: Blob, plan: PartPlan, number: number): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', await readPart(file, plan, number)))
}

/**
 * Reads, seals and returns part `job.number` as one buffer (header included for part 1).
 * @throws {TransferError} FILE_CHANGED when the file is shorter than planned (changed on disk).
 */
export async function sealPart(job: PartJob, callbacks: Pick<PartCallbacks, 'sealing' | 'progress'>, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(partAt(job.plan, job.number).size)
  await sealPartInto(job, callbacks, signal, (bytes, at) => out.set(bytes, at))
  return out
}

/**
 * Reads and seals part `job.number`, handing each piece of the part (the header for part 1, then
 * each sealed chunk) to `write` with its offset in the part, as soon as it is sealed.
 */
async function sealPartInto(
  job: PartJob,
  callbacks: Pick<PartCallbacks, 'sealing' | 'progress'>,
  signal: AbortSignal | undefined,
  write: (bytes: Uint8Array, at: number) => void,
): Promise<void> {
  const part = partAt(job.plan, job.number)
  const plain = await readPart(job.file, job.plan, job.number)
  await callbacks.sealing(job.number, hex(await crypto.subtle.digest('SHA-256', plain)))
  const headerLength = job.number === 1 ? job.header.length : 0
  if (headerLength > 0) write(job.header, 0)
  const { chunkSize } = job.plan
  const lastChunk = Math.ceil(job.plan.plaintextLength / chunkSize) - 1
  const unit = chunkSize + 16
  let sealed = 0
  const inFlight: Array<Promise<void>> = []
  for (let c = 0; c < part.chunkCount; c++) {
    if (signal?.aborted === true) throw abortError(signal)
    const index = part.firstChunk + c
    const piece = plain.subarray(c * chunkSize, (c + 1) * chunkSize)
    const sealing = encryptChunk(job.key, index, piece, index === Math.max(lastChunk, 0)).then((ct) => {
      write(ct, headerLength + c * unit)
      sealed += piece.length
    })
    // Observed in order below; this only stops a later failure being reported as unhandled.
    sealing.catch(() => undefined)
    inFlight.push(sealing)
    if (inFlight.length >= SEAL_DEPTH) {
      await inFlight.shift()
      callbacks.progress(job.number, sealed, 0)
    }
  }
  await Promise.all(inFlight)
  callbacks.progress(job.number, sealed, 0)
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
      await sealPartInto(job, callbacks, signal, (bytes, at) => spooled.write(bytes, at))
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
