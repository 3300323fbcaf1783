/**
 * @bucketseal/server: the backend piece of Bucketseal. A fetch-style handler presigns S3 requests
 * (multipart create, part URLs in batches, list, complete, abort; single PUT; GET with ranges; HEAD)
 * so the browser uploads ciphertext straight to the store without ever holding storage credentials,
 * and an authorization hook decides which keys each caller may touch; optionally the store encrypts at
 * rest as well (`serverSideEncryption`). Zero dependencies: AWS SigV4 on WebCrypto, for Node 20+,
 * Workers and serverless functions, against any S3-compatible endpoint.
 * @packageDocumentation
 */
export {
  createPresignHandler,
  type Action,
  type AuthorizeContext,
  type HandlerErrorCode,
  type PresignHandlerOptions,
} from './handler.js'
export {
  createKmsHandler,
  localKmsAdapter,
  httpKmsAdapter,
  KmsAdapterError,
  KMS_PURPOSE,
  MAX_KMS_KEY_NAME_BYTES,
  MAX_KMS_CIPHERTEXT_BYTES,
  type HttpKmsAdapterOptions,
  type KmsAction,
  type KmsAdapter,
  type KmsAdapterErrorCode,
  type KmsAuthorizeContext,
  type KmsContext,
  type KmsHandlerErrorCode,
  type KmsHandlerOptions,
} from './kms.js'
export { toNodeListener, type NodeRequest, type NodeResponse } from './node.js'
export {
  S3Client,
  objectHeaders,
  type CorsRule,
  type ListedObject,
  type ObjectHead,
  type ObjectList,
  type ObjectOptions,
  type PendingUpload,
  type PresignedRequest,
  type S3ClientOptions,
  type UploadedPart,
} from './s3.js'
export {
  presignUrl,
  signRequest,
  MAX_PRESIGN_EXPIRES,
  type Credentials,
  type PresignOptions,
  type SignedRequest,
  type SignRequestOptions,
  type SigningScope,
} from './sigv4.js'
export {
  serverSideEncryptionHeaders,
  readObjectEncryption,
  type ObjectEncryption,
  type ServerSideEncryption,
  type SseOperation,
} from './sse.js'
export { resolveBucket, type Bucket, type BucketLocation, type Query } from './endpoint.js'
export { uriEncode } from './uri.js'
export {
  checkKey,
  checkMetadata,
  MAX_KEY_BYTES,
  MAX_METADATA_BYTES,
  MAX_PART_NUMBER,
  type CompletedPart,
} from './validate.js'
export {
  ServerError,
  InvalidArgumentError,
  S3Error,
  BadS3ResponseError,
  S3UnreachableError,
  isServerError,
  type InvalidInputCode,
  type ServerErrorCode,
} from './errors.js'
