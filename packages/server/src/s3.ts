/**
 * A tiny S3 client for the server side: the multipart calls, HEAD, listing, delete and bucket CORS,
 * signed with our own SigV4 and sent with `fetch`. Tested against Ceph RGW, and written to the S3
 * API so it works with AWS and the other S3-compatible stores.
 */
import { type Bucket, type BucketLocation, type Query, resolveBucket } from './endpoint.js'
import { BadS3ResponseError, InvalidInputError, S3Error, S3UnreachableError } from './errors.js'
import { type Credentials, type SignedRequest, checkScope, presignUrl, signRequest } from './sigv4.js'
import { type ObjectEncryption, type ServerSideEncryption, type SseHeaderTable, isSseHeader, readObjectEncryption, sseHeaderTable } from './sse.js'
import { type CompletedPart, checkCompletedParts, checkContentType, checkEtag, checkKey, checkMetadata, checkPartNumber, checkUploadId } from './validate.js'
import { uriEncode } from './uri.js'
import { escapeXml, xmlElements, xmlText } from './xml.js'

/** Options of {@link S3Client}. */
export interface S3ClientOptions extends BucketLocation {
  readonly region: string
  readonly credentials: Credentials
  /** The `fetch` to send requests with; default the global one. Tests inject a fake here. */
  readonly fetch?: typeof fetch
  /** Milliseconds before a request to the store is given up; default 30000. */
  readonly timeoutMs?: number
  /**
   * Encryption at rest to ask the store for, on every object written, and (SSE-C) to present on
   * every read. Applied by CreateMultipartUpload, HEAD and the presigned requests of
   * {@link S3Client.presignRequest}. Default none. See docs/SSE.md.
   */
  readonly serverSideEncryption?: ServerSideEncryption
}

/** A part of a multipart upload, as ListParts reports it. */
export interface UploadedPart {
  readonly partNumber: number
  readonly etag: string
  readonly size: number
}

/** What HEAD tells about an object. */
export interface ObjectHead {
  readonly size: number
  readonly etag: string
  readonly contentType: string | undefined
  readonly lastModified: string | undefined
  /** User metadata: names lowercase, without `x-amz-meta-`. */
  readonly metadata: Record<string, string>
  /** The encryption at rest the store reports, if it reports any (absent from JSON when `undefined`). */
  readonly serverSideEncryption: ObjectEncryption | undefined
}

/** An object in a listing. */
export interface ObjectSummary {
  readonly key: string
  readonly size: number
  readonly etag: string
  readonly lastModified: string
}

/** One page of ListObjectsV2. */
export interface ObjectList {
  readonly objects: ObjectSummary[]
  /** Pass it back as `continuationToken` for the next page; `undefined` on the last page. */
  readonly nextContinuationToken: string | undefined
}

/** A multipart upload in progress. */
export interface MultipartUpload {
  readonly key: string
  readonly uploadId: string
}

/** One rule of a bucket's CORS configuration. */
export interface CorsRule {
  /** Origins, each with at most one `*` (`http://localhost:*`). */
  readonly allowedOrigins: readonly string[]
  readonly allowedMethods: readonly ('GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD')[]
  readonly allowedHeaders?: readonly string[]
  /** Response headers the browser may read; include `ETag` for multipart uploads. */
  readonly exposeHeaders?: readonly string[]
  readonly maxAgeSeconds?: number
}

/**
 * The canned ACLs an object can be written with here: only those that keep it non-public (a client
 * that may choose `public-read` publishes the bucket's ciphertext and sealed metadata to anyone).
 */
export type PrivateAcl = 'private' | 'bucket-owner-read' | 'bucket-owner-full-control'

/** Options of {@link S3Client.createMultipartUpload} and of single PUTs. */
export interface ObjectOptions {
  readonly contentType?: string
  /** `Content-Disposition` the store serves the object with, such as `attachment`. */
  readonly contentDisposition?: string
  /** `x-amz-acl`; signed into a presigned PUT, so a client that sends another value is refused. */
  readonly acl?: PrivateAcl
  /** User metadata; names with or without `x-amz-meta-`. At most 2 KB in all. */
  readonly metadata?: Readonly<Record<string, string>>
}

// Operations on one multipart upload: there a missing upload is `NoSuchUpload`, whatever the store says.
const UPLOAD_SCOPED = new Set(['ListParts', 'CompleteMultipartUpload', 'AbortMultipartUpload'])

/**
 * A client for one bucket. Holds the credentials; create one per process and share it.
 *
 * @example
 * const s3 = new S3Client({ endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', bucket: 'b', credentials })
 * const uploadId = await s3.createMultipartUpload('video.mp4', { contentType: 'video/mp4' })
 */
export class S3Client {
  readonly bucket: Bucket
  readonly #region: string
  readonly #credentials: Credentials
  readonly #fetch: typeof fetch
  readonly #timeoutMs: number
  readonly #sse: SseHeaderTable

  /** @throws {InvalidInputError} a malformed endpoint, bucket, region, credentials or `serverSideEncryption`. */
  constructor(options: S3ClientOptions) {
    this.bucket = resolveBucket(options)
    this.#region = options.region
    this.#credentials = options.credentials
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init))
    this.#timeoutMs = options.timeoutMs ?? 30_000
    if (!Number.isInteger(this.#timeoutMs) || this.#timeoutMs < 1) throw new InvalidInputError('timeoutMs must be a positive integer.')
    // Bad credentials, region or SSE settings fail here, at start-up, rather than on the first request.
    checkScope(options)
    this.#sse = sseHeaderTable(options.serverSideEncryption)
  }

  /**
   * Presigns a request on an object, for a client to send without credentials, and says which
   * headers it must carry: the given ones plus those of `serverSideEncryption` (for a PUT with a
   * `partNumber` query, UploadPart's; for any other PUT, PutObject's; for GET and HEAD, SSE-C's key).
   * All of them are signed, so a client that drops one is refused.
   *
   * @param headers headers the client must send with exactly these values (signed).
   * @throws {InvalidInputError} a bad key or `expiresIn` outside 1..604800, or an SSE header
   *   given while `serverSideEncryption` is set (the option decides them).
   * @example
   * const { url, headers } = await s3.presignRequest('GET', 'a.bin', { expiresIn: 900 })
   * const response = await fetch(url, { headers })
   */
  async presignRequest(
    method: 'GET' | 'HEAD' | 'PUT',
    key: string,
    options: { expiresIn: number; query?: Query; headers?: Readonly<Record<string, string>> },
  ): Promise<SignedRequest> {
    const url = this.bucket.objectUrl(checkKey(key), options.query)
    const sse = this.#sse[method !== 'PUT' ? 'read' : options.query?.['partNumber'] === undefined ? 'write' : 'part']
    const given = options.headers ?? {}
    const clash = Object.keys(sse).length > 0 ? Object.keys(given).find(isSseHeader) : undefined
    if (clash !== undefined) throw new InvalidInputError(`Header ${clash} is set by the serverSideEncryption option; do not pass it as well.`)
    const headers = { ...given, ...sse }
    return { url: await presignUrl({ method, url, headers, expiresIn: options.expiresIn, region: this.#region, credentials: this.#credentials }), headers }
  }

  /**
   * Presigns a request on an object and returns only its URL. With `serverSideEncryption` set the
   * request needs headers as well: use {@link S3Client.presignRequest}, which returns them.
   *
   * @param headers headers the client must send with exactly these values (signed).
   * @throws {InvalidInputError} as {@link S3Client.presignRequest}.
   * @example
   * const url = await s3.presignObject('GET', 'a.bin', { expiresIn: 900 })
   */
  async presignObject(method: 'GET' | 'HEAD' | 'PUT', key: string, options: { expiresIn: number; query?: Query; headers?: Readonly<Record<string, string>> }): Promise<string> {
    return (await this.presignRequest(method, key, options)).url
  }

  /**
   * Starts a multipart upload, binding its content type, user metadata and `serverSideEncryption`.
   *
   * @returns the upload id.
   * @throws {InvalidInputError} | {S3Error} | {BadS3ResponseError} | {S3UnreachableError}
   * @example
   * const uploadId = await s3.createMultipartUpload('a.bin', { metadata: { owner: 'ada' } })
   */
  async createMultipartUpload(key: string, options: ObjectOptions = {}): Promise<string> {
    const headers = { ...objectHeaders(options), ...this.#sse.write }
    const body = await this.#send('CreateMultipartUpload', 'POST', this.bucket.objectUrl(checkKey(key), { uploads: '' }), { headers })
    const uploadId = xmlText(body, 'UploadId')
    if (uploadId === undefined || uploadId === '') throw new BadS3ResponseError('CreateMultipartUpload answered without an UploadId.')
    return uploadId
  }

  /**
   * Lists every part uploaded so far, following the pages.
   *
   * @throws {InvalidInputError} | {S3Error} `NoSuchUpload` when the upload is gone | {BadS3ResponseError} | {S3UnreachableError}
   * @example
   * const done = await s3.listParts('a.bin', uploadId)
   */
  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = []
    let marker = '0'
    for (;;) {
      const url = this.bucket.objectUrl(checkKey(key), { uploadId: checkUploadId(uploadId), 'part-number-marker': marker, 'max-parts': '1000' })
      const body = await this.#send('ListParts', 'GET', url)
      for (const part of xmlElements(body, 'Part')) {
        parts.push({
          partNumber: checkPartNumber(Number(xmlText(part, 'PartNumber'))),
          etag: xmlText(part, 'ETag') ?? '',
          size: Number(xmlText(part, 'Size')),
        })
      }
      const next = xmlText(body, 'NextPartNumberMarker')
      if (xmlText(body, 'IsTruncated') !== 'true' || next === undefined || next === marker) break
      marker = next
    }
    return parts
  }

  /**
   * Completes a multipart upload. Some stores (Ceph 16) answer with an empty ETag; the ETag is then
   * read with a HEAD (which carries the SSE-C key when `serverSideEncryption` is SSE-C).
   *
   * @returns the object's ETag.
   * @throws {InvalidInputError} | {S3Error} (`NoSuchUpload`, `InvalidPart`, `EntityTooSmall`, …) | {BadS3ResponseError} | {S3UnreachableError}
   * @example
   * const { etag } = await s3.completeMultipartUpload('a.bin', uploadId, [{ partNumber: 1, etag }])
   */
  async completeMultipartUpload(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<{ etag: string }> {
    const sorted = checkCompletedParts(parts)
    const xml =
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      sorted.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`).join('') +
      '</CompleteMultipartUpload>'
    const url = this.bucket.objectUrl(checkKey(key), { uploadId: checkUploadId(uploadId) })
    const body = await this.#send('CompleteMultipartUpload', 'POST', url, { body: xml, headers: { 'content-type': 'application/xml' } })
    const etag = xmlText(body, 'ETag') ?? ''
    return { etag: etag !== '' ? etag : (await this.headObject(key)).etag }
  }

  /**
   * Aborts a multipart upload and frees its parts.
   *
   * @throws {InvalidInputError} | {S3Error} `NoSuchUpload` when it is already gone | {S3UnreachableError}
   * @example
   * await s3.abortMultipartUpload('a.bin', uploadId)
   */
  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.#send('AbortMultipartUpload', 'DELETE', this.bucket.objectUrl(checkKey(key), { uploadId: checkUploadId(uploadId) }))
  }

  /**
   * Lists the multipart uploads in progress under a prefix, following the pages.
   *
   * @throws {S3Error} | {S3UnreachableError}
   * @example
   * const pending = await s3.listMultipartUploads('users/42/')
   */
  async listMultipartUploads(prefix = ''): Promise<MultipartUpload[]> {
    const uploads: MultipartUpload[] = []
    let keyMarker = ''
    let uploadIdMarker = ''
    for (;;) {
      const query: Record<string, string> = { uploads: '', prefix }
      if (keyMarker !== '') query['key-marker'] = keyMarker
      if (uploadIdMarker !== '') query['upload-id-marker'] = uploadIdMarker
      const body = await this.#send('ListMultipartUploads', 'GET', this.bucket.bucketUrl(query))
      for (const upload of xmlElements(body, 'Upload')) {
        uploads.push({ key: xmlText(upload, 'Key') ?? '', uploadId: xmlText(upload, 'UploadId') ?? '' })
      }
      const nextKey = xmlText(body, 'NextKeyMarker') ?? ''
      const nextId = xmlText(body, 'NextUploadIdMarker') ?? ''
      if (xmlText(body, 'IsTruncated') !== 'true' || (nextKey === keyMarker && nextId === uploadIdMarker)) break
      keyMarker = nextKey
      uploadIdMarker = nextId
    }
    return uploads
  }

  /**
   * Reads an object's size, ETag, content type, user metadata and encryption at rest.
   *
   * @throws {InvalidInputError} | {S3Error} `NoSuchKey` when there is no such object | {S3UnreachableError}
   * @example
   * const { size, metadata } = await s3.headObject('a.bin')
   */
  async headObject(key: string): Promise<ObjectHead> {
    const response = await this.#request('HeadObject', 'HEAD', this.bucket.objectUrl(checkKey(key)), { headers: { ...this.#sse.read } })
    const metadata: Record<string, string> = {}
    for (const [name, value] of response.headers) {
      if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = value
    }
    const size = Number(response.headers.get('content-length'))
    if (!Number.isSafeInteger(size)) throw new BadS3ResponseError('HeadObject answered without a Content-Length.')
    return {
      size,
      etag: response.headers.get('etag') ?? '',
      contentType: response.headers.get('content-type') ?? undefined,
      lastModified: response.headers.get('last-modified') ?? undefined,
      metadata,
      serverSideEncryption: readObjectEncryption(response.headers),
    }
  }

  /**
   * Replaces an object's user metadata (and content type) with a copy of the object onto itself:
   * the store rewrites its metadata without the body crossing the network. `ifMatch` pins the copy
   * to the version the caller read.
   *
   * @throws {InvalidInputError} | {S3Error} `PreconditionFailed` when the object changed | {S3UnreachableError}
   * @example
   * await s3.replaceMetadata('a.bin', { metadata: { 'client-side-encryption-key': '…' } })
   */
  async replaceMetadata(key: string, options: ObjectOptions & { ifMatch?: string } = {}): Promise<{ etag: string }> {
    checkKey(key)
    const headers: Record<string, string> = {
      ...objectHeaders(options),
      ...this.#sse.write,
      ...this.#sse.copySource,
      'x-amz-copy-source': this.#copySource(key),
      'x-amz-metadata-directive': 'REPLACE',
    }
    if (options.ifMatch !== undefined) headers['x-amz-copy-source-if-match'] = checkEtag(options.ifMatch)
    const body = await this.#send('CopyObject', 'PUT', this.bucket.objectUrl(key), { headers })
    return { etag: xmlText(body, 'ETag') ?? '' }
  }

  /**
   * Copies bytes `[start, end)` of `sourceKey` into part `partNumber` of a multipart upload to `key`
   * (UploadPartCopy): the store copies, nothing crosses the network.
   *
   * @throws {InvalidInputError} | {S3Error} `PreconditionFailed` when the source changed | {S3UnreachableError}
   * @example
   * const { etag } = await s3.uploadPartCopy('a.bin', uploadId, 2, 'a.bin', 5242880, 10485760)
   */
  async uploadPartCopy(key: string, uploadId: string, partNumber: number, sourceKey: string, start: number, end: number, ifMatch?: string): Promise<{ etag: string }> {
    checkKey(key)
    checkKey(sourceKey)
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
      throw new InvalidInputError('The copy range must be [start, end) with 0 ≤ start < end.')
    }
    const headers: Record<string, string> = {
      ...this.#sse.part,
      ...this.#sse.copySource,
      'x-amz-copy-source': this.#copySource(sourceKey),
      'x-amz-copy-source-range': `bytes=${start}-${end - 1}`,
    }
    if (ifMatch !== undefined) headers['x-amz-copy-source-if-match'] = checkEtag(ifMatch)
    const url = this.bucket.objectUrl(key, { partNumber: String(checkPartNumber(partNumber)), uploadId: checkUploadId(uploadId) })
    const body = await this.#send('UploadPartCopy', 'PUT', url, { headers })
    const etag = xmlText(body, 'ETag')
    if (etag === undefined || etag === '') throw new BadS3ResponseError('UploadPartCopy answered without an ETag.')
    return { etag }
  }

  /** `x-amz-copy-source`: the bucket and key, URI-encoded (slashes kept). */
  #copySource(key: string): string {
    return `/${uriEncode(this.bucket.name)}/${uriEncode(key, true)}`
  }

  /**
   * Lists one page of objects (ListObjectsV2).
   *
   * @throws {S3Error} | {S3UnreachableError}
   * @example
   * let page = await s3.listObjectsV2({ prefix: 'users/42/' })
   */
  async listObjectsV2(options: { prefix?: string; continuationToken?: string; maxKeys?: number } = {}): Promise<ObjectList> {
    const query: Record<string, string> = { 'list-type': '2', prefix: options.prefix ?? '' }
    if (options.continuationToken !== undefined) query['continuation-token'] = options.continuationToken
    if (options.maxKeys !== undefined) {
      if (!Number.isInteger(options.maxKeys) || options.maxKeys < 1 || options.maxKeys > 1000) throw new InvalidInputError('maxKeys must be an integer from 1 to 1000.')
      query['max-keys'] = String(options.maxKeys)
    }
    const body = await this.#send('ListObjectsV2', 'GET', this.bucket.bucketUrl(query))
    const objects = xmlElements(body, 'Contents').map((entry) => ({
      key: xmlText(entry, 'Key') ?? '',
      size: Number(xmlText(entry, 'Size')),
      etag: xmlText(entry, 'ETag') ?? '',
      lastModified: xmlText(entry, 'LastModified') ?? '',
    }))
    const truncated = xmlText(body, 'IsTruncated') === 'true'
    return { objects, nextContinuationToken: truncated ? xmlText(body, 'NextContinuationToken') : undefined }
  }

  /**
   * Deletes an object. Deleting a missing object succeeds, as in S3.
   *
   * @throws {InvalidInputError} | {S3Error} | {S3UnreachableError}
   * @example
   * await s3.deleteObject('a.bin')
   */
  async deleteObject(key: string): Promise<void> {
    await this.#send('DeleteObject', 'DELETE', this.bucket.objectUrl(checkKey(key)))
  }

  /**
   * Replaces the bucket's CORS configuration. A browser uploader needs `PUT` allowed for its origin
   * and `ETag` exposed.
   *
   * @throws {S3Error} | {S3UnreachableError}
   * @example
   * await s3.putBucketCors([{ allowedOrigins: ['https://app.example'], allowedMethods: ['PUT'], allowedHeaders: ['*'], exposeHeaders: ['ETag'] }])
   */
  async putBucketCors(rules: readonly CorsRule[]): Promise<void> {
    const list = (tag: string, values: readonly string[] | undefined): string => (values ?? []).map((v) => `<${tag}>${escapeXml(v)}</${tag}>`).join('')
    const xml =
      '<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      rules
        .map(
          (r) =>
            '<CORSRule>' +
            list('AllowedOrigin', r.allowedOrigins) +
            list('AllowedMethod', r.allowedMethods) +
            list('AllowedHeader', r.allowedHeaders) +
            list('ExposeHeader', r.exposeHeaders) +
            (r.maxAgeSeconds === undefined ? '' : `<MaxAgeSeconds>${Math.trunc(r.maxAgeSeconds)}</MaxAgeSeconds>`) +
            '</CORSRule>',
        )
        .join('') +
      '</CORSConfiguration>'
    // PutBucketCors requires an integrity header: AWS takes a SHA-256 checksum where it once took
    // Content-MD5, which WebCrypto cannot compute.
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(xml)))
    const headers = { 'content-type': 'application/xml', 'x-amz-checksum-sha256': btoa(String.fromCharCode(...digest)) }
    await this.#send('PutBucketCors', 'PUT', this.bucket.bucketUrl({ cors: '' }), { body: xml, headers })
  }

  /** Sends a signed request and returns the body of a successful answer. */
  async #send(operation: string, method: string, url: URL, init: { body?: string; headers?: Record<string, string> } = {}): Promise<string> {
    const response = await this.#request(operation, method, url, init)
    const body = await response.text()
    // CompleteMultipartUpload can fail after its 200 status line went out: the error is in the body.
    if (/^\s*(<\?xml[^>]*\?>\s*)?<Error>/.test(body)) throw s3Error(operation, 500, body, response.headers)
    return body
  }

  async #request(operation: string, method: string, url: URL, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const signing = { method, url, region: this.#region, credentials: this.#credentials }
    const signed = await signRequest({
      ...signing,
      ...(init.headers === undefined ? {} : { headers: init.headers }),
      ...(init.body === undefined ? {} : { body: init.body }),
    })
    let response: Response
    try {
      const requestInit: RequestInit = { method, headers: signed.headers, signal: AbortSignal.timeout(this.#timeoutMs) }
      if (init.body !== undefined) requestInit.body = init.body
      response = await this.#fetch(signed.url, requestInit)
    } catch (error) {
      throw new S3UnreachableError(`${operation}: the object store at ${url.origin} could not be reached.`, error)
    }
    if (!response.ok) throw s3Error(operation, response.status, method === 'HEAD' ? '' : await response.text().catch(() => ''), response.headers)
    return response
  }
}

/**
 * The headers that carry an object's content type, disposition, canned ACL and `x-amz-meta-*`
 * metadata, validated and normalized: sent with CreateMultipartUpload and CopyObject, and signed into
 * a single PUT's URL.
 *
 * @throws {InvalidInputError} with code `INVALID_CONTENT_TYPE` (type or disposition), `INVALID_METADATA`,
 *   or `INVALID_ARGUMENT` (an ACL that is not one of {@link PrivateAcl}).
 * @example
 * objectHeaders({ contentType: 'text/plain', metadata: { owner: 'ada' } }) // { 'content-type': 'text/plain', 'x-amz-meta-owner': 'ada' }
 */
export function objectHeaders(options: ObjectOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  if (options.contentType !== undefined) headers['content-type'] = checkContentType(options.contentType)
  if (options.contentDisposition !== undefined) headers['content-disposition'] = checkContentType(options.contentDisposition, 'contentDisposition')
  if (options.acl !== undefined) {
    const acl: unknown = options.acl
    if (!PRIVATE_ACLS.some((a) => a === acl)) throw new InvalidInputError(`acl must be one of ${PRIVATE_ACLS.join(', ')}.`)
    headers['x-amz-acl'] = options.acl
  }
  if (options.metadata !== undefined) {
    for (const [name, value] of Object.entries(checkMetadata(options.metadata))) headers[`x-amz-meta-${name}`] = value
  }
  return headers
}

const PRIVATE_ACLS: readonly PrivateAcl[] = ['private', 'bucket-owner-read', 'bucket-owner-full-control']

const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NoSuchKey',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  412: 'PreconditionFailed',
  416: 'InvalidRange',
  500: 'InternalError',
  503: 'ServiceUnavailable',
}

function s3Error(operation: string, status: number, body: string, headers: Headers): S3Error {
  // Only Code, Message and RequestId are read: a SignatureDoesNotMatch body also carries the string
  // to sign and the access key id, which must not travel further.
  let code = xmlText(body, 'Code') ?? STATUS_CODES[status] ?? (status >= 500 ? 'InternalError' : 'BadRequest')
  // Ceph RGW says NoSuchKey where AWS says NoSuchUpload; callers deserve one answer.
  if (code === 'NoSuchKey' && UPLOAD_SCOPED.has(operation)) code = 'NoSuchUpload'
  const message = xmlText(body, 'Message') ?? `${operation} failed with HTTP ${status}.`
  const requestId = xmlText(body, 'RequestId') ?? headers.get('x-amz-request-id') ?? undefined
  return new S3Error(status, code, message, requestId)
}
