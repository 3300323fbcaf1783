// The retry policy, through the `put` seam: no network needed.
import { describe, expect, it } from 'vitest'
import { TransferError, checkUrl } from '../src/index.js'
import { type HttpResult, putWithRetry, type xhrPut } from '../src/http.js'

const ok = (etag: string | null = '"abc"'): HttpResult => ({ status: 200, etag, body: '', retryAfter: null })
const status = (s: number, code = ''): HttpResult => ({ status: s, etag: null, body: code ? `<Error><Code>${code}</Code><Message>m</Message></Error>` : '', retryAfter: '0' })
const body = new Uint8Array(10)
const fast = { baseDelayMs: 1, maxDelayMs: 2 }

function script(results: Array<HttpResult | 'network'>): { put: typeof xhrPut; calls: string[] } {
  const calls: string[] = []
  let i = 0
  return {
    calls,
    put: async (url) => {
      calls.push(url)
      const r = results[i++]
      if (r === undefined) throw new Error('no more scripted answers')
      if (r === 'network') throw new TransferError('NETWORK', 'The connection to the storage server failed.')
      return r
    },
  }
}

describe('presigned URL rule', () => {
  it('requires https outside localhost', () => {
    expect(checkUrl('https://bucket.s3.amazonaws.com/k').protocol).toBe('https:')
    expect(checkUrl('http://localhost:7480/b/k').hostname).toBe('localhost')
    expect(checkUrl('http://127.0.0.1:7480/b/k').hostname).toBe('127.0.0.1')
    expect(() => checkUrl('http://minio.internal/b/k')).toThrow(expect.objectContaining({ code: 'INSECURE_URL' }))
    expect(checkUrl('http://minio.internal/b/k', true).hostname).toBe('minio.internal')
    expect(() => checkUrl('ftp://x/y')).toThrow(expect.objectContaining({ code: 'INSECURE_URL' }))
    expect(() => checkUrl('not a url')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})

describe('retry policy', () => {
  it('retries 5xx and 429 and succeeds', async () => {
    const s = script([status(500), status(503), status(429), ok()])
    expect(await putWithRetry(async () => ({ url: 'https://s/1' }), body, { ...fast, put: s.put })).toBe('"abc"')
    expect(s.calls).toHaveLength(4)
  })

  it('re-signs once on 403 (an expired URL), then fails fast', async () => {
    const s = script([status(403, 'AccessDenied'), ok()])
    const fresh: boolean[] = []
    await putWithRetry(async (f) => (fresh.push(f), { url: `https://s/${fresh.length}` }), body, { ...fast, put: s.put })
    expect(fresh).toEqual([false, true])
    const t = script([status(403, 'AccessDenied'), status(403, 'AccessDenied')])
    await expect(putWithRetry(async () => ({ url: 'https://s/1' }), body, { ...fast, put: t.put })).rejects.toMatchObject({
      code: 'REQUEST_REJECTED',
      status: 403,
      message: expect.stringContaining('AccessDenied'),
    })
  })

  it('fails fast on other 4xx', async () => {
    const s = script([status(400, 'EntityTooSmall')])
    await expect(putWithRetry(async () => ({ url: 'https://s/1' }), body, { ...fast, put: s.put })).rejects.toMatchObject({ code: 'REQUEST_REJECTED', status: 400 })
    expect(s.calls).toHaveLength(1)
  })

  it('gives up with NETWORK after the retries', async () => {
    const s = script(['network', 'network', 'network'])
    await expect(putWithRetry(async () => ({ url: 'https://s/1' }), body, { ...fast, retries: 2, put: s.put })).rejects.toMatchObject({ code: 'NETWORK' })
    expect(s.calls).toHaveLength(3)
  })

  it('a response without a readable ETag fails loudly, naming the CORS fix', async () => {
    const s = script([ok(null)])
    await expect(putWithRetry(async () => ({ url: 'https://s/1' }), body, { ...fast, put: s.put })).rejects.toMatchObject({
      code: 'MISSING_ETAG',
      message: expect.stringContaining('ExposeHeaders'),
    })
  })

  it('refuses an insecure URL before sending anything', async () => {
    const s = script([ok()])
    await expect(putWithRetry(async () => ({ url: 'http://example.com/k' }), body, { ...fast, put: s.put })).rejects.toMatchObject({ code: 'INSECURE_URL' })
    expect(s.calls).toHaveLength(0)
  })

  it('stops on abort', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(putWithRetry(async () => ({ url: 'https://s/1' }), body, { ...fast, signal: controller.signal, put: script([]).put })).rejects.toMatchObject({ code: 'ABORTED' })
  })
})
