/**
 * `@bucketseal/server/sigv4`: AWS Signature Version 4 on WebCrypto, as the handler and the S3
 * client use it: presigned URLs, header-signed requests, and the bucket addressing (path or
 * virtual-hosted style) and URI encoding they depend on. For an app that signs requests of its own.
 * @packageDocumentation
 */
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
export { resolveBucket, type Bucket, type BucketLocation, type Query } from './endpoint.js'
export { uriEncode } from './uri.js'
