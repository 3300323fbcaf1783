/**
 * `@bucketseal/server/s3`: the small S3 client the presign handler is built on, for an app's own
 * server-side chores (listing, HEAD, CORS setup, deleting, copying) with the same credentials and
 * the same pinned headers (content type, private ACL, the configured server-side encryption). Most
 * apps need only the package's main entry; this one is for what the handler does not do.
 * @packageDocumentation
 */
export {
  S3Client,
  objectHeaders,
  type CorsRule,
  type MultipartUpload,
  type ObjectHead,
  type ObjectList,
  type ObjectOptions,
  type ObjectSummary,
  type PrivateAcl,
  type S3ClientOptions,
  type UploadedPart,
} from './s3.js'
export {
  serverSideEncryptionHeaders,
  readObjectEncryption,
  type ObjectEncryption,
  type ServerSideEncryption,
  type SseOperation,
} from './sse.js'
export type { BucketLocation } from './endpoint.js'
export type { Credentials, SignedRequest } from './sigv4.js'
