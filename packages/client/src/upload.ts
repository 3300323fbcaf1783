/**
 * The uploader: encrypts a File in parallel parts in a Worker pool and sends them as an S3
 * multipart upload through presigned URLs; resumable after a reload, pausable, cancellable.
 *
 * The pieces: `resume.ts` (is the saved upload this one?), `state.ts` (atomic records),
 * `locks.ts` (one runner per resume key), `lanes.ts` (the part queue), `progress.ts` (exact
 * progress); this file wires them and holds the task's own state (pause, cancel).
 */
import { DEFAULT_CHUNK_SIZE, type ObjectKey, type ObjectMetadata, type RecipientInput, createObject, headerToMetadata } from '@bucketseal/core'
import type { UseStore } from 'idb-keyval'
import { TransferError, abortError } from './errors.js'
import type { SignedRequest } from './http.js'
import { PauseGate, runLanes } from './lanes.js'
import { withUploadLock } from './locks.js'
import { type PartPlan, partAt, planParts } from './parts.js'
import { type Runner, workerPool } from './pool.js'
import { ProgressTracker, type UploadProgress } from './progress.js'
import { type UploadIntent, canonicalMetadata } from './resume-check.js'
import { checkResumable, reconcile, verifyDoneParts } from './resume.js'
import type { PartCallbacks, PartJob } from './seal-part.js'
import type { Signer } from './signer.js'
import { type UploadState, claimDigest, createState, deleteState, loadState, recordEtag, uploadStore } from './state.js'

export type { UploadProgress } from './progress.js'

export interface UploadOptions {
  /** The presigning backend (see `httpSigner`). */
  readonly signer: Signer
  /** Who can decrypt the object. */
  readonly recipients: readonly RecipientInput[]
  /** The object key on the store. Default: `keyPrefix` and 32 random hex digits (names are sealed inside). */
  readonly objectKey?: string
  /** Put in front of the default random object key, e.g. `users/42/` to match the server's `authorize`. */
  readonly keyPrefix?: string
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
  /**
   * Start over even if an unfinished upload with this `resumeKey` exists: it is aborted on the
   * store and forgotten, and this one gets a fresh data key. Default false: resume it, if this
   * call asks for the same object (else RESUME_MISMATCH) and it is less than 7 days old
   * ({@link UPLOAD_STATE_TTL_MS}; an older one starts over).
   */
  readonly restart?: boolean
  /** Where resumable state lives; default the `bucketseal-uploads` IndexedDB database. */
  readonly store?: UseStore
  /** Retries per request after the first attempt. Default 5. */
  readonly retries?: number
  /** A request that makes no progress for this long is aborted and retried. Default 30,000 ms. */
  readonly stallTimeoutMs?: number
  /** Allows plain-http presigned URLs outside localhost. Never in production. */
  readonly dangerouslyAllowInsecureUrls?: boolean
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

/** How long an unfinished upload can be resumed: 7 days, as the README's lifecycle rule. */
export const UPLOAD_STATE_TTL_MS = 7 * 24 * 60 * 60 * 1000

function isExpired(state: UploadState): boolean {
  return Date.now() - state.createdAt > UPLOAD_STATE_TTL_MS
}

function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A new object's header and key, and where it goes. */
interface NewObject {
  readonly header: Uint8Array
  readonly key: ObjectKey
  readonly plan: PartPlan
  readonly objectKey: string
  readonly mirror: Record<string, string>
}

/**
 * Encrypts and uploads `file`. Small files (up to one part) go up in a single PUT; larger ones as a
 * multipart upload whose parts are sealed and sent by a Worker pool, in parallel and in any order.
 * If an upload with the same `resumeKey` was interrupted (reload, crash, network), it resumes:
 * only the missing parts are sent, after checking that the file and the options are the same. One
 * runner per `resumeKey` at a time, across tabs.
 *
 * @throws (through `done`) {TransferError} FILE_CHANGED, RESUME_MISMATCH, UPLOAD_IN_PROGRESS,
 *   MISSING_ETAG, REQUEST_REJECTED, NETWORK, ABORTED, INSECURE_URL, WORKER_FAILED, BAD_STATE,
 *   INVALID_ARGUMENT; core's INVALID_ARGUMENT for bad recipients.
 * @example
 * const task = upload(file, { signer: httpSigner('/api/s3'), recipients: [myPublicKey], keyPrefix: 'users/42/', onProgress: show })
 * cancelButton.onclick = () => task.cancel()
 * const { objectKey } = await task.done
 */
export function upload(file: Blob, options: UploadOptions): UploadTask {
  const controller = new AbortController()
  const gate = new PauseGate()
  let runner: Runner | null = null
  let cancelled = false
  /** The multipart upload this run works on, for cancel() to abort. */
  let active: { objectKey: string; uploadId: string; resumeKey: string; store: UseStore } | null = null
  const inflight = new Set<number>()
  /** Parts abandoned by pause(): they go back in the queue even if resume() came first. */
  const pausedParts = new Set<number>()

  const onExternalAbort = (): void => void task.cancel()
  options.signal?.addEventListener('abort', onExternalAbort, { once: true })

  const task: UploadTask = {
    done: Promise.resolve().then(() => run()),
    get paused() {
      return gate.paused
    },
    pause() {
      if (gate.paused || cancelled) return
      gate.pause()
      for (const n of inflight) {
        pausedParts.add(n)
        runner?.cancel(`part-${n}`)
      }
    },
    resume() {
      gate.resume()
    },
    async cancel() {
      if (cancelled) return
      cancelled = true
      controller.abort()
      for (const n of inflight) runner?.cancel(`part-${n}`)
      gate.resume()
      await task.done.catch(() => undefined)
    },
  }
  task.done.catch(() => undefined)

  async function run(): Promise<UploadResult> {
    if (!(file instanceof Blob)) throw new TransferError('INVALID_ARGUMENT', 'file must be a File or Blob.')
    if (options.objectKey !== undefined && options.keyPrefix !== undefined) {
      throw new TransferError('INVALID_ARGUMENT', 'Give objectKey or keyPrefix, not both.')
    }
    const isFile = typeof File !== 'undefined' && file instanceof File
    const name = isFile ? file.name : ''
    const lastModified = isFile ? file.lastModified : 0
    const resumeKey = options.resumeKey ?? name
    if (resumeKey === '') throw new TransferError('INVALID_ARGUMENT', 'A Blob has no name: give options.resumeKey.')
    const metadata = options.metadata ?? (name === '' ? undefined : { name, type: file.type, lastModified })
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE
    const store = options.store ?? uploadStore()
    const ownRunner = options.runner === undefined
    runner = options.runner ?? workerPool(options.concurrency)
    try {
      // A single PUT keeps no state and draws a fresh key each time: nothing to resume or lock.
      if (planParts(file.size, chunkSize, 0, options.partSize).single) return await single(await newObject(metadata, chunkSize, true))
      return await withUploadLock(resumeKey, async () => {
        const sealedMetadata = canonicalMetadata(metadata)
        let state = await loadState(resumeKey, store)
        // An upload not resumed within the state's lifetime starts over: the key and digests it
        // keeps on the device should not outlive their use (and the store's lifecycle rule, as the
        // README suggests, removes the parts after the same time).
        if (state !== undefined && (options.restart === true || isExpired(state))) {
          await options.signer.abort(state.objectKey, state.uploadId).catch(() => undefined)
          await deleteState(resumeKey, store, state.uploadId)
          state = undefined
        }
        if (state !== undefined) {
          const intent: UploadIntent = {
            recipients: options.recipients,
            metadata: sealedMetadata,
            objectKey: options.objectKey,
            keyPrefix: options.keyPrefix,
            chunkSize,
            partSize: planParts(file.size, chunkSize, state.header.length, options.partSize).partSize,
          }
          await checkResumable(state, { size: file.size, lastModified }, intent)
          const reconciled = await reconcile(state, options.signer, store)
          if (reconciled === null) await deleteState(resumeKey, store, state.uploadId)
          else await verifyDoneParts(reconciled, (n) => job(reconciled.plan, n, reconciled.key, reconciled.header), runnerOf())
          state = reconciled ?? undefined
        }
        if (state === undefined) state = await startMultipart(await newObject(metadata, chunkSize, false), { resumeKey, name, lastModified, metadata: sealedMetadata, store })
        active = { objectKey: state.objectKey, uploadId: state.uploadId, resumeKey, store }
        const result = await multipart(state, store)
        await deleteState(resumeKey, store, state.uploadId)
        return result
      })
    } catch (e) {
      if (cancelled) {
        if (active !== null) {
          await options.signer.abort(active.objectKey, active.uploadId).catch(() => undefined)
          await deleteState(active.resumeKey, active.store, active.uploadId).catch(() => undefined)
        }
        throw abortError(controller.signal)
      }
      throw e
    } finally {
      options.signal?.removeEventListener('abort', onExternalAbort)
      if (ownRunner) runner.close()
    }
  }

  function runnerOf(): Runner {
    if (runner === null) throw new TransferError('BAD_STATE', 'No part runner.')
    return runner
  }

  async function newObject(metadata: ObjectMetadata | undefined, chunkSize: number, single: boolean): Promise<NewObject> {
    const { header, key } = await createObject({
      recipients: options.recipients,
      plaintextLength: file.size,
      chunkSize,
      ...(metadata === undefined ? {} : { metadata }),
    })
    const plan = planParts(file.size, key.chunkSize, header.length, options.partSize)
    const objectKey = options.objectKey ?? `${options.keyPrefix ?? ''}${randomKey()}`
    // The metadata mirror, without a prefix: the server adds its provider's (`x-amz-meta-`).
    const mirror = headerToMetadata(header, { prefix: '', budget: 1900, ...(single ? {} : { partSize: plan.partSize }) })
    return { header, key, plan, objectKey, mirror }
  }

  async function startMultipart(
    o: NewObject,
    s: { resumeKey: string; name: string; lastModified: number; metadata: string; store: UseStore },
  ): Promise<UploadState> {
    const uploadId = await options.signer.createMultipart(o.objectKey, o.mirror, 'application/octet-stream')
    const fresh: UploadState = {
      version: 2,
      resumeKey: s.resumeKey,
      objectKey: o.objectKey,
      uploadId,
      fileName: s.name,
      fileSize: file.size,
      lastModified: s.lastModified,
      plan: o.plan,
      header: o.header,
      key: o.key,
      metadata: s.metadata,
      createdAt: Date.now(),
      digests: {},
      etags: {},
    }
    const stored = await createState(fresh, s.store)
    if (stored.uploadId !== uploadId) {
      // Only without Web Locks: another runner created the state between our load and this write.
      await options.signer.abort(o.objectKey, uploadId).catch(() => undefined)
      throw new TransferError('UPLOAD_IN_PROGRESS', `Upload "${s.resumeKey}" was started by another tab or call at the same moment; this run stops.`)
    }
    return fresh
  }

  function job(plan: PartPlan, number: number, key: ObjectKey, header: Uint8Array): PartJob {
    return {
      file,
      plan,
      number,
      key,
      header: number === 1 ? header : new Uint8Array(0),
      ...(options.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: options.dangerouslyAllowInsecureUrls }),
      ...(options.retries === undefined ? {} : { retries: options.retries }),
      ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
    }
  }

  async function runPart(j: PartJob, callbacks: PartCallbacks): Promise<string> {
    inflight.add(j.number)
    try {
      return await runnerOf().uploadPart(`part-${j.number}`, j, callbacks)
    } finally {
      inflight.delete(j.number)
    }
  }

  async function single(o: NewObject): Promise<UploadResult> {
    const size = partAt(o.plan, 1).size
    const progress = new ProgressTracker(o.plan, [], { onProgress: options.onProgress })
    const callbacks: PartCallbacks = {
      sign: () => options.signer.signPut(o.objectKey, o.mirror, 'application/octet-stream'),
      // A fresh key for every single PUT: there is no earlier sealing to compare with.
      async sealed() {},
      progress: (_n, sealed, sent) => progress.update(1, sealed, sent),
    }
    progress.start(1)
    const etag = await runPart(job(o.plan, 1, o.key, o.header), callbacks)
    progress.finish(1)
    return { objectKey: o.objectKey, etag, size, plaintextSize: o.plan.plaintextLength, partCount: 1, partsSent: 1 }
  }

  async function multipart(state: UploadState, store: UseStore): Promise<UploadResult> {
    const { plan, resumeKey, uploadId, objectKey } = state
    const finished = Object.keys(state.etags).map(Number)
    const progress = new ProgressTracker(plan, finished, { onProgress: options.onProgress })
    const queue: number[] = []
    for (let n = 1; n <= plan.partCount; n++) if (state.etags[n] === undefined) queue.push(n)
    const etags = new Map<number, string>(Object.entries(state.etags).map(([n, e]) => [Number(n), e]))
    const urls = new Map<number, SignedRequest>()
    const callbacks: PartCallbacks = {
      async sign(number, fresh): Promise<SignedRequest> {
        if (fresh) urls.delete(number)
        let request = urls.get(number)
        if (request === undefined) {
          // Sign the next parts in the same round trip (at most 20, as URLs expire).
          const batch = [number, ...queue.slice(0, 19)].filter((n, i, a) => a.indexOf(n) === i)
          for (const [n, r] of await options.signer.signParts(objectKey, uploadId, batch)) urls.set(n, r)
          request = urls.get(number)
        }
        urls.delete(number)
        if (request === undefined) throw new TransferError('BAD_STATE', `No URL for part ${number}.`)
        return request
      },
      // Compare-and-set in IndexedDB before any byte of the part is sent (nonce safety).
      sealed: (number, digest) => claimDigest(resumeKey, uploadId, number, digest, store),
      progress: (number, sealed, sent) => progress.update(number, sealed, sent),
    }
    const sent = await runLanes({
      queue,
      lanes: runnerOf().size,
      gate,
      stopped: () => cancelled,
      async send(number) {
        progress.start(number)
        try {
          const etag = await runPart(job(plan, number, state.key, state.header), callbacks)
          await recordEtag(resumeKey, uploadId, number, etag, store)
          etags.set(number, etag)
          progress.finish(number)
        } catch (e) {
          progress.abandon(number)
          throw e
        }
      },
      requeue: (number, e) => pausedParts.delete(number) && !cancelled && e instanceof TransferError && e.code === 'ABORTED',
      onFailure: () => {
        for (const n of inflight) runner?.cancel(`part-${n}`)
      },
    })
    if (cancelled) throw abortError(controller.signal)
    const parts = [...etags].map(([partNumber, etag]) => ({ partNumber, etag })).sort((a, b) => a.partNumber - b.partNumber)
    const etag = await options.signer.complete(objectKey, uploadId, parts)
    return { objectKey, etag, size: progress.totalBytes, plaintextSize: plan.plaintextLength, partCount: plan.partCount, partsSent: sent }
  }

  return task
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
