/**
 * Requests to presigned URLs: the HTTPS rule, one retry policy (back off on network errors, 408,
 * 429 and 5xx; re-sign once on 403; fail fast on other 4xx), and part PUTs with upload progress.
 */
import { isLoopbackHost } from '@bucketseal/core'
import { TransferError, abortError } from './errors.js'

export interface RetryOptions {
  /** Attempts after the first one. Default 5. */
  readonly retries?: number
  /** First backoff ceiling in ms; doubles per attempt, with full jitter. Default 300. */
  readonly baseDelayMs?: number
  /** Largest backoff in ms. Default 15,000. */
  readonly maxDelayMs?: number
  /**
   * A request that makes no progress (no bytes sent or received) for this long is aborted and
   * counts as a network failure, so it is retried. Default 30,000 ms, as Uppy's XHR uploader.
   */
  readonly stallTimeoutMs?: number
}

/** The default of {@link RetryOptions.stallTimeoutMs}. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000

/**
 * A watchdog for one request: `touch()` on every sign of progress; `onStall` runs once after
 * `ms` without one. `stop()` when the request settles.
 */
export function stallTimer(ms: number, onStall: () => void): { touch(): void; stop(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const touch = (): void => {
    if (stopped) return
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => {
      stopped = true
      onStall()
    }, ms)
  }
  touch()
  return {
    touch,
    stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
    },
  }
}

/** The message of a request given up for making no progress. */
export function stallMessage(ms: number): string {
  return `no progress for ${Math.round(ms / 1000)} s (stalled)`
}

/**
 * Parses and checks a presigned URL: `https:` is required, except on localhost, unless the caller
 * set the loudly named option that allows plain HTTP elsewhere.
 * @throws {TransferError} INSECURE_URL | INVALID_ARGUMENT
 */
export function checkUrl(url: string, dangerouslyAllowInsecureUrls = false): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TransferError('INVALID_ARGUMENT', 'The presigned URL is not a valid absolute URL.')
  }
  if (parsed.protocol === 'https:') return parsed
  if (parsed.protocol === 'http:' && (isLoopbackHost(parsed.hostname) || dangerouslyAllowInsecureUrls)) return parsed
  throw new TransferError(
    'INSECURE_URL',
    `Refusing a presigned URL to ${parsed.protocol}//${parsed.host}: only https is allowed outside localhost (set dangerouslyAllowInsecureUrls to override).`,
  )
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(abortError(signal))
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(abortError(signal))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Full-jitter exponential backoff (AWS architecture blog), or the server's Retry-After when given. */
export function backoff(attempt: number, options: RetryOptions, retryAfter: string | null): number {
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, options.maxDelayMs ?? 15_000)
  const ceiling = Math.min(options.maxDelayMs ?? 15_000, (options.baseDelayMs ?? 300) * 2 ** attempt)
  return Math.random() * ceiling
}

export interface HttpResult {
  readonly status: number
  readonly etag: string | null
  readonly body: string
  readonly retryAfter: string | null
}

/** True for statuses worth retrying with the same request. */
export function isRetryable(status: number): boolean {
  // 501 Not Implemented is an answer, not a failure: asking again gives the same.
  return status === 408 || status === 429 || (status >= 500 && status !== 501)
}

/** The S3 error code and message of an XML error body, for messages. */
export function s3ErrorSummary(body: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1]
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1]
  return [code, message].filter((x) => x !== undefined && x !== '').join(': ')
}

/**
 * PUTs `body` with XMLHttpRequest (it reports upload progress, which fetch cannot yet). Resolves
 * with the status for any HTTP answer; rejects with NETWORK on a network failure, ABORTED on abort.
 */
export function xhrPut(
  url: string,
  body: Uint8Array<ArrayBuffer> | Blob,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal | undefined,
  onProgress: (loaded: number) => void,
  stallTimeoutMs: number = DEFAULT_STALL_TIMEOUT_MS,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(abortError(signal))
    const xhr = new XMLHttpRequest()
    xhr.open('PUT', url)
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v)
    let stalled = false
    const watchdog = stallTimer(stallTimeoutMs, () => {
      stalled = true
      xhr.abort()
    })
    const onAbort = (): void => xhr.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    const done = (): void => {
      watchdog.stop()
      signal?.removeEventListener('abort', onAbort)
    }
    xhr.upload.onprogress = (e) => {
      watchdog.touch()
      onProgress(e.loaded)
    }
    xhr.onprogress = () => watchdog.touch()
    xhr.onload = () => {
      done()
      // XHR follows redirects on its own and would resend the signed headers (an SSE-C key among
      // them) to wherever the store points: refuse an answer from anywhere but the URL we signed.
      if (xhr.responseURL !== '' && new URL(xhr.responseURL).href !== new URL(url).href) {
        reject(new TransferError('REQUEST_REJECTED', 'The storage server redirected the upload; redirects are refused (the signed headers would follow).', { status: xhr.status, source: 'store' }))
        return
      }
      resolve({ status: xhr.status, etag: xhr.getResponseHeader('ETag'), body: xhr.responseText, retryAfter: xhr.getResponseHeader('Retry-After') })
    }
    xhr.onerror = () => {
      done()
      reject(
        new TransferError(
          'NETWORK',
          'The connection to the storage server failed. If this happens at once on every request, the bucket\'s CORS rules probably do not allow this origin to PUT (see the README, "Use it in your app").',
        ),
      )
    }
    xhr.ontimeout = xhr.onerror
    xhr.onabort = () => {
      done()
      reject(stalled ? new TransferError('NETWORK', `The upload request made ${stallMessage(stallTimeoutMs)}.`) : abortError(signal))
    }
    xhr.send(body)
  })
}

export interface PutPartOptions extends RetryOptions {
  readonly signal?: AbortSignal
  readonly dangerouslyAllowInsecureUrls?: boolean
  readonly onProgress?: (loaded: number) => void
  /** A seam for tests; defaults to {@link xhrPut}. */
  readonly put?: typeof xhrPut
  /**
   * Whether the answer must carry a readable ETag (default true): multipart completion needs it. A
   * single PUT does not, and failing it would report an upload that in fact landed.
   */
  readonly requireEtag?: boolean
}

export interface SignedRequest {
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * Uploads one part (or a whole small object) with the retry policy, and returns its ETag.
 * `sign(fresh)` gives the presigned request; it is called again with `fresh = true` after a 403,
 * once, because the usual cause is an expired URL.
 *
 * @throws {TransferError} MISSING_ETAG (CORS does not expose ETag), REQUEST_REJECTED, NETWORK,
 *   ABORTED, INSECURE_URL.
 */
export async function putWithRetry(
  sign: (fresh: boolean) => Promise<SignedRequest>,
  body: Uint8Array<ArrayBuffer> | Blob,
  options: PutPartOptions = {},
): Promise<string> {
  const retries = options.retries ?? 5
  const put = options.put ?? xhrPut
  let resigned = false
  let fresh = false
  let last = ''
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted === true) throw abortError(options.signal)
    const request = await sign(fresh)
    fresh = false
    checkUrl(request.url, options.dangerouslyAllowInsecureUrls)
    // A new attempt sends the body again: progress starts over rather than showing a refused attempt as sent.
    if (attempt > 0) options.onProgress?.(0)
    let result: HttpResult
    try {
      result = await put(request.url, body, request.headers ?? {}, options.signal, options.onProgress ?? (() => undefined), options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS)
    } catch (e) {
      if (!(e instanceof TransferError) || e.code !== 'NETWORK') throw e
      last = e.message
      if (attempt >= retries) break
      await sleep(backoff(attempt, options, null), options.signal)
      continue
    }
    if (result.status >= 200 && result.status < 300) {
      if ((result.etag === null || result.etag === '') && options.requireEtag !== false) {
        throw new TransferError(
          'MISSING_ETAG',
          'The storage server accepted the part but the browser cannot read its ETag header. Add "ETag" to ExposeHeaders in the bucket\'s CORS configuration.',
          { status: result.status },
        )
      }
      return result.etag ?? ''
    }
    const summary = s3ErrorSummary(result.body)
    if (result.status === 403 && !resigned) {
      resigned = true
      fresh = true
      continue
    }
    if (!isRetryable(result.status)) {
      throw new TransferError('REQUEST_REJECTED', `The storage server refused the upload (HTTP ${result.status}${summary ? `, ${summary}` : ''}).`, {
        status: result.status,
        source: 'store',
      })
    }
    last = `HTTP ${result.status}${summary ? ` (${summary})` : ''}`
    if (attempt >= retries) break
    await sleep(backoff(attempt, options, result.retryAfter), options.signal)
  }
  throw new TransferError('NETWORK', `The upload failed after ${retries + 1} attempts: ${last}.`)
}
