/**
 * The presign handler: a standard `fetch`-style `(Request) => Promise<Response>` that an app mounts
 * under a base path (Node's http through {@link toNodeListener}, Express, Hono, a serverless
 * function). The browser POSTs JSON to `<basePath>/<action>` and gets presigned URLs back; the
 * storage credentials never leave the server, and the app's `authorize` hook decides which object
 * keys each caller may touch.
 */
import { InvalidInputError, isServerError, S3Error } from './errors.js'
import { type ObjectOptions, S3Client, objectHeaders } from './s3.js'
import type { Credentials } from './sigv4.js'
import { MAX_PRESIGN_EXPIRES } from './sigv4.js'
import type { ServerSideEncryption } from './sse.js'
import { MAX_PART_NUMBER, checkCompletedParts, checkContentType, checkEtag, checkKey, checkMetadata, checkPartNumbers, checkRange, checkUploadId } from './validate.js'

/** The actions of the handler, each at `POST <basePath>/<action>`. */
export type Action =
  | 'createMultipart'
  | 'signParts'
  | 'listParts'
  | 'complete'
  | 'abort'
  | 'signPut'
  | 'signGet'
  | 'signHead'
  | 'head'
  | 'replaceMetadata'
  | 'copyParts'
  | 'list'
  | 'delete'

/** What the `authorize` hook is asked about. */
export interface AuthorizeContext {
  /** The incoming request: read the app's session cookie or bearer token from it. Its body is consumed. */
  readonly request: Request
  readonly action: Action
  /** The object key the request would touch, already validated. */
  readonly key: string
}

/** Options of {@link createPresignHandler}. */
export interface PresignHandlerOptions {
  /** The S3 endpoint, such as `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:7480`. */
  readonly endpoint: string | URL
  readonly region: string
  readonly bucket: string
  readonly credentials: Credentials
  /** Default `true` for every endpoint but AWS's own. */
  readonly forcePathStyle?: boolean
  /** Allow a plain-http endpoint off loopback; presigned URLs then travel unencrypted. */
  readonly dangerouslyAllowHttp?: boolean
  /**
   * Decides whether this request may perform `action` on `key`; only `true` allows. Required: there
   * is no default that lets everyone touch everything. Runs after the input is validated.
   */
  readonly authorize: (context: AuthorizeContext) => boolean | Promise<boolean>
  /** Seconds the presigned URLs stay valid; default 900, at most 604800. */
  readonly expiresIn?: number
  /** Most part URLs one `signParts` request may ask for; default 100. */
  readonly maxPartUrlsPerRequest?: number
  /** The path the handler is mounted at; default `/api/s3`. */
  readonly basePath?: string
  /** The `fetch` used to reach the store; default the global one. */
  readonly fetch?: typeof fetch
  /**
   * Ask the store to encrypt at rest as well: `{ mode: 'AES256' }`, `{ mode: 'aws:kms', keyId? }` or
   * `{ mode: 'SSE-C', key }` (32 bytes held by this server). Its headers are signed into every
   * presigned request and returned in each answer's `headers`, which the browser must send as they
   * are. With SSE-C those headers contain the key, so every browser that uploads or downloads sees
   * it: read docs/SSE.md before choosing SSE-C. Default none.
   */
  readonly serverSideEncryption?: ServerSideEncryption
}

/**
 * The `code` of a JSON error the handler answers. Besides these: the input codes of
 * {@link InvalidInputError} (`INVALID_KEY`, `INVALID_PART_NUMBER`, … with HTTP 400), and the
 * store's own S3 codes (`NoSuchUpload`, `NoSuchKey`, `InvalidPart`, `EntityTooSmall`, …).
 */
export type HandlerErrorCode =
  /** 400: the body is not a JSON object. */
  | 'BAD_REQUEST'
  /** 403: the authorize hook said no. */
  | 'FORBIDDEN'
  /** 404: no such action under the base path. */
  | 'NOT_FOUND'
  /** 405: actions take POST only. */
  | 'METHOD_NOT_ALLOWED'
  /** 413: the body is over 1 MiB. */
  | 'PAYLOAD_TOO_LARGE'
  /** 415: the body must be sent as `application/json` (which also keeps plain cross-site forms out). */
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** 502: the store could not be reached, or answered nonsense. */
  | 'S3_UNREACHABLE'
  | 'BAD_S3_RESPONSE'
  /** 500: anything else (the hook threw, a bug); details stay in the server. */
  | 'INTERNAL'

const ACTIONS: readonly Action[] = ['createMultipart', 'signParts', 'listParts', 'complete', 'abort', 'signPut', 'signGet', 'signHead', 'head', 'replaceMetadata', 'copyParts', 'list', 'delete']
const isAction = (name: string): name is Action => ACTIONS.some((action) => action === name)
const MAX_BODY_BYTES = 1 << 20
type Json = Record<string, unknown>

/** The only content type the handler stores objects as: Bucketseal objects are ciphertext. */
const STORED_TYPE = 'application/octet-stream'

/**
 * What every object the handler writes is pinned to, whatever the client asks: served as a download
 * of opaque bytes (never as `text/html` from the bucket's origin) and never public. On presigned PUTs
 * these are signed headers, so a client that changes one is refused (SignatureDoesNotMatch) on any
 * store that checks signatures, Ceph RGW included; on CreateMultipartUpload and CopyObject the server
 * sends them itself.
 */
const PINNED: ObjectOptions = { contentType: STORED_TYPE, contentDisposition: 'attachment', acl: 'private' }

/**
 * Signed into every presigned GET: the store answers with these response headers whatever type an
 * object was stored with (one written before this pinning, or by another tool), so a link opened in
 * a tab downloads instead of rendering.
 */
const GET_OVERRIDES = { 'response-content-type': STORED_TYPE, 'response-content-disposition': 'attachment' }

/**
 * Creates the presign handler. See {@link Action} for the actions; each takes a JSON body with at
 * least `key`:
 *
 * | action | body | answer |
 * |---|---|---|
 * | `createMultipart` | `{ key, contentType?, metadata? }` | `{ uploadId }` |
 * | `signParts` | `{ key, uploadId, partNumbers }` | `{ urls: [{ partNumber, url, headers }] }`: send each part with its `headers` |
 * | `listParts` | `{ key, uploadId }` | `{ parts: [{ partNumber, etag, size }] }` |
 * | `complete` | `{ key, uploadId, parts: [{ partNumber, etag }] }` | `{ etag }` |
 * | `abort` | `{ key, uploadId }` | `{}` |
 * | `signPut` | `{ key, contentType?, metadata? }` | `{ url, headers }`: send exactly these headers |
 * | `signGet` | `{ key, range? }` | `{ url, headers }`: send these headers (with `range`, it is among them as `range`) |
 * | `signHead` | `{ key }` | `{ url, headers }`: send these headers |
 * | `head` | `{ key }` | `{ size, etag, contentType, lastModified, metadata, serverSideEncryption? }` |
 * | `replaceMetadata` | `{ key, metadata?, contentType?, etag? }` | `{ etag }`: a copy onto itself, metadata replaced (pinned to `etag`) |
 * | `copyParts` | `{ key, uploadId, etag, parts: [{ partNumber, start, end }] }` | `{ parts: [{ partNumber, etag }] }`: UploadPartCopy of the object's own bytes `[start, end)` |
 * | `list` | `{ key: prefix, continuationToken? }` | `{ objects: [{ key, size }], continuationToken? }` |
 * | `delete` | `{ key }` | `{}`: DeleteObject, sent by the server (a missing object is no error, as in S3) |
 *
 * `headers` lists what the browser must send, and every header in it is signed, so a store that
 * checks signatures refuses the request without it or with another value: the range, the SSE
 * headers of `serverSideEncryption`, and on `signPut` the metadata and the pinned
 * `content-type: application/octet-stream`, `content-disposition: attachment` and
 * `x-amz-acl: private`. Every write (`signPut`, `createMultipart`, `replaceMetadata`) is stored with
 * those three: `contentType` may be left out, and anything but `application/octet-stream` is refused
 * (400 `INVALID_CONTENT_TYPE`). `signGet` URLs also sign `response-content-type` and
 * `response-content-disposition`, so the store serves any object as a download.
 *
 * A header the browser adds and nobody signed is another matter: AWS S3 refuses unsigned `x-amz-*`
 * headers on presigned requests, Ceph RGW 16 obeys them (`x-amz-copy-source` turns a part URL or a
 * single PUT into a copy of any object the credentials can read). docs/SECURITY.md lists them per
 * store, with the bucket policy or scoped credentials that close the gap.
 *
 * Errors answer `{ error: { code, message } }`: 400 with an input code, 403 `FORBIDDEN`, the store's
 * S3 code with its status (404 `NoSuchUpload`, 400 `InvalidPart`, …), 502/503 when the store fails.
 *
 * @throws {InvalidInputError} bad options (endpoint, bucket, credentials, `serverSideEncryption`, a
 *   missing `authorize`).
 * @example
 * const handler = createPresignHandler({
 *   endpoint: process.env.S3_ENDPOINT!, region: 'us-east-1', bucket: 'uploads',
 *   credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID!, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY! },
 *   authorize: ({ request, key }) => key.startsWith(`users/${userIdFrom(request)}/`),
 * })
 * const response = await handler(request) // in any fetch-style server
 */
export function createPresignHandler(options: PresignHandlerOptions): (request: Request) => Promise<Response> {
  if (typeof options !== 'object' || options === null) throw new InvalidInputError('options must be an object.')
  const { authorize } = options
  if (typeof authorize !== 'function') {
    throw new InvalidInputError('authorize is required: a function ({ request, action, key }) => boolean that decides which keys a caller may touch.')
  }
  const expiresIn = integerOption(options.expiresIn, 900, 'expiresIn', 1, MAX_PRESIGN_EXPIRES)
  const maxPartUrls = integerOption(options.maxPartUrlsPerRequest, 100, 'maxPartUrlsPerRequest', 1, MAX_PART_NUMBER)
  const basePath = (options.basePath ?? '/api/s3').replace(/\/+$/, '')
  if (basePath !== '' && !/^\/[^?#]*$/.test(basePath)) throw new InvalidInputError('basePath must be a path starting with "/", such as "/api/s3".')
  const s3 = new S3Client(options)

  // Validates an action's input and returns the work to do once the hook has allowed it.
  const plan = (action: Action, key: string, body: Json): (() => Promise<Json>) => {
    switch (action) {
      case 'createMultipart': {
        const object = storedObject(body)
        return async () => ({ uploadId: await s3.createMultipartUpload(key, object) })
      }
      case 'signParts': {
        const uploadId = checkUploadId(body['uploadId'])
        const partNumbers = checkPartNumbers(body['partNumbers'], maxPartUrls)
        return async () => ({
          urls: await Promise.all(
            partNumbers.map(async (partNumber) => ({
              partNumber,
              ...(await s3.presignRequest('PUT', key, { expiresIn, query: { partNumber: String(partNumber), uploadId } })),
            })),
          ),
        })
      }
      case 'listParts': {
        const uploadId = checkUploadId(body['uploadId'])
        return async () => ({ parts: await s3.listParts(key, uploadId) })
      }
      case 'complete': {
        const uploadId = checkUploadId(body['uploadId'])
        const parts = checkCompletedParts(body['parts'])
        return async () => s3.completeMultipartUpload(key, uploadId, parts)
      }
      case 'abort': {
        const uploadId = checkUploadId(body['uploadId'])
        return async () => {
          await s3.abortMultipartUpload(key, uploadId)
          return {}
        }
      }
      case 'signPut': {
        const headers = objectHeaders(storedObject(body))
        return async () => ({ ...(await s3.presignRequest('PUT', key, { expiresIn, headers })) })
      }
      case 'signGet': {
        const { range } = optional(body, 'range', checkRange)
        const headers: Record<string, string> = range === undefined ? {} : { range }
        return async () => ({ ...(await s3.presignRequest('GET', key, { expiresIn, headers, query: GET_OVERRIDES })) })
      }
      case 'signHead':
        return async () => ({ ...(await s3.presignRequest('HEAD', key, { expiresIn })) })
      case 'head':
        return async () => ({ ...(await s3.headObject(key)) })
      case 'replaceMetadata': {
        const object = storedObject(body)
        const { etag } = optional(body, 'etag', checkEtag)
        return async () => s3.replaceMetadata(key, { ...object, ...(etag === undefined ? {} : { ifMatch: etag }) })
      }
      case 'copyParts': {
        const uploadId = checkUploadId(body['uploadId'])
        const etag = checkEtag(body['etag'])
        const ranges = checkCopyRanges(body['parts'], maxPartUrls)
        return async () => ({
          parts: await Promise.all(
            ranges.map(async (r) => ({ partNumber: r.partNumber, ...(await s3.uploadPartCopy(key, uploadId, r.partNumber, key, r.start, r.end, etag)) })),
          ),
        })
      }
      case 'delete':
        // Server-side, like `head`: nothing to presign, and a DELETE URL in a browser's hands could
        // be replayed until it expires.
        return async () => {
          await s3.deleteObject(key)
          return {}
        }
      case 'list': {
        // `key` is the prefix: the hook decides which prefixes a caller may list.
        const { continuationToken } = optional(body, 'continuationToken', checkToken)
        return async () => {
          const page = await s3.listObjectsV2({ prefix: key, ...(continuationToken === undefined ? {} : { continuationToken }) })
          return {
            objects: page.objects.map((o) => ({ key: o.key, size: o.size })),
            ...(page.nextContinuationToken === undefined ? {} : { continuationToken: page.nextContinuationToken }),
          }
        }
      }
    }
  }

  return async (request: Request): Promise<Response> => {
    try {
      const path = new URL(request.url).pathname
      const action = path.startsWith(`${basePath}/`) ? path.slice(basePath.length + 1) : ''
      if (!isAction(action)) return failure(404, 'NOT_FOUND', `No such action. POST to ${basePath}/<action>, one of: ${ACTIONS.join(', ')}.`)
      if (request.method !== 'POST') return failure(405, 'METHOD_NOT_ALLOWED', 'Actions take POST with a JSON body.', { allow: 'POST' })
      if (!/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) {
        return failure(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON with "Content-Type: application/json".')
      }
      const body = await readJson(request)
      if (body instanceof Response) return body
      const key = checkKey(body['key'])
      const work = plan(action, key, body)
      if ((await authorize({ request, action, key })) !== true) {
        return failure(403, 'FORBIDDEN', `Not allowed to ${action} this key.`)
      }
      return respond(200, await work())
    } catch (error) {
      return errorResponse(error)
    }
  }
}

/**
 * The object options of a write: the client's metadata, and {@link PINNED} for the rest. A content
 * type other than {@link STORED_TYPE} is refused rather than silently replaced, so a caller that
 * expected `text/html` to be served learns why it is not.
 */
function storedObject(body: Json): ObjectOptions {
  const { contentType } = optional(body, 'contentType', checkContentType)
  if (contentType !== undefined && contentType.toLowerCase() !== STORED_TYPE) {
    throw new InvalidInputError(
      `contentType must be "${STORED_TYPE}" (or left out): objects are ciphertext, and a type such as text/html would make the store serve them as pages from its origin.`,
      'INVALID_CONTENT_TYPE',
    )
  }
  return { ...PINNED, ...optional(body, 'metadata', checkMetadata) }
}

function integerOption(value: number | undefined, fallback: number, name: string, min: number, max: number): number {
  const n = value ?? fallback
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidInputError(`${name} must be an integer from ${min} to ${max}.`)
  return n
}

/** `{ [name]: check(value) }` when the field is present (not `undefined` or `null`), else `{}`. */
function optional<N extends string, T>(body: Json, name: N, check: (value: unknown) => T): { [K in N]?: T } {
  const value = body[name]
  if (value === undefined || value === null) return {}
  const out: { [K in N]?: T } = {}
  out[name] = check(value)
  return out
}

async function readJson(request: Request): Promise<Json | Response> {
  const tooLarge = (): Response => failure(413, 'PAYLOAD_TOO_LARGE', `The body must be at most ${MAX_BODY_BYTES} bytes.`)
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) return tooLarge()
  const chunks: Uint8Array[] = []
  let total = 0
  if (request.body !== null) {
    const reader = request.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.length
      // Stop reading at the limit: a client cannot make the server buffer an unbounded body.
      if (total > MAX_BODY_BYTES) {
        await reader.cancel()
        return tooLarge()
      }
      chunks.push(value)
    }
  }
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return failure(400, 'BAD_REQUEST', 'The body is not valid UTF-8 JSON.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return failure(400, 'BAD_REQUEST', 'The body must be a JSON object.')
  return { ...parsed }
}

function respond(status: number, body: Json, extra: Record<string, string> = {}): Response {
  // Presigned URLs are bearer tokens: keep them out of caches.
  const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra }
  return new Response(JSON.stringify(body), { status, headers })
}

function failure(status: number, code: string, message: string, extra?: Record<string, string>): Response {
  return respond(status, { error: { code, message } }, extra)
}

function errorResponse(error: unknown): Response {
  if (error instanceof InvalidInputError) return failure(400, error.code, error.message)
  if (error instanceof S3Error) {
    // The caller's mistakes keep the store's status; the store refusing our own credentials, or
    // failing, is the server's problem (502), except an explicit "slow down" (503), which is retryable.
    const passThrough = [400, 404, 409, 412, 416].includes(error.status)
    // 501: the store does not implement this (Ceph RGW copying an SSE object, say); retrying is futile.
    return failure(passThrough ? error.status : error.status === 503 ? 503 : error.status === 501 ? 501 : 502, error.s3Code, error.message)
  }
  if (isServerError(error, 'S3_UNREACHABLE') || isServerError(error, 'BAD_S3_RESPONSE')) return failure(502, error.code, error.message)
  // Anything else may carry details of the server's internals: say nothing specific.
  return failure(500, 'INTERNAL', 'The server failed to handle this request.')
}

function checkToken(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw new InvalidInputError('continuationToken must be the token of the previous page.')
  return value
}

interface CopyRangeInput {
  readonly partNumber: number
  readonly start: number
  readonly end: number
}

/** `parts` of `copyParts`: `[{ partNumber, start, end }]`, object bytes `[start, end)`, 5 GiB at most each. */
function checkCopyRanges(value: unknown, max: number): CopyRangeInput[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw new InvalidInputError(`parts must list 1 to ${max} copy ranges.`, 'INVALID_PARTS')
  }
  return value.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) throw new InvalidInputError('Each copy range must be an object.', 'INVALID_PARTS')
    const r = new Map(Object.entries(entry))
    const partNumber = r.get('partNumber')
    const start = r.get('start')
    const end = r.get('end')
    if (typeof partNumber !== 'number' || !Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new InvalidInputError('A copy range has a bad partNumber.', 'INVALID_PART_NUMBER')
    }
    if (typeof start !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start || end - start > MAX_COPY_PART) {
      throw new InvalidInputError('A copy range must be [start, end) with 0 ≤ start < end and at most 5 GiB.', 'INVALID_PARTS')
    }
    return { partNumber, start, end }
  })
}

const MAX_COPY_PART = 5 * 1024 * 1024 * 1024
