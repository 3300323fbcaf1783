/**
 * Finding, checking and bringing in line a saved upload before it resumes: the file must be the
 * same (size, time, then each finished part's digest), the call must ask for the same object
 * (resume-check.ts), and the parts the store has are the truth about what is done.
 */
import { TransferError } from './errors.js'
import { partAt } from './parts.js'
import type { Runner } from './pool.js'
import type { PartJob } from './seal-part.js'
import { type UploadIntent, resumeDifferences } from './resume-check.js'
import type { Signer } from './signer.js'
import { type UploadState, replaceEtags } from './state.js'
import type { UseStore } from 'idb-keyval'

/** The file this call uploads, as the saved state describes files. */
export interface FileIdentity {
  readonly size: number
  readonly lastModified: number
}

/**
 * Refuses a saved upload this call must not resume.
 * @throws {TransferError} FILE_CHANGED (another file), RESUME_MISMATCH (other recipients, metadata, key or sizes).
 */
export async function checkResumable(state: UploadState, file: FileIdentity, intent: UploadIntent): Promise<void> {
  if (state.fileSize !== file.size || state.lastModified !== file.lastModified) {
    throw new TransferError(
      'FILE_CHANGED',
      `"${state.resumeKey}" does not match the file this upload started with on ${new Date(state.createdAt).toISOString()} (size or modification time differ). Pick the original file, or discard the old upload with discardUpload("${state.resumeKey}").`,
    )
  }
  const differ = await resumeDifferences(state, intent)
  if (differ.length > 0) {
    throw new TransferError(
      'RESUME_MISMATCH',
      `The unfinished upload "${state.resumeKey}" was started with other options: ${differ.join(', ')} differ. Resuming would keep what it was started with, so it is refused; pass restart: true (or call discardUpload("${state.resumeKey}")) to start over with a fresh data key.`,
    )
  }
}

/**
 * Brings saved state in line with the store: parts the store has (and that were sealed from a
 * recorded digest) count as done; parts recorded but lost by the store are sent again. Returns
 * `null` when the store no longer knows the upload (aborted or expired): the caller starts afresh,
 * with a new data key, so no nonce is reused.
 */
export async function reconcile(state: UploadState, signer: Signer, store: UseStore): Promise<UploadState | null> {
  let listed
  try {
    listed = await signer.listParts(state.objectKey, state.uploadId)
  } catch (e) {
    if (e instanceof TransferError && e.status === 404) return null
    throw e
  }
  const etags: Record<number, string> = {}
  for (const p of listed) {
    if (!Number.isInteger(p.partNumber) || p.partNumber < 1 || p.partNumber > state.plan.partCount) continue
    if (state.digests[p.partNumber] === undefined) continue
    if (p.size !== undefined && p.size !== partAt(state.plan, p.partNumber).size) continue
    etags[p.partNumber] = p.etag
  }
  return replaceEtags(state.resumeKey, state.uploadId, etags, store)
}

/**
 * Re-reads (and re-seals, unsent) every part the store already has and compares its digest with
 * the one recorded when it was sealed. Size and modification time catch ordinary edits; this catches the rest, which would
 * otherwise give an object mixing old and new parts of the file.
 * @throws {TransferError} FILE_CHANGED
 */
export async function verifyDoneParts(state: UploadState, jobOf: (number: number) => PartJob, runner: Runner): Promise<void> {
  const done = Object.keys(state.etags).map(Number)
  let next = 0
  const lane = async (): Promise<void> => {
    for (let i = next++; i < done.length; i = next++) {
      const number = done[i]
      if (number === undefined) return
      const digest = await runner.digestPart(`digest-${number}`, jobOf(number))
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
