/// <reference types="node" />
// toNodeListener: the handler mounted on a real node:http server, talking to the real RGW.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { toNodeListener } from '../src/index.js'
import { S3Client } from '../src/subpath-s3.js'
import { type S3Env, handlerFor, runPrefix, s3Env } from './helpers.js'

let env: S3Env
let server: Server
let base = ''
const prefix = runPrefix('node')

// Per test: without the S3_* variables every test fails with the reason (none is skipped).
beforeEach(() => {
  env = s3Env()
})

beforeAll(async () => {
  // The handler is made per request, so a missing environment fails the tests rather than this hook.
  const listener = toNodeListener((request) => handlerFor(s3Env(), prefix)(request))
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Mounted twice: plainly, and the way Express mounts it (`app.use('/mounted', …)` trims
    // req.url and keeps the full path in originalUrl).
    if (req.url?.startsWith('/mounted/') === true) {
      Object.assign(req, { originalUrl: req.url.replace('/mounted', '/api/s3'), url: req.url.slice('/mounted'.length) })
    }
    listener(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address: AddressInfo | string | null = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  base = `http://127.0.0.1:${address.port}`
})

afterAll(async () => {
  if (server !== undefined) await new Promise((resolve) => server.close(resolve))
})

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('toNodeListener', () => {
  it('serves the handler on node:http: create and abort a multipart upload', async () => {
    const key = `${prefix}via-http.bin`
    const created = await post('/api/s3/createMultipart', { key, metadata: { owner: 'ada' } })
    expect(created.status).toBe(200)
    expect(created.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(created.headers.get('cache-control')).toBe('no-store')
    const body: unknown = await created.json()
    expect(body).toMatchObject({ uploadId: expect.any(String) })
    const uploadId = typeof body === 'object' && body !== null && 'uploadId' in body ? body.uploadId : ''

    const s3 = new S3Client(env)
    expect((await s3.listMultipartUploads(prefix)).map((u) => u.uploadId)).toContain(uploadId)
    const aborted = await post('/mounted/abort', { key, uploadId })
    expect([aborted.status, await aborted.json()]).toEqual([200, {}])
    expect(await s3.listMultipartUploads(prefix)).toEqual([])
  })

  it('passes errors through with their status, code and headers', async () => {
    const denied = await post('/api/s3/signGet', { key: 'elsewhere/x' })
    expect([denied.status, await denied.json()]).toMatchObject([403, { error: { code: 'FORBIDDEN' } }])
    const wrongMethod = await fetch(`${base}/api/s3/signGet`)
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers.get('allow')).toBe('POST')
    await wrongMethod.arrayBuffer()
    const invalid = await post('/api/s3/signParts', { key: `${prefix}k`, uploadId: 'u', partNumbers: [0] })
    expect([invalid.status, await invalid.json()]).toMatchObject([400, { error: { code: 'INVALID_PART_NUMBER' } }])
  })
})
