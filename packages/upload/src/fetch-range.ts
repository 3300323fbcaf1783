/**
 * Fetching and opening one ciphertext range: a ranged GET of exactly the chunks that cover a
 * plaintext range, with the retry policy, then authenticated decryption. Runs in a pool Worker or
 * inline.
 */
import { type Layout, type ObjectKey, TruncatedError, decryptRange, planRange } from '@bucketseal/core'
import { TransferError, abortError } from './errors.js'
import { type SignedRequest, backoff, checkUrl, isRetryable, s3ErrorSummary, sleep } from './http.js'

export interface RangeJob {
  readonly key: ObjectKey
  readonly layout: Layout
  /** Plaintext range `[start, end)`. */
  readonly start: number
  readonly end: number
  readonly retries?: number
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

/** Reads a response body fully, reporting progress; a body cut short by the network throws NETWORK. */
async function readBody(response: Response, onProgress: ((n: number) => void) | undefined): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(await response.arrayBuffer())
  const reader = response.body.getReader()
  const parts: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      parts.push(value)
      total += value.length
      onProgress?.(total)
    }
  } catch (cause) {
    throw new TransferError('NETWORK', 'The download was interrupted.', { cause })
  }
  const out = new Uint8Array(total)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export interface GetOptions {
  readonly retries?: number
  readonly dangerouslyAllowInsecureUrls?: boolean
  readonly signal?: AbortSignal
  readonly fetch?: typeof fetch
  readonly progress?: (received: number) => void
}

/**
 * GETs object bytes `[start, end)` through a presigned URL with the retry policy. Returns fewer bytes
 * only when the object is shorter; the caller decides what that means.
 * @throws {TransferError} NETWORK, REQUEST_REJECTED, ABORTED, INSECURE_URL
 */
export async function getBytes(sign: (fresh: boolean) => Promise<SignedRequest>, start: number, end: number, options: GetOptions = {}): Promise<Uint8Array> {
  const { signal } = options
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const retries = options.retries ?? 5
  let fresh = false
  let resigned = false
  let last = ''
  for (let attempt = 0; ; attempt++) {
    if (aborted(signal)) throw abortError(signal)
    const request = await sign(fresh)
    fresh = false
    checkUrl(request.url, options.dangerouslyAllowInsecureUrls)
    let response: Response
    try {
      // no-store: a presigned URL is good for minutes and the bytes are verified anyway, but a range
      // served from the HTTP cache would hide what the store really holds now.
      response = await fetchImpl(request.url, {
        // The signed headers (SSE-C, say) as given; the range is not signed, so any range works.
        headers: { ...request.headers, range: `bytes=${start}-${end - 1}` },
        cache: 'no-store',
        ...(signal ? { signal } : {}),
      })
    } catch {
      if (aborted(signal)) throw abortError(signal)
      last = 'network error'
      if (attempt >= retries) break
      await sleep(backoff(attempt, {}, null), signal)
      continue
    }
    if (response.status === 206 || response.status === 200) {
      let bytes: Uint8Array
      try {
        bytes = await readBody(response, options.progress)
      } catch (e) {
        if (aborted(signal)) throw abortError(signal)
        last = e instanceof Error ? e.message : 'interrupted'
        if (attempt >= retries) break
        await sleep(backoff(attempt, {}, null), signal)
        continue
      }
      // A 200 is the whole object (a store that ignores Range): take our slice of it.
      return response.status === 200 ? bytes.subarray(start, end) : bytes.subarray(0, end - start)
    }
    const body = await response.text().catch(() => '')
    if (response.status === 416) return new Uint8Array(0)
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
    ...(job.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: job.dangerouslyAllowInsecureUrls }),
    ...(signal === undefined ? {} : { signal }),
    ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
    ...(callbacks.progress === undefined ? {} : { progress: (n: number) => callbacks.progress?.(n) }),
  })
  if (bytes.length < expected) throw new TruncatedError(`The object ends early: ${bytes.length} of ${expected} bytes of the range were there.`)
  return decryptRange(job.key, job.layout, job.start, job.end, bytes)
}
