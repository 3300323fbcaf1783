/// <reference types="node" />
// Server-side encryption as a second layer: which headers the handler signs into which request
// (pure, through a recording fake store), then every mode Ceph RGW 16 serves, end to end through
// presigned URLs used with plain fetch, as a browser would. scripts/rgw.sh configures RGW for it:
// SSE over plain http, and aws:kms with the key id "testkey-1".
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { InvalidInputError, type ServerSideEncryption, createPresignHandler } from '../src/index.js'
import { S3Client, type SseOperation, serverSideEncryptionHeaders } from '../src/subpath-s3.js'
import { type S3Env, MiB, bytes, call, field, handlerFor, headersOf, runPrefix, s3Env, signedParts } from './helpers.js'
import file from './vectors/sse-c.json'

const ALG = 'x-amz-server-side-encryption-customer-algorithm'
const KEY = 'x-amz-server-side-encryption-customer-key'
const KEY_MD5 = 'x-amz-server-side-encryption-customer-key-md5'
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
const md5b64 = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('base64')
// Compared by digest: toEqual on a 5 MiB Uint8Array takes seconds.
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

const customerKey = new Uint8Array(32).fill(7)
const otherKey = new Uint8Array(32).fill(8)
const ssec = { [ALG]: 'AES256', [KEY]: b64(customerKey), [KEY_MD5]: md5b64(customerKey) }
const copySource = { 'x-amz-copy-source-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-copy-source-server-side-encryption-customer-key': b64(customerKey), 'x-amz-copy-source-server-side-encryption-customer-key-md5': md5b64(customerKey) }
const aes: ServerSideEncryption = { mode: 'AES256' }
const kms: ServerSideEncryption = { mode: 'aws:kms', keyId: 'testkey-1' }
const sseC: ServerSideEncryption = { mode: 'SSE-C', key: customerKey }
const OPERATIONS: readonly SseOperation[] = ['write', 'part', 'read', 'copySource']

const fakeOptions = {
  endpoint: 'https://s3.example.test',
  region: 'us-east-1',
  bucket: 'b',
  forcePathStyle: true,
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-not-real' },
}

describe('serverSideEncryptionHeaders', () => {
  const none = {}
  it.for([
    ['AES256', aes, { write: { 'x-amz-server-side-encryption': 'AES256' }, part: none, read: none, copySource: none }],
    ['aws:kms with a key id', kms, { write: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'testkey-1' }, part: none, read: none, copySource: none }],
    ["aws:kms with the store's default key", { mode: 'aws:kms' }, { write: { 'x-amz-server-side-encryption': 'aws:kms' }, part: none, read: none, copySource: none }],
    ['SSE-C', sseC, { write: ssec, part: ssec, read: ssec, copySource }],
  ] as const)('%s', ([, sse, expected]) => {
    for (const operation of OPERATIONS) expect([operation, serverSideEncryptionHeaders(sse, operation)]).toEqual([operation, expected[operation]])
  })

  it.for(file.vectors)('SSE-C key digest: $name', ({ keyBase64, keyMD5 }) => {
    const headers = serverSideEncryptionHeaders({ mode: 'SSE-C', key: new Uint8Array(Buffer.from(keyBase64, 'base64')) }, 'read')
    expect([headers[KEY], headers[KEY_MD5]]).toEqual([keyBase64, keyMD5])
  })

  it('SSE-C key digest matches node:crypto on random keys', () => {
    for (let i = 0; i < 200; i++) {
      const key = new Uint8Array(randomBytes(32))
      expect(serverSideEncryptionHeaders({ mode: 'SSE-C', key }, 'part')[KEY_MD5]).toBe(md5b64(key))
    }
  })

  it.for([
    ['a 31-byte SSE-C key', { mode: 'SSE-C', key: new Uint8Array(31) }, /32 bytes/],
    ['a 33-byte SSE-C key', { mode: 'SSE-C', key: new Uint8Array(33) }, /32 bytes/],
    ['an SSE-C key as an array of numbers', { mode: 'SSE-C', key: Array.from(customerKey) }, /Uint8Array/],
    ['an SSE-C key as base64', { mode: 'SSE-C', key: b64(customerKey) }, /Uint8Array/],
    ['a KMS key id with a space', { mode: 'aws:kms', keyId: 'alias/my key' }, /keyId/],
    ['an empty KMS key id', { mode: 'aws:kms', keyId: '' }, /keyId/],
    ['an unknown mode', { mode: 'aws:kms:dsse' }, /mode must be/],
    ['a bare string', 'AES256', /must be \{ mode/],
  ] as const)('refuses %s, at handler creation too', ([, bad, message]) => {
    const options: unknown = bad
    // @ts-expect-error deliberately ill-typed, as a plain-JavaScript caller might pass it
    expect(() => serverSideEncryptionHeaders(options, 'write')).toThrow(InvalidInputError)
    // @ts-expect-error the same through the handler's options
    expect(() => createPresignHandler({ ...fakeOptions, authorize: () => true, serverSideEncryption: options })).toThrow(message)
  })

  it('the option decides the SSE headers: S3Client refuses them as presign headers', async () => {
    const s3 = new S3Client({ ...fakeOptions, serverSideEncryption: kms })
    await expect(s3.presignRequest('PUT', 'k', { expiresIn: 60, headers: { 'x-amz-server-side-encryption': 'AES256' } })).rejects.toThrow(/set by the serverSideEncryption option/)
    // Without the option, a caller may still sign SSE headers of its own.
    const plain = await new S3Client(fakeOptions).presignRequest('PUT', 'k', { expiresIn: 60, headers: { 'x-amz-server-side-encryption': 'AES256' } })
    expect(plain.headers).toEqual({ 'x-amz-server-side-encryption': 'AES256' })
  })
})

/** A store that answers like S3 and records each request's operation and headers. */
function recordingStore(): { fetch: typeof fetch; seen: Map<string, Record<string, string>> } {
  const seen = new Map<string, Record<string, string>>()
  return {
    seen,
    fetch: async (input, init) => {
      const url = new URL(String(input))
      const method = init?.method ?? 'GET'
      const operation = method === 'HEAD' ? 'HeadObject' : url.searchParams.has('uploads') ? 'CreateMultipartUpload' : 'CompleteMultipartUpload'
      seen.set(operation, Object.fromEntries(new Headers(init?.headers)))
      const xml = (body: string): Response => new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, { status: 200 })
      if (operation === 'CreateMultipartUpload') return xml('<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>')
      // An empty ETag, as Ceph answers, so that completion reads it with a HEAD.
      if (operation === 'CompleteMultipartUpload') return xml('<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>')
      return new Response(null, { status: 200, headers: { 'content-length': '10', etag: '"e-2"' } })
    },
  }
}

/** The signed header names of a presigned URL, without `host`. */
function signedNames(url: string): string[] {
  return (new URL(url).searchParams.get('X-Amz-SignedHeaders') ?? '').split(';').filter((name) => name !== 'host')
}

describe('the handler signs each mode into the right requests (a fake store; AES256 is untested against a real one)', () => {
  const kmsWrite = { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'testkey-1' }
  it.for([
    ['none', undefined, { create: {}, part: {}, complete: {}, put: {}, get: {}, head: {} }],
    ['AES256', aes, { create: { 'x-amz-server-side-encryption': 'AES256' }, part: {}, complete: {}, put: { 'x-amz-server-side-encryption': 'AES256' }, get: {}, head: {} }],
    ['aws:kms', kms, { create: kmsWrite, part: {}, complete: {}, put: kmsWrite, get: {}, head: {} }],
    ['SSE-C', sseC, { create: ssec, part: ssec, complete: {}, put: ssec, get: ssec, head: ssec }],
  ] as const)('%s', async ([, sse, expected]) => {
    const store = recordingStore()
    const handler = createPresignHandler({ ...fakeOptions, fetch: store.fetch, authorize: () => true, ...(sse === undefined ? {} : { serverSideEncryption: sse }) })
    const key = 'users/ada/file.bin'
    const pick = (headers: Record<string, string> | undefined): Record<string, string> =>
      Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => name.startsWith('x-amz-server-side-encryption')))

    // Server-side requests: the store sees the headers, the browser never does.
    const created = await call(handler, 'createMultipart', { key, contentType: 'application/octet-stream' })
    expect(created.body).toEqual({ uploadId: 'u-1' })
    expect(pick(store.seen.get('CreateMultipartUpload'))).toEqual(expected.create)
    expect((await call(handler, 'complete', { key, uploadId: 'u-1', parts: [{ partNumber: 1, etag: '"a"' }] })).body).toEqual({ etag: '"e-2"' })
    expect(pick(store.seen.get('CompleteMultipartUpload'))).toEqual(expected.complete)
    // The HEAD that reads the ETag Ceph leaves out needs the SSE-C key as well.
    expect(pick(store.seen.get('HeadObject'))).toEqual(expected.head)

    // Presigned requests: the answer carries the exact headers, and each of them is signed.
    const parts = signedParts(await call(handler, 'signParts', { key, uploadId: 'u-1', partNumbers: [1, 2] }))
    for (const { url, headers } of parts.values()) {
      expect(headers).toEqual(expected.part)
      expect(signedNames(url)).toEqual(Object.keys(expected.part).sort())
    }
    const cases = [
      ['put', await call(handler, 'signPut', { key }), {}],
      ['get', await call(handler, 'signGet', { key }), {}],
      ['get', await call(handler, 'signGet', { key, range: 'bytes=0-99' }), { range: 'bytes=0-99' }],
      ['head', await call(handler, 'signHead', { key }), {}],
    ] as const
    for (const [kind, answer, extra] of cases) {
      const headers = headersOf(answer.body['headers'])
      // Every single PUT also signs what the handler pins (pinning.node.test.ts replays the attacks).
      const pinned = kind === 'put' ? { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment', 'x-amz-acl': 'private' } : {}
      expect([kind, headers]).toEqual([kind, { ...extra, ...pinned, ...expected[kind] }])
      expect(signedNames(field(answer, 'url'))).toEqual(Object.keys(headers).sort())
    }
  })
})

describe('against Ceph RGW', () => {
  let env: S3Env
  let s3: S3Client
  const prefix = runPrefix('sse')

  beforeEach(() => {
    env = s3Env()
    s3 = new S3Client(env)
  })

  afterAll(async () => {
    if (s3 === undefined) return
    for (const upload of await s3.listMultipartUploads(prefix)) await s3.abortMultipartUpload(upload.key, upload.uploadId)
    // DeleteObject needs no SSE-C key.
    for (const object of (await s3.listObjectsV2({ prefix })).objects) await s3.deleteObject(object.key)
  })

  /** Uploads `body` in parts (5 MiB and the rest) through presigned URLs with their headers, out of order. */
  async function multipart(handler: (request: Request) => Promise<Response>, key: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
    const uploadId = field(await call(handler, 'createMultipart', { key, contentType: 'application/octet-stream' }), 'uploadId')
    const slices = [body.subarray(0, 5 * MiB), body.subarray(5 * MiB)]
    const parts = signedParts(await call(handler, 'signParts', { key, uploadId, partNumbers: [2, 1] }))
    const etags: { partNumber: number; etag: string }[] = []
    for (const [partNumber, { url, headers }] of parts) {
      const response = await fetch(url, { method: 'PUT', body: slices[partNumber - 1], headers })
      expect(response.status, await response.clone().text()).toBe(200)
      etags.push({ partNumber, etag: response.headers.get('etag') ?? '' })
    }
    const completed = await call(handler, 'complete', { key, uploadId, parts: etags })
    expect(completed.status, JSON.stringify(completed.body)).toBe(200)
  }

  /** GETs through a presigned URL with the headers the handler returned (and the range, if any). */
  async function get(handler: (request: Request) => Promise<Response>, key: string, range?: string): Promise<Response> {
    const signed = await call(handler, 'signGet', range === undefined ? { key } : { key, range })
    return fetch(field(signed, 'url'), { headers: headersOf(signed.body['headers']) })
  }

  async function head(handler: (request: Request) => Promise<Response>, key: string): Promise<Response> {
    const signed = await call(handler, 'signHead', { key })
    return fetch(field(signed, 'url'), { method: 'HEAD', headers: headersOf(signed.body['headers']) })
  }

  const body = bytes(5 * MiB + 4321, 11)
  const modes = [
    ['aws:kms (key id testkey-1, RGW testing backend)', kms, { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'testkey-1' }, { mode: 'aws:kms', keyId: 'testkey-1' }],
    ['SSE-C', sseC, { [ALG]: 'AES256', [KEY_MD5]: md5b64(customerKey) }, { mode: 'SSE-C', keyMD5: md5b64(customerKey) }],
  ] as const

  for (const [name, sse, reported, info] of modes) {
    describe(name, () => {
      const single = `${prefix}${sse.mode}/single.bin`
      const multi = `${prefix}${sse.mode}/multi ünï.bin`
      let handler: (request: Request) => Promise<Response>
      beforeEach(() => {
        handler = handlerFor(env, prefix, { serverSideEncryption: sse })
      })

      it('a single presigned PUT, then GET and HEAD with the returned headers, give the bytes back', async () => {
        const small = body.subarray(0, 4321)
        const signed = await call(handler, 'signPut', { key: single, contentType: 'application/octet-stream', metadata: { owner: 'ada' } })
        const headers = headersOf(signed.body['headers'])
        const put = await fetch(field(signed, 'url'), { method: 'PUT', body: small, headers })
        expect(put.status, await put.clone().text()).toBe(200)

        const got = await get(handler, single)
        expect(got.status).toBe(200)
        expect(new Uint8Array(await got.arrayBuffer())).toEqual(small)
        const headed = await head(handler, single)
        expect(headed.status).toBe(200)
        expect(headed.headers.get('content-length')).toBe('4321')
        for (const [header, value] of Object.entries(reported)) expect([header, headed.headers.get(header)]).toEqual([header, value])
        expect((await call(handler, 'head', { key: single })).body).toMatchObject({ size: 4321, metadata: { owner: 'ada' }, serverSideEncryption: info })
      })

      it('a multipart upload through presigned part URLs with their headers, read back whole and by range', async () => {
        await multipart(handler, multi, body)
        const whole = await get(handler, multi)
        expect(whole.status).toBe(200)
        expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(body))
        // A range across the boundary of parts 1 and 2.
        const first = 5 * MiB - 100
        const ranged = await get(handler, multi, `bytes=${first}-${first + 199}`)
        expect(ranged.status).toBe(206)
        expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(body.subarray(first, first + 200))
        const headed = await head(handler, multi)
        for (const [header, value] of Object.entries(reported)) expect([header, headed.headers.get(header)]).toEqual([header, value])
        expect((await call(handler, 'head', { key: multi })).body).toMatchObject({ size: body.length, contentType: 'application/octet-stream', serverSideEncryption: info })
      })

      it('a browser that drops the signed SSE headers is refused', async () => {
        const signed = await call(handler, 'signPut', { key: `${prefix}${sse.mode}/dropped.bin` })
        const put = await fetch(field(signed, 'url'), { method: 'PUT', body: body.subarray(0, 10) })
        expect(put.status).toBe(403)
        expect(await put.text()).toContain('SignatureDoesNotMatch')
      })
    })
  }

  describe('SSE-C reads need the key', () => {
    const key = `${prefix}SSE-C/locked.bin`
    const small = body.subarray(0, 1000)

    it('a GET or HEAD without the key headers is refused, and with the wrong key too', async () => {
      const handler = handlerFor(env, prefix, { serverSideEncryption: sseC })
      const signed = await call(handler, 'signPut', { key })
      expect((await fetch(field(signed, 'url'), { method: 'PUT', body: small, headers: headersOf(signed.body['headers']) })).status).toBe(200)

      // Signed by a handler without SSE: no key headers at all.
      const plain = handlerFor(env, prefix)
      const bare = await get(plain, key)
      expect([400, 403]).toContain(bare.status)
      expect(await bare.text()).toMatch(/InvalidArgument|InvalidRequest|AccessDenied/)
      expect([400, 403]).toContain((await head(plain, key)).status)
      // The server-side `head` cannot read it either.
      expect((await call(plain, 'head', { key })).status).toBe(400)

      // Signed by a handler holding another key.
      const wrong = handlerFor(env, prefix, { serverSideEncryption: { mode: 'SSE-C', key: otherKey } })
      const mismatched = await get(wrong, key)
      expect([400, 403]).toContain(mismatched.status)
      expect(new Uint8Array(await mismatched.arrayBuffer())).not.toEqual(small)
      expect([400, 403]).toContain((await head(wrong, key)).status)

      // The right key still reads it.
      expect(new Uint8Array(await (await get(handler, key)).arrayBuffer())).toEqual(small)
    })

    it('a part PUT without the key headers is refused', async () => {
      const handler = handlerFor(env, prefix, { serverSideEncryption: sseC })
      const uploadId = field(await call(handler, 'createMultipart', { key: `${prefix}SSE-C/parts.bin` }), 'uploadId')
      // A part URL from a handler without SSE, for the same upload.
      const part = signedParts(await call(handlerFor(env, prefix), 'signParts', { key: `${prefix}SSE-C/parts.bin`, uploadId, partNumbers: [1] })).get(1)
      const put = await fetch(part?.url ?? '', { method: 'PUT', body: small, headers: part?.headers ?? {} })
      expect(put.status).toBe(400)
      expect(await put.text()).toContain('InvalidArgument')
      expect((await call(handler, 'abort', { key: `${prefix}SSE-C/parts.bin`, uploadId })).status).toBe(200)
    })
  })

  it('aws:kms objects need no headers to be read: a handler without SSE reads them', async () => {
    const key = `${prefix}aws:kms/plain-reader.bin`
    const writer = handlerFor(env, prefix, { serverSideEncryption: kms })
    const signed = await call(writer, 'signPut', { key })
    expect((await fetch(field(signed, 'url'), { method: 'PUT', body: body.subarray(0, 100), headers: headersOf(signed.body['headers']) })).status).toBe(200)
    const got = await get(handlerFor(env, prefix), key)
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(body.subarray(0, 100))
  })

  it('Ceph RGW 16 accepts AES256 but does not report it (nor, without a default key, apply it: docs/SSE.md)', async () => {
    const key = `${prefix}AES256/object.bin`
    const handler = handlerFor(env, prefix, { serverSideEncryption: aes })
    const signed = await call(handler, 'signPut', { key })
    expect(headersOf(signed.body['headers'])).toMatchObject({ 'x-amz-server-side-encryption': 'AES256' })
    expect((await fetch(field(signed, 'url'), { method: 'PUT', body: body.subarray(0, 100), headers: headersOf(signed.body['headers']) })).status).toBe(200)
    expect(new Uint8Array(await (await get(handler, key)).arrayBuffer())).toEqual(body.subarray(0, 100))
    // AWS would answer `x-amz-server-side-encryption: AES256` here. If this starts failing, RGW has
    // learnt SSE-S3: move AES256 into the modes above and update docs/SSE.md.
    expect((await head(handler, key)).headers.get('x-amz-server-side-encryption')).toBeNull()
    expect((await call(handler, 'head', { key })).body['serverSideEncryption']).toBeUndefined()
  })

  it("the test bucket's CORS lets a browser send the SSE-C headers", async () => {
    const preflight = await fetch(`${env.endpoint}/${env.bucket}/${prefix}any`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'PUT', 'access-control-request-headers': [ALG, KEY, KEY_MD5].join(',') },
    })
    expect(preflight.status).toBe(200)
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase()
    for (const header of [ALG, KEY, KEY_MD5]) expect(allowed).toContain(header)
  })
})
