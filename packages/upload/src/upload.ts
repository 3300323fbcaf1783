/**
 * The uploader: encrypts a File in parallel parts in a Worker pool and sends them as an S3
 * multipart upload through presigned URLs; resumable after a reload, pausable, cancellable.
 */
import { type ObjectMetadata, type RecipientInput, createObject, headerToMetadata } from '@bucketseal/core'
import type { UseStore } from 'idb-keyval'
import { TransferError, abortError } from './errors.js'
import type { SignedRequest } from './http.js'
import { type PartPlan, partAt, planParts } from './parts.js'
import { type Runner, workerPool } from './pool.js'
import type { PartCallbacks, PartJob } from './seal-part.js'
import type { Signer } from './signer.js'
import { type UploadState, deleteState, loadState, saveState, uploadStore } from './state.js'

export interface UploadOptions {
  /** The presigning backend (see `httpSigner`). */
  readonly signer: Signer
  /** Who can decrypt the object. */
  readonly recipients: readonly RecipientInput[]
  /** The object key on the store. Default: 32 random hex digits (names are sealed inside). */
  readonly objectKey?: string
  /** Sealed inside the object. Default: the File's name, type and modification time. */
  readonly metadata?: ObjectMetadata
  /** Chunk size (core default 256 KiB). */
  readonly chunkSize?: number
  /** Plaintext bytes per part; raised to ≥ 5 MiB, whole chunks, ≤ 10,000 parts. Default 8 MiB. */
  readonly partSize?: number
  /** Parts in flight: the Worker pool's size. Default min(cores, 4). */
  readonly concurrency?: number
  /** Runs parts; default a Worker pool of `concurrency` Workers, closed when the upload ends. */
  readonly runner?: Runner
  readonly signal?: AbortSignal
  readonly onProgress?: (progress: UploadProgress) => void
  /** Names the upload for resuming. Default: the file name. */
  readonly resumeKey?: string
  /** Where resumable state lives; default the `bucketseal-uploads` IndexedDB database. */
  readonly store?: UseStore
  /** Retries per request after the first attempt. Default 5. */
  readonly retries?: number
  /** Allows plain-http presigned URLs outside localhost. Never in production. */
  readonly dangerouslyAllowInsecureUrls?: boolean
}

export interface UploadProgress {
  /** Plaintext bytes read and sealed. */
  readonly bytesSealed: number
  /** Object bytes the store has received (parts done plus parts in flight). */
  readonly bytesUploaded: number
  /** Object size on the store (ciphertext, header included). */
  readonly totalBytes: number
  readonly partsDone: number
  readonly partCount: number
  /** Upload rate in bytes per second over the last few seconds. */
  readonly bytesPerSecond: number
  /** Estimated seconds left, or `null` before there is a rate. */
  readonly secondsLeft: number | null
  /** Parts that were already on the store when this run started (resume). */
  readonly partsResumed: number
}

export interface UploadResult {
  readonly objectKey: string
  readonly etag: string
  /** Object size on the store. */
  readonly size: number
  readonly plaintextSize: number
  readonly partCount: number
  /** Parts this run sent (less than `partCount` after a resume). */
  readonly partsSent: number
}

export interface UploadTask {
  readonly done: Promise<UploadResult>
  /** Stops sending; parts in flight are abandoned and resent on resume. */
  pause(): void
  resume(): void
  /** Cancels: aborts the multipart upload on the store and forgets its state. */
  cancel(): Promise<void>
  readonly paused: boolean
}

function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A progress meter with a sliding-window rate. */
class Meter {
  readonly #samples: Array<[number, number]> = []
  rate(bytes: number): number {
    const now = performance.now()
    this.#samples.push([now, bytes])
    while (this.#samples.length > 2 && now - (this.#samples[0]?.[0] ?? now) > 5000) this.#samples.shift()
    const first = this.#samples[0]
    if (first === undefined || now - first[0] < 200) return 0
    return ((bytes - first[1]) * 1000) / (now - first[0])
  }
}

/**
 * Encrypts and uploads `file`. Small files (up to one part) go up in a single PUT; larger ones as a
 * multipart upload whose parts are sealed and sent by a Worker pool, in parallel and in any order.
 * If an upload with the same `resumeKey` was interrupted (reload, crash, network), it resumes:
 * only the missing parts are sent, after checking that the file is the same one.
 *
 * @throws (through `done`) {TransferError} FILE_CHANGED, MISSING_ETAG, REQUEST_REJECTED, NETWORK,
 *   ABORTED, INSECURE_URL, INVALID_ARGUMENT; core's INVALID_ARGUMENT for bad recipients.
 * @example
 * const task = upload(file, { signer: httpSigner('/api/s3'), recipients: [myPublicKey], onProgress: show })
 * cancelButton.onclick = () => task.cancel()
 * const { objectKey } = await task.done
 */
export function upload(file: Blob, options: UploadOptions): UploadTask {
  const controller = new AbortController()
  let paused = false
  let release: (() => void) | null = null
  let gate: Promise<void> = Promise.resolve()
  let runner: Runner | null = null
  let cancelled = false
  let active: { objectKey: string; uploadId: string; resumeKey: string; store: UseStore } | null = null
  const inflight = new Set<number>()
  /** Parts abandoned by pause(): they go back in the queue even if resume() came first. */
  const pausedParts = new Set<number>()

  const onExternalAbort = (): void => void task.cancel()
  options.signal?.addEventListener('abort', onExternalAbort, { once: true })

  const task: UploadTask = {
    done: Promise.resolve().then(() => run()),
    get paused() {
      return paused
    },
    pause() {
      if (paused || cancelled) return
      paused = true
      gate = new Promise((resolve) => (release = resolve))
      for (const n of inflight) {
        pausedParts.add(n)
        runner?.cancel(`part-${n}`)
      }
    },
    resume() {
      if (!paused) return
      paused = false
      release?.()
      release = null
    },
    async cancel() {
      if (cancelled) return
      cancelled = true
      controller.abort()
      for (const n of inflight) runner?.cancel(`part-${n}`)
      release?.()
      await task.done.catch(() => undefined)
    },
  }
  task.done.catch(() => undefined)

  async function run(): Promise<UploadResult> {
    if (!(file instanceof Blob)) throw new TransferError('INVALID_ARGUMENT', 'file must be a File or Blob.')
    const name = typeof File !== 'undefined' && file instanceof File ? file.name : ''
    const lastModified = typeof File !== 'undefined' && file instanceof File ? file.lastModified : 0
    const resumeKey = options.resumeKey ?? name
    if (resumeKey === '') throw new TransferError('INVALID_ARGUMENT', 'A Blob has no name: give options.resumeKey.')
    const store = options.store ?? uploadStore()
    const ownRunner = options.runner === undefined
    runner = options.runner ?? workerPool(options.concurrency)
    try {
      let state = await loadState(resumeKey, store)
      if (state !== undefined && (state.fileSize !== file.size || state.lastModified !== lastModified)) {
        throw new TransferError(
          'FILE_CHANGED',
          `"${resumeKey}" does not match the file this upload started with on ${new Date(state.createdAt).toISOString()} (size or modification time differ). Pick the original file, or discard the old upload with discardUpload("${resumeKey}").`,
        )
      }
      let partsResumed = 0
      if (state !== undefined) {
        const reconciled = await reconcile(state, options.signer)
        if (reconciled === null) {
          await deleteState(resumeKey, store)
          state = undefined
        } else {
          state = reconciled
          await verifyDoneParts(file, state, runner)
          partsResumed = Object.keys(state.etags).length
          await saveState(state, store)
        }
      }
      if (state === undefined) {
        const metadata = options.metadata ?? (name === '' ? undefined : { name, type: file.type, lastModified })
        const { header, key } = await createObject({
          recipients: options.recipients,
          plaintextLength: file.size,
          ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
          ...(metadata === undefined ? {} : { metadata }),
        })
        const plan = planParts(file.size, key.chunkSize, header.length, options.partSize)
        const objectKey = options.objectKey ?? randomKey()
        // The metadata mirror, without a prefix: the server adds its provider's (`x-amz-meta-`).
        const mirror = headerToMetadata(header, { prefix: '', budget: 1900, ...(plan.single ? {} : { partSize: plan.partSize }) })
        if (plan.single) {
          return await single(file, plan, { header, key, objectKey, mirror })
        }
        const uploadId = await options.signer.createMultipart(objectKey, mirror, 'application/octet-stream')
        state = {
          version: 1,
          resumeKey,
          objectKey,
          uploadId,
          fileName: name,
          fileSize: file.size,
          lastModified,
          plan,
          header,
          key,
          createdAt: Date.now(),
          digests: {},
          etags: {},
        }
        await saveState(state, store)
      }
      active = { objectKey: state.objectKey, uploadId: state.uploadId, resumeKey, store }
      const result = await multipart(file, state, store, partsResumed)
      await deleteState(resumeKey, store)
      return result
    } catch (e) {
      if (cancelled) {
        if (active !== null) {
          await options.signer.abort(active.objectKey, active.uploadId).catch(() => undefined)
          await deleteState(active.resumeKey, active.store)
        }
        throw abortError(controller.signal)
      }
      throw e
    } finally {
      options.signal?.removeEventListener('abort', onExternalAbort)
      if (ownRunner) runner.close()
    }
  }

  async function single(
    blob: Blob,
    plan: PartPlan,
    o: { header: Uint8Array; key: PartJob['key']; objectKey: string; mirror: Record<string, string> },
  ): Promise<UploadResult> {
    const size = partAt(plan, 1).size
    const signed = await options.signer.signPut(o.objectKey, o.mirror, 'application/octet-stream')
    let first = true
    const emit = progressEmitter(plan, size, 0)
    const callbacks: PartCallbacks = {
      async sign(_n, fresh) {
        if (first && !fresh) {
          first = false
          return signed
        }
        return options.signer.signPut(o.objectKey, o.mirror, 'application/octet-stream')
      },
      async sealing() {},
      progress(_n, sealed, sent) {
        emit.part(1, sealed, sent)
      },
    }
    const etag = await runPart(job(blob, plan, 1, o.key, o.header), callbacks)
    emit.done(1)
    return { objectKey: o.objectKey, etag, size, plaintextSize: plan.plaintextLength, partCount: 1, partsSent: 1 }
  }

  function job(blob: Blob, plan: PartPlan, number: number, key: PartJob['key'], header: Uint8Array): PartJob {
    return {
      file: blob,
      plan,
      number,
      key,
      header: number === 1 ? header : new Uint8Array(0),
      ...(options.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: options.dangerouslyAllowInsecureUrls }),
      ...(options.retries === undefined ? {} : { retries: options.retries }),
    }
  }

  async function runPart(j: PartJob, callbacks: PartCallbacks): Promise<string> {
    if (runner === null) throw new TransferError('BAD_STATE', 'No part runner.')
    inflight.add(j.number)
    try {
      return await runner.uploadPart(`part-${j.number}`, j, callbacks)
    } finally {
      inflight.delete(j.number)
    }
  }

  function progressEmitter(plan: PartPlan, totalBytes: number, resumed: number) {
    const meter = new Meter()
    const parts = new Map<number, { sealed: number; sent: number }>()
    let doneBytes = 0
    let doneSealed = 0
    let partsDone = resumed
    let last = 0
    const emit = (force: boolean): void => {
      if (options.onProgress === undefined) return
      const now = performance.now()
      if (!force && now - last < 100) return
      last = now
      let sent = doneBytes
      let sealed = doneSealed
      for (const p of parts.values()) {
        sent += p.sent
        sealed += p.sealed
      }
      const rate = meter.rate(sent)
      options.onProgress({
        bytesSealed: sealed,
        bytesUploaded: sent,
        totalBytes,
        partsDone,
        partCount: plan.partCount,
        bytesPerSecond: rate,
        secondsLeft: rate > 0 ? (totalBytes - sent) / rate : null,
        partsResumed: resumed,
      })
    }
    return {
      preset(number: number) {
        const p = partAt(plan, number)
        doneBytes += p.size
        doneSealed += p.plaintextEnd - p.plaintextStart
      },
      part(number: number, sealed: number, sent: number) {
        parts.set(number, { sealed, sent })
        emit(false)
      },
      reset(number: number) {
        parts.delete(number)
      },
      done(number: number) {
        parts.delete(number)
        this.preset(number)
        partsDone++
        emit(true)
      },
    }
  }

  async function multipart(blob: Blob, initial: UploadState, store: UseStore, resumed: number): Promise<UploadResult> {
    let state = initial
    const { plan } = state
    const emit = progressEmitter(plan, partAt(plan, plan.partCount).offset + partAt(plan, plan.partCount).size, resumed)
    const queue: number[] = []
    for (let n = 1; n <= plan.partCount; n++) {
      if (state.etags[n] === undefined) queue.push(n)
      else emit.preset(n)
    }
    const urls = new Map<number, SignedRequest>()
    // Saves are serialized: IndexedDB writes of the whole record must not interleave.
    let saving: Promise<void> = Promise.resolve()
    const update = (change: (s: UploadState) => UploadState): Promise<void> => {
      saving = saving.then(async () => {
        state = change(state)
        await saveState(state, store)
      })
      return saving
    }
    const callbacks: PartCallbacks = {
      async sign(number, fresh): Promise<SignedRequest> {
        if (fresh) urls.delete(number)
        let request = urls.get(number)
        if (request === undefined) {
          // Sign the next parts in the same round trip (at most 20, as URLs expire).
          const batch = [number, ...queue.slice(0, 19)].filter((n, i, a) => a.indexOf(n) === i)
          const signed = await options.signer.signParts(state.objectKey, state.uploadId, batch)
          for (const [n, r] of signed) urls.set(n, r)
          request = urls.get(number)
        }
        urls.delete(number)
        if (request === undefined) throw new TransferError('BAD_STATE', `No URL for part ${number}.`)
        return request
      },
      async sealing(number, digest) {
        const known = state.digests[number]
        if (known !== undefined && known !== digest) {
          throw new TransferError(
            'FILE_CHANGED',
            `Part ${number} of "${state.resumeKey}" differs from when it was first encrypted: the file changed. Re-encrypting it under the same nonces would be unsafe; discard the upload with discardUpload("${state.resumeKey}") and start again.`,
          )
        }
        if (known === undefined) await update((s) => ({ ...s, digests: { ...s.digests, [number]: digest } }))
      },
      progress(number, sealed, sent) {
        emit.part(number, sealed, sent)
      },
    }
    let sent = 0
    let failure: unknown = null
    const lane = async (): Promise<void> => {
      for (;;) {
        await gate
        if (cancelled || failure !== null) return
        const number = queue.shift()
        if (number === undefined) return
        try {
          const etag = await runPart(job(blob, plan, number, state.key, state.header), callbacks)
          await update((s) => ({ ...s, etags: { ...s.etags, [number]: etag } }))
          sent++
          emit.done(number)
        } catch (e) {
          emit.reset(number)
          const abandoned = pausedParts.delete(number)
          if (abandoned && !cancelled && e instanceof Error && 'code' in e && e.code === 'ABORTED') {
            queue.unshift(number)
            continue
          }
          if (failure === null) {
            failure = e
            for (const n of inflight) runner?.cancel(`part-${n}`)
          }
          return
        }
      }
    }
    const lanes = Math.max(1, runner?.size ?? 1)
    await Promise.all(Array.from({ length: lanes }, lane))
    await saving
    if (cancelled) throw abortError(controller.signal)
    if (failure !== null) throw failure
    const parts = Object.entries(state.etags)
      .map(([n, etag]) => ({ partNumber: Number(n), etag }))
      .sort((a, b) => a.partNumber - b.partNumber)
    const etag = await options.signer.complete(state.objectKey, state.uploadId, parts)
    const last = partAt(plan, plan.partCount)
    return { objectKey: state.objectKey, etag, size: last.offset + last.size, plaintextSize: plan.plaintextLength, partCount: plan.partCount, partsSent: sent }
  }

  return task
}

/**
 * Brings saved state in line with the store: parts the store has (and that we sealed from a
 * recorded digest) count as done; parts we recorded but the store lost are sent again. Returns
 * `null` when the store no longer knows the upload (aborted or expired): the caller starts afresh,
 * with a new data key, so no nonce is reused.
 */
async function reconcile(state: UploadState, signer: Signer): Promise<UploadState | null> {
  let listed
  try {
    listed = await signer.listParts(state.objectKey, state.uploadId)
  } catch (e) {
    if (e instanceof TransferError && e.status === 404) return null
    throw e
  }
  const etags: Record<number, string> = {}
  for (const p of listed) {
    if (state.digests[p.partNumber] === undefined) continue
    const expected = partAt(state.plan, p.partNumber).size
    if (p.size !== undefined && p.size !== expected) continue
    etags[p.partNumber] = p.etag
  }
  return { ...state, etags }
}

/**
 * Before resuming, re-reads every part the store already has and compares its digest with the one
 * recorded when it was sealed. Size and modification time catch ordinary edits; this catches the
 * rest, which would otherwise give an object mixing old and new parts of the file.
 */
async function verifyDoneParts(file: Blob, state: UploadState, runner: Runner): Promise<void> {
  const done = Object.keys(state.etags).map(Number)
  let next = 0
  const lane = async (): Promise<void> => {
    for (let i = next++; i < done.length; i = next++) {
      const number = done[i]
      if (number === undefined) return
      const digest = await runner.digestPart(file, state.plan, number)
      if (digest !== state.digests[number]) {
        throw new TransferError(
          'FILE_CHANGED',
          `Part ${number} of "${state.resumeKey}" differs from the part already uploaded: the file changed since the upload started. Discard the upload with discardUpload("${state.resumeKey}") and start again.`,
        )
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, runner.size) }, lane))
}

/**
 * Forgets an unfinished upload and aborts it on the store.
 * @example await discardUpload('holiday.mov', httpSigner('/api/s3'))
 */
export async function discardUpload(resumeKey: string, signer: Signer, store: UseStore = uploadStore()): Promise<void> {
  const state = await loadState(resumeKey, store).catch(() => undefined)
  if (state !== undefined) await signer.abort(state.objectKey, state.uploadId).catch(() => undefined)
  await deleteState(resumeKey, store)
}
