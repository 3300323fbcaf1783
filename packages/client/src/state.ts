/**
 * Resumable upload state in IndexedDB (idb-keyval's store, its own database). What is kept: the
 * upload id, object key, part plan, the header (its data key only in wrapped form), the object's
 * content key as a non-extractable CryptoKey (scripts cannot read its bytes; the browser keeps them
 * in the profile, as it must to use the key later), the sealed metadata as given, each part's
 * digest from when it was first sealed (of its GCM tags: it confirms no guessed file without the
 * key), and the ETags of finished parts.
 *
 * Every change is a read-check-write inside one IndexedDB transaction, never a write of an
 * in-memory copy: two tabs (or two calls) that meet on one upload then cannot both record a digest
 * for a part, and neither erases what the other recorded. Web Locks (locks.ts) keep a second runner
 * out altogether; this is what still holds where Web Locks is missing.
 */
import { type ObjectKey, StanzaType, parseHeader, stanzaKeyId } from '@bucketseal/core'
import { type UseStore, createStore, entries, promisifyRequest } from 'idb-keyval'
import { TransferError } from './errors.js'
import type { PartPlan } from './parts.js'

export interface UploadState {
  readonly version: 2
  readonly resumeKey: string
  readonly objectKey: string
  readonly uploadId: string
  readonly fileName: string
  readonly fileSize: number
  readonly lastModified: number
  readonly plan: PartPlan
  readonly header: Uint8Array
  readonly key: ObjectKey
  /** The sealed metadata in canonical JSON (`''` for none): a resume must ask for the same. */
  readonly metadata: string
  readonly createdAt: number
  /** Each part's digest (seal-part.ts), recorded when it was first sealed, before it was sent. */
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isStringMap(v: unknown): v is Record<number, string> {
  return isRecord(v) && Object.entries(v).every(([k, x]) => /^[1-9][0-9]*$/.test(k) && typeof x === 'string')
}

function isPlan(v: unknown): v is PartPlan {
  return (
    isRecord(v) &&
    ['partSize', 'partCount', 'chunkSize', 'plaintextLength', 'headerLength'].every((k) => Number.isSafeInteger(v[k]) && Number(v[k]) >= 0) &&
    typeof v.single === 'boolean'
  )
}

function isState(v: unknown): v is UploadState {
  return (
    isRecord(v) &&
    v.version === 2 &&
    typeof v.resumeKey === 'string' &&
    typeof v.uploadId === 'string' &&
    typeof v.objectKey === 'string' &&
    typeof v.fileName === 'string' &&
    typeof v.fileSize === 'number' &&
    typeof v.lastModified === 'number' &&
    typeof v.metadata === 'string' &&
    typeof v.createdAt === 'number' &&
    v.header instanceof Uint8Array &&
    isPlan(v.plan) &&
    isRecord(v.key) &&
    isStringMap(v.digests) &&
    isStringMap(v.etags)
  )
}

function unreadable(resumeKey: string): TransferError {
  return new TransferError('BAD_STATE', `The saved state of upload "${resumeKey}" is unreadable. Discard it with discardUpload("${resumeKey}") and start again.`)
}

/**
 * Runs `step` on the stored value of `key` and applies its decision in the same readwrite
 * transaction: `put` a new value, `delete`, or leave it. A throw from `step` writes nothing.
 */
function transact<T>(
  store: UseStore,
  key: string,
  step: (current: unknown) => { readonly result: T; readonly put?: UploadState; readonly delete?: true },
): Promise<T> {
  return store('readwrite', (os) =>
    promisifyRequest(os.get(key)).then((current: unknown) => {
      const decision = step(current)
      if (decision.put !== undefined) os.put(decision.put, key)
      else if (decision.delete === true) os.delete(key)
      return promisifyRequest(os.transaction).then(() => decision.result)
    }),
  )
}

/** The state of `resumeKey`, or `undefined`. @throws {TransferError} BAD_STATE for a corrupt record. */
export async function loadState(resumeKey: string, store: UseStore): Promise<UploadState | undefined> {
  const value = await store('readonly', (os) => promisifyRequest<unknown>(os.get(resumeKey)))
  if (value === undefined) return undefined
  if (!isState(value) || value.resumeKey !== resumeKey) throw unreadable(resumeKey)
  return value
}

/**
 * Saves a new upload's state unless one is already there (another runner got there first): returns
 * the state that is stored now, which the caller must use.
 */
export function createState(state: UploadState, store: UseStore): Promise<UploadState> {
  return transact(store, state.resumeKey, (current) => {
    if (current === undefined) return { result: state, put: state }
    if (!isState(current)) throw unreadable(state.resumeKey)
    return { result: current }
  })
}

/** The stored state if it is still this upload's; otherwise a typed error (another runner replaced it). */
function ours(current: unknown, resumeKey: string, uploadId: string): UploadState {
  if (current === undefined) {
    throw new TransferError('BAD_STATE', `The saved state of upload "${resumeKey}" is gone: another tab finished, cancelled or discarded it.`)
  }
  if (!isState(current)) throw unreadable(resumeKey)
  if (current.uploadId !== uploadId) {
    throw new TransferError('UPLOAD_IN_PROGRESS', `Upload "${resumeKey}" was restarted by another tab or call; this run stops.`)
  }
  return current
}

/**
 * Records part `number`'s digest before the part is sent, or checks it against the one recorded
 * when the part was first sealed, atomically.
 * @throws {TransferError} FILE_CHANGED when another digest is recorded; BAD_STATE, UPLOAD_IN_PROGRESS.
 */
export function claimDigest(resumeKey: string, uploadId: string, number: number, digest: string, store: UseStore): Promise<void> {
  return transact(store, resumeKey, (current) => {
    const state = ours(current, resumeKey, uploadId)
    const known = state.digests[number]
    if (known === digest) return { result: undefined }
    if (known !== undefined) {
      throw new TransferError(
        'FILE_CHANGED',
        `Part ${number} of "${resumeKey}" differs from when it was first encrypted: the file changed. Re-encrypting it under the same nonces would be unsafe; discard the upload with discardUpload("${resumeKey}") and start again.`,
      )
    }
    return { result: undefined, put: { ...state, digests: { ...state.digests, [number]: digest } } }
  })
}

/** Records the ETag of a part the store acknowledged. */
export function recordEtag(resumeKey: string, uploadId: string, number: number, etag: string, store: UseStore): Promise<void> {
  return transact(store, resumeKey, (current) => {
    const state = ours(current, resumeKey, uploadId)
    return { result: undefined, put: { ...state, etags: { ...state.etags, [number]: etag } } }
  })
}

/** Replaces the finished parts with what the store lists (it is the truth after an interruption). */
export function replaceEtags(resumeKey: string, uploadId: string, etags: Readonly<Record<number, string>>, store: UseStore): Promise<UploadState> {
  return transact(store, resumeKey, (current) => {
    const next = { ...ours(current, resumeKey, uploadId), etags }
    return { result: next, put: next }
  })
}

/** Deletes the state of `resumeKey`; with `uploadId`, only if it is still that upload's. */
export function deleteState(resumeKey: string, store: UseStore, uploadId?: string): Promise<void> {
  return transact(store, resumeKey, (current) => {
    if (uploadId !== undefined && isState(current) && current.uploadId !== uploadId) return { result: undefined }
    return current === undefined ? { result: undefined } : { result: undefined, delete: true }
  })
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
  /**
   * Key ids (hex) of the recipients it is encrypted for (passphrase entries have none): a resume
   * must give the same recipients, so an app can preselect them.
   */
  readonly recipientKeyIds: readonly string[]
  /** Passphrase entries among its recipients. */
  readonly passphrases: number
}

function recipientsOf(header: Uint8Array): Pick<PendingUpload, 'recipientKeyIds' | 'passphrases'> {
  try {
    const stanzas = parseHeader(header).recipients
    return {
      recipientKeyIds: stanzas.flatMap((s) => stanzaKeyId(s) ?? []),
      passphrases: stanzas.filter((s) => s.type === StanzaType.PASSPHRASE).length,
    }
  } catch {
    return { recipientKeyIds: [], passphrases: 0 }
  }
}

/** Unfinished uploads in `store` (unreadable records are left out). */
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
            ...recipientsOf(v.header),
          },
        ]
      : [],
  )
}
