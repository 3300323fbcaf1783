/**
 * @bucketseal/server: the backend piece of Bucketseal. A fetch-style handler presigns S3 requests
 * (multipart create, part URLs in batches, list, complete, abort; single PUT; GET with ranges; HEAD)
 * so the browser uploads ciphertext straight to the store without ever holding storage credentials,
 * and an authorization hook decides which keys each caller may touch; optionally the store encrypts at
 * rest as well (`serverSideEncryption`). Zero dependencies: AWS SigV4 on WebCrypto, for Node 20+,
 * Workers and serverless functions, against any S3-compatible endpoint.
 *
 * This entry is what an app mounts. Two subpaths hold the pieces it is built on, for apps that
 * need them: `@bucketseal/server/s3` (the S3 client: list, HEAD, CORS, copy, delete) and
 * `@bucketseal/server/sigv4` (presigned URLs and signed requests).
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
export type { ObjectEncryption, ServerSideEncryption } from './sse.js'
export type { Credentials, SignedRequest } from './sigv4.js'
export {
  ServerError,
  InvalidInputError,
  S3Error,
  BadS3ResponseError,
  S3UnreachableError,
  isServerError,
  type InvalidInputCode,
  type ServerErrorCode,
} from './errors.js'
