/// <reference lib="webworker" />
/**
 * The pool Worker (also the package's `./worker` entry, for bundlers that must build it apart): seals and uploads parts, fetches and opens ranges. An upload job gets the File
 * (structured-cloned, not read), so a part's plaintext and ciphertext never cross to the page; a
 * download job hands back only verified plaintext, transferred rather than copied.
 */
import { expose, transfer } from 'comlink'
import { installErrorTransport } from './error-transport.js'
import { type RangeCallbacks, type RangeJob, fetchRange } from './fetch-range.js'
import { Jobs } from './jobs.js'
import { type PartCallbacks, type PartJob, digestPart, uploadPart } from './seal-part.js'

const jobs = new Jobs()

const api = {
  uploadPart(id: string, job: PartJob, callbacks: PartCallbacks): Promise<string> {
    return jobs.run(id, (signal) => uploadPart(job, callbacks, signal))
  },
  /**
   * `wantsProgress`: a comlink proxy answers every property, so whether the page passed a progress
   * callback cannot be seen from here; without one, none is called (a message per network read).
   */
  async downloadRange(id: string, job: RangeJob, callbacks: RangeCallbacks, wantsProgress: boolean): Promise<Uint8Array> {
    const local: RangeCallbacks = wantsProgress ? callbacks : { sign: (fresh) => callbacks.sign(fresh) }
    const plain = await jobs.run(id, (signal) => fetchRange(job, local, signal))
    return transfer(plain, [plain.buffer])
  },
  digestPart(id: string, job: PartJob): Promise<string> {
    return jobs.run(id, (signal) => digestPart(job, signal))
  },
  /** Aborts a job in progress (an AbortSignal cannot be posted to a Worker). */
  cancel(id: string): void {
    jobs.cancel(id)
  },
}

export type WorkerApi = typeof api

// This module is a Worker's entry script: running it is its purpose, so these calls are not import side effects.
installErrorTransport()
expose(api)
