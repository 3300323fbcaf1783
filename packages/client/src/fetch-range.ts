/**
 * Fetching and opening one ciphertext range: a ranged GET of exactly the chunks that cover a
 * plaintext range, with the retry policy, then authenticated decryption. Runs in a pool Worker or
 * inline.
 */
import { type Layout, type ObjectKey, TruncatedError, decryptRange, planRange } from '@bucketseal/core'
import { TransferError, abortError } from './errors.js'
import { DEFAULT_STALL_TIMEOUT_MS, type SignedRequest, backoff, checkUrl, isRetryable, s3ErrorSummary, sleep, stallMessage, stallTimer } from './http.js'

export interface RangeJob {
  readonly key: ObjectKey
  readonly layout: Layout
  /** Plaintext range `[start, end)`. */
  readonly start: number
  readonly end: number
  readonly retries?: number
  readonly stallTimeoutMs?: number
  readonly dangerouslyAllowInsecureUrls?: boolean
}

export interface RangeCallbacks {
  /** A presigned GET for the object (URL and headers to send); `fresh` after a 403 (expired URL). */
  sign(fresh: boolean): Promise<SignedRequest>
  /** Ciphertext bytes received for this range so far. */
  progress?(received: number): void
}

// A function, so the compiler does not narrow `aborted` across awaits (it changes under us).
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/**
 * Reads at most `limit` bytes of a response body, skipping its first `skip` bytes (a store that
 * ignored Range sends the object from byte 0), then cancels the rest: a hostile or careless store
 * cannot make a small read hold a large body. Every read touches the stall watchdog.
 */
async function readBody(response: Response, skip: number, limit: number, touch: () => void, onProgress: ((n: number) => void) | undefined): Promise<Uint8Array> {
  const out = new Uint8Array(limit)
  if (response.body === null) return out.subarray(0, 0)
  const reader = response.body.getReader()
  let seen = 0
  let total = 0
  try {
    while (total < limit) {
      const { done, value } = await reader.read()
      if (done) break
      touch()
      const from = Math.max(0, skip - seen)
      seen += value.length
      if (from >= value.length) continue
      const piece = value.subarray(from, from + limit - total)
      out.set(piece, total)
      total += piece.length
      onProgress?.(total)
    }
  } catch (cause) {
    throw new TransferError('NETWORK', 'The download was interrupted.', { cause })
  } finally {
    // The bytes past the range (or a body we stopped reading) are not wanted.
    reader.cancel().catch(() => undefined)
  }
  return out.subarray(0, total)
}

/** `bytes a-b/…` of a Content-Range header, when the browser may read it (CORS may hide it). */
function rangeStart(response: Response): number | null {
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(response.headers.get('content-range') ?? '')
  return match?.[1] === undefined ? null : Number(match[1])
}

export interface GetOptions {
  readonly retries?: number
  readonly stallTimeoutMs?: number
  readonly dangerouslyAllowInsecureUrls?: boolean
  readonly signal?: AbortSignal
  readonly fetch?: typeof fetch
  readonly progress?: (received: number) => void
  /** Only from this version of the object (`If-Match`): a 412 means it changed since it was read. */
  readonly ifMatch?: string
}

/**
 * GETs object bytes `[start, end)` through a presigned URL with the retry policy. Returns fewer bytes
 * only when the object is shorter; the caller decides what that means. Never holds more than
 * `end − start` bytes, whatever the store sends; refuses redirects (the signed headers would follow).
 * @throws {TransferError} NETWORK (also after a stall), REQUEST_REJECTED, ABORTED, INSECURE_URL
 */
export async function getBytes(sign: (fresh: boolean) => Promise<SignedRequest>, start: number, end: number, options: GetOptions = {}): Promise<Uint8Array> {
  const { signal } = options
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const retries = options.retries ?? 5
  const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS
  let fresh = false
  let resigned = false
  let last = ''
  for (let attempt = 0; ; attempt++) {
    if (aborted(signal)) throw abortError(signal)
    const request = await sign(fresh)
    fresh = false
    checkUrl(request.url, options.dangerouslyAllowInsecureUrls)
    // One controller per attempt: the caller's signal or the stall watchdog aborts it.
    const attemptController = new AbortController()
    const onAbort = (): void => attemptController.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    let stalled = false
    const watchdog = stallTimer(stallMs, () => {
      stalled = true
      attemptController.abort()
    })
    try {
      let response: Response
      try {
        // no-store: a presigned URL is good for minutes and the bytes are verified anyway, but a range
        // served from the HTTP cache would hide what the store really holds now.
        response = await fetchImpl(request.url, {
          // The signed headers (SSE-C, say) as given; the range is not signed, so any range works.
          headers: { ...request.headers, range: `bytes=${start}-${end - 1}`, ...(options.ifMatch === undefined || options.ifMatch === '' ? {} : { 'if-match': options.ifMatch }) },
          cache: 'no-store',
          redirect: 'error',
          signal: attemptController.signal,
        })
      } catch {
        if (aborted(signal)) throw abortError(signal)
        last = stalled
          ? stallMessage(stallMs)
          : "network error: a redirect (refused), or the bucket's CORS rules do not allow this origin to GET (see the README, 'Use it in your app')"
        if (attempt >= retries) break
        await sleep(backoff(attempt, {}, null), signal)
        continue
      }
      watchdog.touch()
      if (response.status === 206 || response.status === 200) {
        const from = response.status === 206 ? rangeStart(response) : 0
        if (from !== null && from !== (response.status === 206 ? start : 0)) {
          await response.body?.cancel().catch(() => undefined)
          throw new TransferError('REQUEST_REJECTED', `The storage server answered bytes from ${from} for a range starting at ${start}.`, { status: 206, source: 'store' })
        }
        try {
          // A 200 is the whole object (a store that ignores Range): skip to our slice of it.
          return await readBody(response, response.status === 200 ? start : 0, end - start, () => watchdog.touch(), options.progress)
        } catch (e) {
          if (aborted(signal)) throw abortError(signal)
          last = stalled ? stallMessage(stallMs) : e instanceof Error ? e.message : 'interrupted'
          if (attempt >= retries) break
          await sleep(backoff(attempt, {}, null), signal)
          continue
        }
      }
      const body = await response.text().catch(() => '')
      if (response.status === 416) return new Uint8Array(0)
      if (response.status === 412) {
        throw new TransferError('REQUEST_REJECTED', 'The object changed on the store since it was read (HTTP 412); read it again.', { status: 412, source: 'store' })
      }
      if (response.status === 403 && !resigned) {
        resigned = true
        fresh = true
        continue
      }
      const summary = s3ErrorSummary(body)
      if (!isRetryable(response.status)) {
        const missing = response.status === 404 ? ' The object does not exist (or was deleted).' : ''
        throw new TransferError('REQUEST_REJECTED', `The storage server refused the download (HTTP ${response.status}${summary ? `, ${summary}` : ''}).${missing}`, {
          status: response.status,
          source: 'store',
        })
      }
      last = `HTTP ${response.status}`
      if (attempt >= retries) break
      await sleep(backoff(attempt, {}, response.headers.get('retry-after')), signal)
    } finally {
      watchdog.stop()
      signal?.removeEventListener('abort', onAbort)
    }
  }
  throw new TransferError('NETWORK', `The download failed after ${retries + 1} attempts: ${last}.`)
}

/**
 * Fetches exactly the ciphertext covering plaintext `[start, end)` and returns the verified plaintext.
 * @throws {TransferError} NETWORK, REQUEST_REJECTED, ABORTED, INSECURE_URL
 * @throws core's TAMPERED / TRUNCATED when the bytes do not authenticate or the object is short.
 */
export async function fetchRange(job: RangeJob, callbacks: RangeCallbacks, signal?: AbortSignal, fetchImpl?: typeof fetch): Promise<Uint8Array> {
  const plan = planRange(job.layout, job.start, job.end)
  if (plan.endChunk === plan.startChunk) return new Uint8Array(0)
  const expected = plan.ciphertextEnd - plan.ciphertextStart
  const bytes = await getBytes((fresh) => callbacks.sign(fresh), plan.ciphertextStart, plan.ciphertextEnd, {
    ...(job.retries === undefined ? {} : { retries: job.retries }),
    ...(job.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: job.stallTimeoutMs }),
    ...(job.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: job.dangerouslyAllowInsecureUrls }),
    ...(signal === undefined ? {} : { signal }),
    ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
    ...(callbacks.progress === undefined ? {} : { progress: (n: number) => callbacks.progress?.(n) }),
  })
  if (bytes.length < expected) throw new TruncatedError(`The object ends early: ${bytes.length} of ${expected} bytes of the range were there.`)
  return decryptRange(job.key, job.layout, job.start, job.end, bytes)
}
