/**
 * @bucketseal/client: the browser side of Bucketseal. Parallel encrypted multipart uploads to
 * S3-compatible storage through presigned URLs, from a Worker pool (resumable, pausable,
 * cancellable); verified ranged downloads and streaming saves; sharing and rotation by server-side
 * copy. It talks only to the presigning handler of `@bucketseal/server` and to the presigned URLs
 * it returns: the other half of the same protocol.
 * @packageDocumentation
 */
export { upload, discardUpload, UPLOAD_STATE_TTL_MS, type UploadOptions, type UploadProgress, type UploadResult, type UploadTask } from './upload.js'
export { installErrorTransport } from './error-transport.js'
export { httpSigner, type Signer, type SharingSigner, type CopyRange, type ListedObject, type HttpSignerOptions, type PartInfo, type ObjectInfo } from './signer.js'
export { reencryptObject, type ReencryptOptions } from './reencrypt.js'
export { shareObject, setRecipients, rotateRecipients, type ShareOptions, type ShareResult, type RotateOptions, type RotateProgress, type RotateResult } from './share.js'
export { workerPool, inlineRunner, defaultConcurrency, type Runner } from './pool.js'
export { planParts, partAt, MIN_PART_SIZE, MAX_PARTS, DEFAULT_PART_SIZE, type PartPlan, type Part } from './parts.js'
export { checkUrl, DEFAULT_STALL_TIMEOUT_MS, type RetryOptions, type SignedRequest } from './http.js'
export { listStates as pendingUploads, uploadStore, type PendingUpload } from './state.js'
export { TransferError, type TransferErrorCode } from './errors.js'
export {
  download,
  downloadRange,
  openRemote,
  saveDownload,
  DEFAULT_MAX_BLOB_SIZE,
  type Download,
  type DownloadOptions,
  type DownloadProgress,
  type RemoteObject,
  type SaveOptions,
  type SaveResult,
} from './download.js'
export { installDownloadWorker, type DownloadWorker, type DownloadWorkerOptions, type ServedDownload, type ServedFile } from './download-worker-client.js'
