/**
 * Upload and download errors. They share the shape of core's errors (`name`, `message`, a stable
 * `code`), and keep it across the Worker boundary (see `worker-errors.ts`).
 */
import { BucketsealError } from '@bucketseal/core'

export type TransferErrorCode =
  /** A bad argument: sizes, URLs, options. */
  | 'INVALID_ARGUMENT'
  /** A presigned URL that is not https (outside localhost) and the caller did not allow it. */
  | 'INSECURE_URL'
  /** The store answered a part upload without an `ETag` header the browser can read (CORS). */
  | 'MISSING_ETAG'
  /** The store or the presigning server refused the request (a 4xx other than 408/429). */
  | 'REQUEST_REJECTED'
  /** Network errors, 5xx or 429 persisted through every retry. */
  | 'NETWORK'
  /** The caller aborted. */
  | 'ABORTED'
  /** On resume, the file is not the one the upload started with. */
  | 'FILE_CHANGED'
  /** Stored upload state is unreadable or inconsistent. */
  | 'BAD_STATE'
  /** A pool Worker failed to load or crashed (a wrong script URL, a bundler without Worker support). */
  | 'WORKER_FAILED'
  /** Another tab or call is running the upload with this resume key right now. */
  | 'UPLOAD_IN_PROGRESS'
  /** The saved upload was started with other recipients, metadata, object key or sizes than this call's. */
  | 'RESUME_MISMATCH'

export class TransferError extends BucketsealError<TransferErrorCode> {
  /** HTTP status, when the error comes from a response. */
  readonly status: number | undefined
  /**
   * Who refused or failed, when a response says: the app's presigning backend (`signer`: its
   * authorization hook, say) or the storage server (`store`: an expired URL, say).
   */
  readonly source: 'signer' | 'store' | undefined

  constructor(code: TransferErrorCode, message: string, options?: { status?: number; source?: 'signer' | 'store'; cause?: unknown }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TransferError'
    this.status = options?.status
    this.source = options?.source
  }
}

export function abortError(signal: AbortSignal | undefined): TransferError {
  const reason: unknown = signal?.reason
  const detail = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : ''
  return new TransferError('ABORTED', `The transfer was cancelled${detail}.`)
}
