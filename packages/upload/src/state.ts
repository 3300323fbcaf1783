/**
 * Resumable upload state in IndexedDB (idb-keyval, its own database). What is kept: the upload id,
 * object key, part plan, the header (its data key only in wrapped form), the object's content key as
 * a non-extractable CryptoKey (IndexedDB stores the key object, never its bytes), each part's
 * plaintext digest from when it was first sealed, and the ETags of finished parts.
 */
import type { ObjectKey } from '@bucketseal/core'
import { type UseStore, createStore, del, entries, get, set } from 'idb-keyval'
import { TransferError } from './errors.js'
import type { PartPlan } from './parts.js'

export interface UploadState {
  readonly version: 1
  readonly resumeKey: string
  readonly objectKey: string
  readonly uploadId: string
  readonly fileName: string
  readonly fileSize: number
  readonly lastModified: number
  readonly plan: PartPlan
  readonly header: Uint8Array
  readonly key: ObjectKey
  readonly createdAt: number
  /** SHA-256 (hex) of each part's plaintext, recorded before the part was first sealed. */
  readonly digests: Readonly<Record<number, string>>
  /** ETags of parts the store acknowledged. */
  readonly etags: Readonly<Record<number, string>>
}

let defaultStore: UseStore | undefined

/** The uploads database: `bucketseal-uploads`, created on first use. */
export function uploadStore(): UseStore {
  defaultStore ??= createStore('bucketseal-uploads', 'uploads')
  return defaultStore
}

function isState(v: unknown): v is UploadState {
  if (typeof v !== 'object' || v === null) return false
  const r = new Map(Object.entries(v))
  return (
    r.get('version') === 1 &&
    typeof r.get('uploadId') === 'string' &&
    typeof r.get('objectKey') === 'string' &&
    typeof r.get('fileSize') === 'number' &&
    r.get('header') instanceof Uint8Array &&
    typeof r.get('plan') === 'object' &&
    typeof r.get('key') === 'object' &&
    typeof r.get('digests') === 'object' &&
    typeof r.get('etags') === 'object'
  )
}

export async function loadState(resumeKey: string, store: UseStore): Promise<UploadState | undefined> {
  const value: unknown = await get(resumeKey, store)
  if (value === undefined) return undefined
  if (!isState(value)) {
    throw new TransferError('BAD_STATE', `The saved state of upload "${resumeKey}" is unreadable. Discard it with discardUpload() and start again.`)
  }
  return value
}

export async function saveState(state: UploadState, store: UseStore): Promise<void> {
  await set(state.resumeKey, state, store)
}

export async function deleteState(resumeKey: string, store: UseStore): Promise<void> {
  await del(resumeKey, store)
}

/** Summary of an unfinished upload, for an app to offer "resume" or "discard". */
export interface PendingUpload {
  readonly resumeKey: string
  readonly objectKey: string
  readonly fileName: string
  readonly fileSize: number
  readonly partsDone: number
  readonly partCount: number
  readonly createdAt: number
}

export async function listStates(store: UseStore): Promise<PendingUpload[]> {
  const all = await entries<string, unknown>(store)
  return all.flatMap(([, v]) =>
    isState(v)
      ? [
          {
            resumeKey: v.resumeKey,
            objectKey: v.objectKey,
            fileName: v.fileName,
            fileSize: v.fileSize,
            partsDone: Object.keys(v.etags).length,
            partCount: v.plan.partCount,
            createdAt: v.createdAt,
          },
        ]
      : [],
  )
}
