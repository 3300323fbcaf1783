/**
 * Where parts are sealed and ranges opened: a pool of Workers behind comlink, or inline on the
 * calling thread. `Runner` is the seam: the uploader and downloader need only "run this job" and
 * "cancel that job", so tests and Worker-less environments can run inline.
 */
import { type Remote, proxy, releaseProxy, wrap } from 'comlink'
import './worker-errors.js'
import { type RangeCallbacks, type RangeJob, fetchRange } from './fetch-range.js'
import { TransferError } from './errors.js'
import type { PartPlan } from './parts.js'
import { type PartCallbacks, type PartJob, digestPart, uploadPart } from './seal-part.js'
import { Jobs } from './jobs.js'
import type { WorkerApi } from './worker.js'

export interface Runner {
  /** Jobs this runner takes in parallel. */
  readonly size: number
  uploadPart(id: string, job: PartJob, callbacks: PartCallbacks): Promise<string>
  downloadRange(id: string, job: RangeJob, callbacks: RangeCallbacks): Promise<Uint8Array>
  /** SHA-256 (hex) of a part's plaintext, read from the file. */
  digestPart(file: Blob, plan: PartPlan, number: number): Promise<string>
  cancel(id: string): void
  /** Ends the Workers; jobs still running are aborted. */
  close(): void
}

/** Default pool size: the cores the browser reports, at most 4. */
export function defaultConcurrency(): number {
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency : 2
  return Math.max(1, Math.min(cores || 2, 4))
}

/**
 * Starts `size` module Workers. `createWorker` is for bundlers or CSP setups that must build the
 * Worker themselves; by default it is this package's `worker.ts`.
 * @example const runner = workerPool(4)
 */
export function workerPool(size = defaultConcurrency(), createWorker?: () => Worker): Runner {
  const make = createWorker ?? (() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'bucketseal' }))
  const slots: Array<{ worker: Worker; api: Remote<WorkerApi>; busy: number }> = []
  for (let i = 0; i < size; i++) {
    const worker = make()
    slots.push({ worker, api: wrap<WorkerApi>(worker), busy: 0 })
  }
  const owner = new Map<string, Remote<WorkerApi>>()
  // A terminated Worker never answers: calls in flight when the pool closes are rejected here.
  const waiting = new Set<(e: TransferError) => void>()
  let closed = false
  const dispatch = async <T>(id: string, call: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> => {
    if (closed) throw new TransferError('ABORTED', 'The Worker pool was closed.')
    const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a))
    slot.busy++
    owner.set(id, slot.api)
    let reject: (e: TransferError) => void = () => undefined
    const closing = new Promise<never>((_, r) => (reject = r))
    waiting.add(reject)
    try {
      return await Promise.race([call(slot.api), closing])
    } finally {
      waiting.delete(reject)
      slot.busy--
      owner.delete(id)
    }
  }
  return {
    size,
    uploadPart: (id, job, callbacks) => dispatch(id, (api) => api.uploadPart(id, job, proxy(callbacks))),
    downloadRange: (id, job, callbacks) => dispatch(id, (api) => api.downloadRange(id, job, proxy(callbacks), callbacks.progress !== undefined)),
    digestPart: (file, plan, number) => dispatch(`digest-${number}`, (api) => api.digestPart(file, plan, number)),
    cancel(id) {
      void owner.get(id)?.cancel(id)
    },
    close() {
      closed = true
      for (const reject of waiting) reject(new TransferError('ABORTED', 'The Worker pool was closed.'))
      for (const s of slots) {
        s.api[releaseProxy]()
        s.worker.terminate()
      }
    },
  }
}

/**
 * Runs jobs on the calling thread. WebCrypto still works off-thread, so this is slower than a
 * pool mainly in reading and copying. `fetchImpl` is a seam for tests that count bytes.
 */
export function inlineRunner(size = 2, fetchImpl?: typeof fetch): Runner {
  const jobs = new Jobs()
  return {
    size,
    uploadPart: (id, job, callbacks) => jobs.run(id, (signal) => uploadPart(job, callbacks, signal)),
    downloadRange: (id, job, callbacks) => jobs.run(id, (signal) => fetchRange(job, callbacks, signal, fetchImpl)),
    digestPart,
    cancel: (id) => jobs.cancel(id),
    close: () => jobs.cancelAll(),
  }
}
