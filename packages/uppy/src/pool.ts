/**
 * One Worker pool for every file the plugin uploads, and the two limits on it: files at once
 * (`Slots`, Uppy's `limit`) and parts in flight across all files (the pool's size). Each file's
 * upload gets a view of the pool (`SharedPool.forFile`) that names its jobs apart from other files'
 * jobs and waits for a free part slot before it hands a job to a Worker, so memory stays at
 * concurrency × part size however many files run at once.
 */
import { type Runner, TransferError } from '@bucketseal/client'

/** A counting semaphore whose waits can be given up (a paused or cancelled file leaves the queue). */
export class Slots {
  #free: number
  readonly #queue: Array<{ grant: () => void; signal: AbortSignal | undefined }> = []

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new TransferError('INVALID_ARGUMENT', `A limit must be a positive integer, got ${String(size)}.`)
    this.#free = size
  }

  /**
   * Waits for a free slot and returns the function that gives it back (once; later calls do
   * nothing). FIFO, so no file or part starves.
   * @throws {TransferError} ABORTED when `signal` aborts first.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted === true) return Promise.reject(new TransferError('ABORTED', 'Stopped while waiting for a free upload slot.'))
    return new Promise((resolve, reject) => {
      const entry = {
        signal,
        grant: () => {
          signal?.removeEventListener('abort', onAbort)
          let held = true
          resolve(() => {
            if (!held) return
            held = false
            this.#release()
          })
        },
      }
      const onAbort = (): void => {
        const i = this.#queue.indexOf(entry)
        if (i >= 0) this.#queue.splice(i, 1)
        reject(new TransferError('ABORTED', 'Stopped while waiting for a free upload slot.'))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      if (this.#free > 0) {
        this.#free--
        entry.grant()
      } else {
        this.#queue.push(entry)
      }
    })
  }

  #release(): void {
    const next = this.#queue.shift()
    if (next === undefined) this.#free++
    else next.grant()
  }
}

export interface SharedPool {
  /** Parts in flight across all files. */
  readonly size: number
  /**
   * The pool as one file's upload sees it: `lanes` parts of this file at once, job ids kept apart
   * from other files' under `token`. Its `close` does nothing: the pool outlives each file.
   */
  forFile(token: string, lanes: number): Runner
  /** Ends the Workers (if the pool made them); jobs still running are aborted. */
  close(): void
}

/**
 * A pool of `size` part slots over `runner` (created on first use by `make`, so Workers start only
 * when a file is uploaded). `ownsRunner` says whether `close` ends it.
 */
export function sharedPool(size: number, make: () => Runner, ownsRunner: boolean): SharedPool {
  const slots = new Slots(size)
  let base: Runner | null = null
  const runner = (): Runner => (base ??= make())
  /** Jobs waiting for a slot or running, by their pool-wide id: cancel() reaches both. */
  const jobs = new Map<string, AbortController>()

  async function run<T>(id: string, call: (r: Runner) => Promise<T>): Promise<T> {
    const controller = new AbortController()
    jobs.set(id, controller)
    try {
      const release = await slots.acquire(controller.signal)
      try {
        // A cancel between the grant and this line found no Worker job to stop: honour it here.
        if (controller.signal.aborted) throw new TransferError('ABORTED', 'The part was stopped.')
        return await call(runner())
      } finally {
        release()
      }
    } finally {
      if (jobs.get(id) === controller) jobs.delete(id)
    }
  }

  return {
    size,
    forFile(token, lanes) {
      const scoped = (id: string): string => `${token}/${id}`
      return {
        size: lanes,
        uploadPart: (id, job, callbacks) => run(scoped(id), (r) => r.uploadPart(scoped(id), job, callbacks)),
        downloadRange: (id, job, callbacks) => run(scoped(id), (r) => r.downloadRange(scoped(id), job, callbacks)),
        digestPart: (id, job) => run(scoped(id), (r) => r.digestPart(scoped(id), job)),
        cancel(id) {
          jobs.get(scoped(id))?.abort()
          base?.cancel(scoped(id))
        },
        close() {},
      }
    },
    close() {
      for (const controller of jobs.values()) controller.abort()
      if (ownsRunner) base?.close()
      base = null
    },
  }
}
