/**
 * The client side of `@bucketseal/server`: asks the app's backend to presign S3 requests. The
 * browser never holds storage credentials. `Signer` is an interface so apps with their own backend
 * (and tests) can supply their own.
 */
import { TransferError } from './errors.js'
import { backoff, isRetryable, sleep, type SignedRequest } from './http.js'

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
  signParts(key: string, uploadId: string, partNumbers: readonly number[]): Promise<ReadonlyMap<number, string>>
  listParts(key: string, uploadId: string): Promise<readonly PartInfo[]>
  complete(key: string, uploadId: string, parts: readonly PartInfo[]): Promise<string>
  abort(key: string, uploadId: string): Promise<void>
  signPut(key: string, metadata: Readonly<Record<string, string>>, contentType?: string): Promise<SignedRequest>
  signGet(key: string): Promise<string>
  head(key: string): Promise<ObjectInfo>
}

export interface HttpSignerOptions {
  /** Extra headers for every call to the backend (e.g. the app's session token). */
  readonly headers?: Readonly<Record<string, string>>
  /** A `fetch` to use (tests, or a wrapped fetch). */
  readonly fetch?: typeof fetch
  readonly retries?: number
}

/**
 * A {@link Signer} that calls a `@bucketseal/server` handler mounted at `baseUrl`
 * (for example `/api/s3`): one `POST baseUrl/<action>` with a JSON body per call.
 *
 * @example
 * const signer = httpSigner('/api/s3', { headers: { authorization: `Bearer ${token}` } })
 */
export function httpSigner(baseUrl: string, options: HttpSignerOptions = {}): Signer {
  const base = baseUrl.replace(/\/+$/, '')
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
        { status: response.status },
      )
    }
  }
  return {
    async createMultipart(key, metadata, contentType) {
      return reqStr(field(await call('createMultipart', { key, metadata, contentType }), 'uploadId'), 'uploadId')
    },
    async signParts(key, uploadId, partNumbers) {
      const urls = field(await call('signParts', { key, uploadId, partNumbers }), 'urls')
      const out = new Map<number, string>()
      if (Array.isArray(urls)) {
        for (const u of urls) {
          const n = field(u, 'partNumber')
          const url = str(field(u, 'url'))
          if (typeof n === 'number' && url !== undefined) out.set(n, url)
        }
      }
      for (const n of partNumbers) if (!out.has(n)) throw new TransferError('BAD_STATE', `The presigning server returned no URL for part ${n}.`)
      return out
    },
    async listParts(key, uploadId) {
      const parts = field(await call('listParts', { key, uploadId }), 'parts')
      if (!Array.isArray(parts)) return []
      return parts.flatMap((p): PartInfo[] => {
        const partNumber = field(p, 'partNumber')
        const etag = str(field(p, 'etag'))
        const size = field(p, 'size')
        return typeof partNumber === 'number' && etag !== undefined ? [{ partNumber, etag, ...(typeof size === 'number' ? { size } : {}) }] : []
      })
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
      const url = reqStr(field(res, 'url'), 'url')
      const headers = field(res, 'headers')
      const h: Record<string, string> = {}
      if (typeof headers === 'object' && headers !== null) for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') h[k] = v
      return { url, headers: h }
    },
    async signGet(key) {
      return reqStr(field(await call('signGet', { key }), 'url'), 'url')
    },
    async head(key) {
      const res = await call('head', { key })
      const size = field(res, 'size')
      const meta = field(res, 'metadata')
      const metadata: Record<string, string> = {}
      if (typeof meta === 'object' && meta !== null) for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') metadata[k] = v
      if (typeof size !== 'number') throw new TransferError('BAD_STATE', 'The presigning server returned no object size.')
      return { size, etag: str(field(res, 'etag')) ?? '', metadata }
    },
  }
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
