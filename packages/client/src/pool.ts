/**
 * Where parts are sealed and ranges opened: a pool of Workers behind comlink, or inline on the
 * calling thread. `Runner` is the seam: the uploader and downloader need only "run this job" and
 * "cancel that job", so tests and Worker-less environments can run inline.
 */
import { type Remote, proxy, releaseProxy, wrap } from 'comlink'
import { installErrorTransport } from './error-transport.js'
import { type RangeCallbacks, type RangeJob, fetchRange } from './fetch-range.js'
import { TransferError } from './errors.js'
import { type PartCallbacks, type PartJob, digestPart, uploadPart } from './seal-part.js'
import { Jobs } from './jobs.js'
import type { WorkerApi } from './worker.js'

export interface Runner {
  /** Jobs this runner takes in parallel. */
  readonly size: number
  uploadPart(id: string, job: PartJob, callbacks: PartCallbacks): Promise<string>
  downloadRange(id: string, job: RangeJob, callbacks: RangeCallbacks): Promise<Uint8Array>
  /** A part's digest (see `uploadPart`), by sealing it again without sending it. */
  digestPart(id: string, job: PartJob): Promise<string>
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
 * Starts `size` module Workers that seal parts and open ranges. `worker` is for bundlers without
 * `new Worker(new URL(…, import.meta.url))` support (esbuild) or CSP setups: build the entry
 * `@bucketseal/client/worker` as a separate module and give its URL (then an error names it), or a
 * function that creates the Worker. A Worker that fails to load (a 404, an HTML fallback page, a
 * syntax error) or crashes makes every job of the pool fail with WORKER_FAILED instead of waiting
 * forever.
 *
 * @throws (through each job) {TransferError} WORKER_FAILED, ABORTED once the pool is closed.
 * @example
 * // esbuild: esbuild node_modules/@bucketseal/client/dist/worker.js --bundle --format=esm --outfile=public/bucketseal-worker.js
 * const runner = workerPool(4, '/bucketseal-worker.js')
 * const task = upload(file, { signer, recipients, runner })
 */
export function workerPool(size = defaultConcurrency(), worker?: string | URL | (() => Worker)): Runner {
  installErrorTransport()
  const scriptUrl = typeof worker === 'function' ? null : worker === undefined ? new URL('./worker.ts', import.meta.url) : new URL(worker, globalThis.location?.href)
  const make =
    typeof worker === 'function'
      ? worker
      : worker === undefined
        ? () =>
            // The literal pattern bundlers recognise (Vite, webpack 5, Rollup with a plugin); keep it in one expression.
            new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'bucketseal' })
        : () => new Worker(worker, { type: 'module', name: 'bucketseal' })
  let failure: TransferError | null = null
  let closed = false
  // Calls in flight: rejected when the pool closes or a Worker fails (a dead Worker never answers).
  const waiting = new Set<(e: TransferError) => void>()
  const fail = (event: Event): void => {
    if (failure !== null || closed) return
    const where = scriptUrl?.href ?? (event instanceof ErrorEvent && event.filename !== '' ? event.filename : 'the Worker your function created')
    const detail = event instanceof ErrorEvent && event.message !== '' ? `: ${event.message}` : ''
    failure = new TransferError(
      'WORKER_FAILED',
      `A Bucketseal Worker (${where}) failed to load or crashed${detail}. If your bundler does not support new Worker(new URL(…, import.meta.url)), build @bucketseal/client/worker as its own entry and pass workerPool(n, () => new Worker(url, { type: 'module' })).`,
    )
    for (const reject of waiting) reject(failure)
  }
  const slots: Array<{ worker: Worker; api: Remote<WorkerApi>; busy: number }> = []
  for (let i = 0; i < size; i++) {
    const worker = make()
    worker.addEventListener('error', fail)
    worker.addEventListener('messageerror', fail)
    slots.push({ worker, api: wrap<WorkerApi>(worker), busy: 0 })
  }
  const owner = new Map<string, Remote<WorkerApi>>()
  const dispatch = async <T>(id: string, call: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> => {
    if (failure !== null) throw failure
    if (closed) throw new TransferError('ABORTED', 'The Worker pool was closed.')
    const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a))
    slot.busy++
    owner.set(id, slot.api)
    let reject: (e: TransferError) => void = () => undefined
    const stopped = new Promise<never>((_, r) => (reject = r))
    waiting.add(reject)
    try {
      return await Promise.race([call(slot.api), stopped])
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
    digestPart: (id, job) => dispatch(id, (api) => api.digestPart(id, job)),
    cancel(id) {
      void owner.get(id)?.cancel(id)
    },
    close() {
      if (closed) return
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
 * Runs jobs on the calling thread, for environments without module Workers and for tests. Sealing
 * then competes with the page's own work (WebCrypto's AES-GCM runs on the calling thread in
 * Chromium, docs/BENCHMARKS.md). `fetchImpl` is a seam for tests that count bytes.
 */
export function inlineRunner(size = 2, fetchImpl?: typeof fetch): Runner {
  const jobs = new Jobs()
  return {
    size,
    uploadPart: (id, job, callbacks) => jobs.run(id, (signal) => uploadPart(job, callbacks, signal)),
    downloadRange: (id, job, callbacks) => jobs.run(id, (signal) => fetchRange(job, callbacks, signal, fetchImpl)),
    digestPart: (id, job) => jobs.run(id, (signal) => digestPart(job, signal)),
    cancel: (id) => jobs.cancel(id),
    close: () => jobs.cancelAll(),
  }
}
