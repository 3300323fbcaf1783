/**
 * One runner per resume key across the tabs of a profile: a Web Lock held for the whole run. A
 * second caller fails at once with UPLOAD_IN_PROGRESS rather than waiting: an app shows that the
 * file is being uploaded elsewhere, which a silent wait would hide. Where Web Locks is missing
 * (old browsers, some embedded views), the run goes on unlocked and the per-part records written
 * compare-and-set (state.ts) still keep two runners from sealing two plaintexts under one nonce.
 */
import { TransferError } from './errors.js'

/** Runs `work` holding the lock of `resumeKey`. @throws {TransferError} UPLOAD_IN_PROGRESS */
export async function withUploadLock<T>(resumeKey: string, work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks
  if (locks === undefined || locks === null || typeof locks.request !== 'function') return work()
  return locks.request(`bucketseal-upload:${resumeKey}`, { ifAvailable: true }, (lock) => {
    if (lock === null) {
      throw new TransferError(
        'UPLOAD_IN_PROGRESS',
        `Upload "${resumeKey}" is running in another tab or call of this browser. Wait for it to finish, or cancel it there.`,
      )
    }
    return work()
  })
}
