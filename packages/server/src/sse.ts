/**
 * Server-side encryption (SSE): asking the store to encrypt objects at rest as well, under a key it
 * manages (`AES256`), a KMS key (`aws:kms`), or a key the server holds and sends with each request
 * (`SSE-C`). A second layer under Bucketseal's client-side encryption, never a replacement for it:
 * docs/SSE.md says what each mode protects against and which stores accept which.
 *
 * Which headers go on which request follows the S3 API: `AES256` and `aws:kms` only where an object
 * is written as a whole (PutObject, CreateMultipartUpload; AWS refuses them on UploadPart); SSE-C
 * on every request that writes or reads the object's bytes (PutObject, CreateMultipartUpload, every
 * UploadPart, GetObject, HeadObject). None on CompleteMultipartUpload: AWS needs SSE-C there only
 * for uploads with checksums (we send none) or under a bucket policy that demands it, and stores
 * that do not implement a header there may refuse it (R2 answers 501 to headers it lacks).
 */
import { InvalidInputError } from './errors.js'
import { md5 } from './md5.js'

/**
 * The encryption at rest to ask the store for, on every object the handler or client writes.
 *
 * - `AES256`: keys managed by the store (SSE-S3).
 * - `aws:kms`: a key in the store's KMS (SSE-KMS); `keyId` picks one, else the store's default.
 * - `SSE-C`: a 32-byte key held by your server. The store keeps only a salted HMAC of it: lose the
 *   key and the objects are lost. Presigned requests must carry it, so it reaches every browser
 *   that uploads or downloads (see docs/SSE.md for what that means).
 */
export type ServerSideEncryption =
  | { readonly mode: 'AES256' }
  | { readonly mode: 'aws:kms'; readonly keyId?: string }
  | { readonly mode: 'SSE-C'; readonly key: Uint8Array }

/**
 * The kinds of S3 request that carry SSE headers:
 * - `write`: PutObject, CreateMultipartUpload, and the destination of CopyObject;
 * - `part`: UploadPart (and the destination of UploadPartCopy);
 * - `read`: GetObject and HeadObject;
 * - `copySource`: the source object of CopyObject or UploadPartCopy.
 *
 * CompleteMultipartUpload, ListParts and AbortMultipartUpload carry none.
 */
export type SseOperation = 'write' | 'part' | 'read' | 'copySource'

/** The encryption a store reports for an object (HEAD or GET response headers). */
export type ObjectEncryption =
  | { readonly mode: 'AES256' }
  /** `keyId` as the store names it (an ARN on AWS); AWS's dual-layer `aws:kms:dsse` is reported here too. */
  | { readonly mode: 'aws:kms'; readonly keyId: string | undefined }
  /** `keyMD5`: the base64 MD5 of the customer key, which tells keys apart without revealing them. */
  | { readonly mode: 'SSE-C'; readonly keyMD5: string }

/** Headers for each {@link SseOperation}, computed once. */
export type SseHeaderTable = Readonly<Record<SseOperation, Readonly<Record<string, string>>>>

const SSE = 'x-amz-server-side-encryption'
const CUSTOMER = 'x-amz-server-side-encryption-customer-'
const COPY_CUSTOMER = 'x-amz-copy-source-server-side-encryption-customer-'
const NONE: Readonly<Record<string, string>> = Object.freeze({})

/**
 * The request headers that ask for `sse` on one kind of S3 request: sign them and send them
 * exactly. For SSE-C they contain the key (base64); treat them as secret as the key.
 *
 * | mode | write | part | read | copySource |
 * |---|---|---|---|---|
 * | `AES256` | `x-amz-server-side-encryption: AES256` | – | – | – |
 * | `aws:kms` | `…-encryption: aws:kms` and `…-aws-kms-key-id` when given | – | – | – |
 * | `SSE-C` | `…-customer-algorithm`, `-key`, `-key-md5` | the same | the same | `x-amz-copy-source-…` |
 *
 * @param sse the mode; validated here (the key is read, not kept).
 * @throws {InvalidInputError} an unknown mode, a `keyId` that is not printable ASCII, or an SSE-C
 *   key that is not a 32-byte `Uint8Array`.
 * @example
 * serverSideEncryptionHeaders({ mode: 'aws:kms', keyId: 'alias/uploads' }, 'write')
 * // { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'alias/uploads' }
 */
export function serverSideEncryptionHeaders(sse: ServerSideEncryption, operation: SseOperation): Record<string, string> {
  const table = sseHeaderTable(sse)
  if (!Object.hasOwn(table, operation)) throw new InvalidInputError(`operation must be one of ${Object.keys(table).join(', ')}.`)
  return { ...table[operation] }
}

/**
 * Validates `sse` and computes its headers for every operation: the key's base64 and MD5 once, not
 * per request. `undefined` (no SSE) gives empty header sets.
 *
 * @throws {InvalidInputError} as {@link serverSideEncryptionHeaders}.
 */
export function sseHeaderTable(sse: ServerSideEncryption | undefined): SseHeaderTable {
  if (sse === undefined) return { write: NONE, part: NONE, read: NONE, copySource: NONE }
  if (typeof sse !== 'object' || sse === null) throw new InvalidInputError("serverSideEncryption must be { mode: 'AES256' | 'aws:kms' | 'SSE-C', … }.")
  // Kept for the message: past the switch the compiler holds the mode impossible, a caller in plain JavaScript does not.
  const given: unknown = sse.mode
  switch (sse.mode) {
    case 'AES256':
      return { write: { [SSE]: 'AES256' }, part: NONE, read: NONE, copySource: NONE }
    case 'aws:kms': {
      const { keyId } = sse
      if (keyId !== undefined && (typeof keyId !== 'string' || !/^[\x21-\x7e]{1,2048}$/.test(keyId))) {
        throw new InvalidInputError('serverSideEncryption.keyId must be a KMS key id, alias or ARN (printable ASCII without spaces).')
      }
      const write: Record<string, string> = { [SSE]: 'aws:kms' }
      if (keyId !== undefined) write[`${SSE}-aws-kms-key-id`] = keyId
      return { write, part: NONE, read: NONE, copySource: NONE }
    }
    case 'SSE-C': {
      const { key } = sse
      if (!(key instanceof Uint8Array) || key.length !== 32) {
        throw new InvalidInputError('serverSideEncryption.key must be a Uint8Array of 32 bytes (an AES-256 key) for SSE-C.')
      }
      const customer = (prefix: string): Record<string, string> => ({
        [`${prefix}algorithm`]: 'AES256',
        [`${prefix}key`]: base64(key),
        [`${prefix}key-md5`]: base64(md5(key)),
      })
      const headers = customer(CUSTOMER)
      return { write: headers, part: headers, read: headers, copySource: customer(COPY_CUSTOMER) }
    }
    default:
      throw new InvalidInputError(`serverSideEncryption.mode must be 'AES256', 'aws:kms' or 'SSE-C', got ${JSON.stringify(given)}.`)
  }
}

/**
 * The encryption a store reports in an object's response headers, or `undefined` when it reports
 * none (Ceph RGW 16 reports nothing for `AES256`: docs/SSE.md).
 *
 * @example
 * readObjectEncryption(response.headers) // { mode: 'aws:kms', keyId: 'testkey-1' }
 */
export function readObjectEncryption(headers: Headers): ObjectEncryption | undefined {
  if (headers.get(`${CUSTOMER}algorithm`) !== null) return { mode: 'SSE-C', keyMD5: headers.get(`${CUSTOMER}key-md5`) ?? '' }
  const mode = headers.get(SSE)
  if (mode === 'AES256') return { mode: 'AES256' }
  if (mode?.startsWith('aws:kms') === true) return { mode: 'aws:kms', keyId: headers.get(`${SSE}-aws-kms-key-id`) ?? undefined }
  return undefined
}

/** True for the names of headers that carry SSE settings (which only the SSE option may set). */
export function isSseHeader(name: string): boolean {
  return /^x-amz-(copy-source-)?server-side-encryption/i.test(name)
}

function base64(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}
