/**
 * The client side of `@bucketseal/server`: asks the app's backend to presign S3 requests. The
 * browser never holds storage credentials. `Signer` is an interface so apps with their own backend
 * (and tests) can supply their own.
 */
import { TransferError } from './errors.js'
import { DEFAULT_STALL_TIMEOUT_MS, type SignedRequest, backoff, checkUrl, isRetryable, sleep } from './http.js'

export interface PartInfo {
  readonly partNumber: number
  readonly etag: string
  readonly size?: number
}

export interface ObjectInfo {
  readonly size: number
  readonly etag: string
  /** User metadata without the provider prefix (`client-side-encryption-…`). */
  readonly metadata: Readonly<Record<string, string>>
}

/** What the uploader and downloader need from a presigning backend. */
export interface Signer {
  createMultipart(key: string, metadata: Readonly<Record<string, string>>, contentType?: string): Promise<string>
  /** Presigned part PUTs, with the headers the browser must send (e.g. SSE-C), by part number. */
  signParts(key: string, uploadId: string, partNumbers: readonly number[]): Promise<ReadonlyMap<number, SignedRequest>>
  listParts(key: string, uploadId: string): Promise<readonly PartInfo[]>
  complete(key: string, uploadId: string, parts: readonly PartInfo[]): Promise<string>
  abort(key: string, uploadId: string): Promise<void>
  signPut(key: string, metadata: Readonly<Record<string, string>>, contentType?: string): Promise<SignedRequest>
  /** A presigned GET, with the headers the browser must send; any `Range` is added unsigned. */
  signGet(key: string): Promise<SignedRequest>
  head(key: string): Promise<ObjectInfo>
}

/** A byte range of the object copied into a part by the store itself (UploadPartCopy). */
export interface CopyRange {
  readonly partNumber: number
  /** Object bytes `[start, end)`. */
  readonly start: number
  readonly end: number
}

export interface ListedObject {
  readonly key: string
  readonly size: number
}

/** What sharing and rotation need beyond uploads: server-side copies, and listing. */
export interface SharingSigner extends Signer {
  /**
   * Replaces the object's user metadata with a server-side copy onto itself (no body transfer),
   * only if the object is still the one read (`etag`; the store refuses the copy otherwise).
   */
  replaceMetadata(key: string, metadata: Readonly<Record<string, string>>, etag?: string): Promise<void>
  /**
   * Copies ranges of the object (as it is now, `etag`) into parts of a multipart upload to the same
   * key, on the store (no body transfer).
   */
  copyParts(key: string, uploadId: string, etag: string, ranges: readonly CopyRange[]): Promise<readonly PartInfo[]>
  /** Deletes an object (the server's `delete` action, through its `authorize` hook). Deleting a missing object succeeds. */
  deleteObject(key: string): Promise<void>
  /** Lists objects under a prefix, a page at a time. */
  list(prefix: string, continuationToken?: string): Promise<{ readonly objects: readonly ListedObject[]; readonly continuationToken?: string }>
}

export interface HttpSignerOptions {
  /** Extra headers for every call to the backend (e.g. the app's session token). */
  readonly headers?: Readonly<Record<string, string>>
  /** A `fetch` to use (tests, or a wrapped fetch). */
  readonly fetch?: typeof fetch
  readonly retries?: number
  /** A call that gets no answer for this long is aborted and retried. Default 30,000 ms. */
  readonly stallTimeoutMs?: number
  /** Allows a plain-http `baseUrl` outside localhost: session tokens would travel in the clear. Never in production. */
  readonly dangerouslyAllowInsecureUrls?: boolean
}

/**
 * A {@link Signer} that calls a `@bucketseal/server` handler mounted at `baseUrl`
 * (for example `/api/s3`): one `POST baseUrl/<action>` with a JSON body per call.
 *
 * @example
 * const signer = httpSigner('/api/s3', { headers: { authorization: `Bearer ${token}` } })
 */
export function httpSigner(baseUrl: string, options: HttpSignerOptions = {}): SharingSigner {
  // A relative URL is the page's own origin; an absolute one follows the same rule as presigned URLs.
  if (/^[a-z][a-z0-9+.-]*:/i.test(baseUrl)) checkUrl(baseUrl, options.dangerouslyAllowInsecureUrls)
  const base = baseUrl.replace(/\/+$/, '')
  const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const call = async (action: string, body: unknown): Promise<unknown> => {
    const retries = options.retries ?? 3
    for (let attempt = 0; ; attempt++) {
      let response: Response
      try {
        response = await doFetch(`${base}/${action}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...options.headers },
          body: JSON.stringify(body),
          // The answers are small: a call with no answer in the stall time is given up and retried.
          signal: AbortSignal.timeout(stallMs),
        })
      } catch (cause) {
        if (attempt >= retries) throw new TransferError('NETWORK', `The presigning server could not be reached (${action}).`, { cause })
        await sleep(backoff(attempt, {}, null), undefined)
        continue
      }
      const text = await response.text()
      let json: unknown = null
      try {
        json = text === '' ? null : JSON.parse(text)
      } catch {
        json = null
      }
      if (response.ok) return json
      if (isRetryable(response.status) && attempt < retries) {
        await sleep(backoff(attempt, {}, response.headers.get('retry-after')), undefined)
        continue
      }
      const err = field(json, 'error')
      const code = str(field(err, 'code')) ?? `HTTP ${response.status}`
      const message = str(field(err, 'message')) ?? text.slice(0, 200)
      throw new TransferError(
        isRetryable(response.status) ? 'NETWORK' : 'REQUEST_REJECTED',
        `The presigning server refused "${action}" (${code}): ${message}`,
        { status: response.status, source: 'signer' },
      )
    }
  }
  return {
    async createMultipart(key, metadata, contentType) {
      return reqStr(field(await call('createMultipart', { key, metadata, contentType }), 'uploadId'), 'uploadId')
    },
    async signParts(key, uploadId, partNumbers) {
      const urls = field(await call('signParts', { key, uploadId, partNumbers }), 'urls')
      const out = new Map<number, SignedRequest>()
      if (Array.isArray(urls)) {
        for (const u of urls) {
          const n = field(u, 'partNumber')
          const url = str(field(u, 'url'))
          if (typeof n === 'number' && url !== undefined) out.set(n, { url, headers: stringRecord(field(u, 'headers')) })
        }
      }
      for (const n of partNumbers) if (!out.has(n)) throw new TransferError('BAD_STATE', `The presigning server returned no URL for part ${n}.`)
      return out
    },
    async listParts(key, uploadId) {
      return parsePartList(field(await call('listParts', { key, uploadId }), 'parts'))
    },
    async complete(key, uploadId, parts) {
      const etag = field(await call('complete', { key, uploadId, parts: parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })) }), 'etag')
      return str(etag) ?? ''
    },
    async abort(key, uploadId) {
      await call('abort', { key, uploadId })
    },
    async signPut(key, metadata, contentType) {
      const res = await call('signPut', { key, metadata, contentType })
      return { url: reqStr(field(res, 'url'), 'url'), headers: stringRecord(field(res, 'headers')) }
    },
    async signGet(key) {
      const res = await call('signGet', { key })
      return { url: reqStr(field(res, 'url'), 'url'), headers: stringRecord(field(res, 'headers')) }
    },
    async replaceMetadata(key, metadata, etag) {
      await call('replaceMetadata', { key, metadata, ...(etag === undefined || etag === '' ? {} : { etag }) })
    },
    async deleteObject(key) {
      await call('delete', { key })
    },
    async copyParts(key, uploadId, etag, ranges) {
      const parts = field(await call('copyParts', { key, uploadId, etag, parts: ranges }), 'parts')
      return parsePartList(parts)
    },
    async list(prefix, continuationToken) {
      // The prefix travels as `key`, so the server's authorization hook sees what is listed.
      const res = await call('list', { key: prefix, ...(continuationToken === undefined ? {} : { continuationToken }) })
      const objects = field(res, 'objects')
      const next = str(field(res, 'continuationToken'))
      const list: ListedObject[] = Array.isArray(objects)
        ? objects.flatMap((o): ListedObject[] => {
            const key = str(field(o, 'key'))
            const size = field(o, 'size')
            return key !== undefined && typeof size === 'number' ? [{ key, size }] : []
          })
        : []
      return next === undefined ? { objects: list } : { objects: list, continuationToken: next }
    },
    async head(key) {
      const res = await call('head', { key })
      const size = field(res, 'size')
      const metadata = stringRecord(field(res, 'metadata'))
      if (typeof size !== 'number') throw new TransferError('BAD_STATE', 'The presigning server returned no object size.')
      return { size, etag: str(field(res, 'etag')) ?? '', metadata }
    },
  }
}

/** The string-valued members of a JSON object (`{}` for anything else: older servers send none). */
function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v
  return out
}

function parsePartList(parts: unknown): PartInfo[] {
  if (!Array.isArray(parts)) return []
  return parts.flatMap((p): PartInfo[] => {
    const partNumber = field(p, 'partNumber')
    const etag = str(field(p, 'etag'))
    const size = field(p, 'size')
    return typeof partNumber === 'number' && etag !== undefined ? [{ partNumber, etag, ...(typeof size === 'number' ? { size } : {}) }] : []
  })
}

function field(value: unknown, name: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined
  return new Map(Object.entries(value)).get(name)
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function reqStr(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new TransferError('BAD_STATE', `The presigning server's answer lacks "${name}".`)
  return value
}
