/// <reference types="node" />
// The presign handler against the real Ceph RGW that scripts/test.sh starts: every URL it hands out
// is used with plain fetch, as a browser would, and RGW verifies every signature.
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { createPresignHandler } from '../src/index.js'
import { S3Client } from '../src/subpath-s3.js'
import { presignUrl } from '../src/subpath-sigv4.js'
import { type S3Env, MiB, bytes, call, countingFetch, errorCode, field, handlerFor, headersOf, partUrls, runPrefix, s3Env } from './helpers.js'

let env: S3Env
let s3: S3Client
let handler: (request: Request) => Promise<Response>
const prefix = runPrefix('handler')

// Per test, not once: without the S3_* variables every test fails with the reason (none is skipped).
beforeEach(() => {
  env = s3Env()
  s3 = new S3Client(env)
  handler = handlerFor(env, prefix)
})

afterAll(async () => {
  if (s3 === undefined) return
  // Leave nothing behind in the shared (RAM-backed) store.
  for (const upload of await s3.listMultipartUploads(prefix)) await s3.abortMultipartUpload(upload.key, upload.uploadId)
  for (const object of (await s3.listObjectsV2({ prefix })).objects) await s3.deleteObject(object.key)
})

// The metadata mirror as @bucketseal/core writes it: full `x-amz-meta-` names, base64 and JSON values.
const MIRROR = {
  'x-amz-meta-client-side-encryption-cek-alg': 'BKSL1/AES-256-GCM/HKDF-SHA-256/STREAM',
  'x-amz-meta-client-side-encryption-wrap-alg': 'A256KW,RSA-OAEP-256',
  'x-amz-meta-client-side-encryption-start': 'QktTTAEBAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==',
  'x-amz-meta-client-side-encryption-matdesc': '{"v":1,"hdr":300,"recipients":"body","kid":["a1b2c3"]}',
}

describe('multipart upload through presigned part URLs', () => {
  const key = `${prefix}video ünï (1).bin`
  const sizes = [5 * MiB, 5 * MiB, MiB + 123]
  const parts = sizes.map((size, i) => bytes(size, i + 1))
  let uploadId = ''
  const etags = new Map<number, string>()

  it('creates the upload with content type and metadata', async () => {
    const created = await call(handler, 'createMultipart', { key, contentType: 'application/octet-stream', metadata: MIRROR })
    expect(created.status).toBe(200)
    uploadId = field(created, 'uploadId')
  })

  it('signs a batch of part URLs and the parts go up with plain fetch PUTs, out of order', async () => {
    const signed = await call(handler, 'signParts', { key, uploadId, partNumbers: [3, 1, 2] })
    expect(signed.status).toBe(200)
    const urls = partUrls(signed)
    expect([...urls.keys()]).toEqual([3, 1, 2])
    for (const partNumber of [3, 1, 2]) {
      const url = urls.get(partNumber) ?? ''
      expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('host')
      const response = await fetch(url, { method: 'PUT', body: parts[partNumber - 1] })
      expect(response.status, await response.clone().text()).toBe(200)
      const etag = response.headers.get('etag')
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/)
      etags.set(partNumber, etag ?? '')
    }
  })

  it('lists the parts with their ETags and sizes', async () => {
    const listed = await call(handler, 'listParts', { key, uploadId })
    expect(listed.status).toBe(200)
    expect(listed.body['parts']).toEqual(sizes.map((size, i) => ({ partNumber: i + 1, etag: etags.get(i + 1), size })))
  })

  it('completes, with the ETag that HEAD gives (RGW sends an empty one)', async () => {
    const completed = await call(handler, 'complete', {
      key,
      uploadId,
      parts: [3, 1, 2].map((partNumber) => ({ partNumber, etag: etags.get(partNumber) })),
    })
    expect(completed.status).toBe(200)
    expect(field(completed, 'etag')).toMatch(/^"[0-9a-f]{32}-3"$/)
    const head = await call(handler, 'head', { key })
    expect(head.status).toBe(200)
    expect(head.body['etag']).toBe(completed.body['etag'])
    expect(head.body['size']).toBe(sizes.reduce((a, b) => a + b, 0))
    expect(head.body['contentType']).toBe('application/octet-stream')
    const expected = Object.fromEntries(Object.entries(MIRROR).map(([name, value]) => [name.slice('x-amz-meta-'.length), value]))
    expect(head.body['metadata']).toEqual(expected)
  })

  it('a ranged GET through the signed URL returns exactly the bytes', async () => {
    const whole = new Uint8Array(sizes.reduce((a, b) => a + b, 0))
    let offset = 0
    for (const part of parts) {
      whole.set(part, offset)
      offset += part.length
    }
    // A range across the boundary of parts 1 and 2, bound into the signature.
    const first = 5 * MiB - 100
    const signed = await call(handler, 'signGet', { key, range: `bytes=${first}-${first + 199}` })
    expect(signed.body['headers']).toEqual({ range: `bytes=${first}-${first + 199}` })
    const ranged = await fetch(field(signed, 'url'), { headers: { range: `bytes=${first}-${first + 199}` } })
    expect(ranged.status).toBe(206)
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(whole.subarray(first, first + 200))
    // The bound range is part of the signature: another one is refused.
    const other = await fetch(field(signed, 'url'), { headers: { range: 'bytes=0-9' } })
    expect(other.status).toBe(403)
    await other.arrayBuffer()
    // An unbound URL takes any range, suffix ranges included.
    const free = field(await call(handler, 'signGet', { key }), 'url')
    const suffix = await fetch(free, { headers: { range: 'bytes=-10' } })
    expect(suffix.status).toBe(206)
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(whole.subarray(whole.length - 10))
  })

  it('after completion the upload is gone: listParts answers NoSuchUpload', async () => {
    // (Completing twice is no test on RGW: Ceph 16 answers 500 "completion is already in progress".)
    const listed = await call(handler, 'listParts', { key, uploadId })
    expect([listed.status, errorCode(listed)]).toEqual([404, 'NoSuchUpload'])
  })
})

describe('store errors on completion', () => {
  it('a wrong ETag is InvalidPart, a small middle part EntityTooSmall (400 both)', async () => {
    const key = `${prefix}small-parts`
    const uploadId = field(await call(handler, 'createMultipart', { key }), 'uploadId')
    const urls = partUrls(await call(handler, 'signParts', { key, uploadId, partNumbers: [1, 2] }))
    const etags: string[] = []
    for (const [partNumber, url] of urls) {
      const response = await fetch(url, { method: 'PUT', body: bytes(1000, partNumber) })
      expect(response.status).toBe(200)
      etags.push(response.headers.get('etag') ?? '')
    }
    const wrong = await call(handler, 'complete', { key, uploadId, parts: [{ partNumber: 1, etag: '"00000000000000000000000000000000"' }] })
    expect([wrong.status, errorCode(wrong)]).toEqual([400, 'InvalidPart'])
    const small = await call(handler, 'complete', { key, uploadId, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) })
    expect([small.status, errorCode(small)]).toEqual([400, 'EntityTooSmall'])
    expect((await call(handler, 'abort', { key, uploadId })).status).toBe(200)
  })
})

describe('abort', () => {
  it('leaves no upload behind', async () => {
    const key = `${prefix}aborted.bin`
    const uploadId = field(await call(handler, 'createMultipart', { key }), 'uploadId')
    const url = partUrls(await call(handler, 'signParts', { key, uploadId, partNumbers: [1] })).get(1) ?? ''
    expect((await fetch(url, { method: 'PUT', body: bytes(1024, 9) })).status).toBe(200)
    expect((await s3.listMultipartUploads(prefix)).map((u) => u.uploadId)).toContain(uploadId)

    const aborted = await call(handler, 'abort', { key, uploadId })
    expect([aborted.status, aborted.body]).toEqual([200, {}])
    const listed = await call(handler, 'listParts', { key, uploadId })
    // RGW itself says NoSuchKey here; the client reports what AWS says.
    expect([listed.status, errorCode(listed)]).toEqual([404, 'NoSuchUpload'])
    expect((await s3.listMultipartUploads(prefix)).map((u) => u.uploadId)).not.toContain(uploadId)
    // A part URL of the aborted upload no longer works.
    const late = await fetch(url, { method: 'PUT', body: bytes(10, 1) })
    expect(late.status).toBe(404)
    await late.arrayBuffer()
  })
})

describe('single PUT, GET and HEAD', () => {
  const key = `${prefix}small/ä b+c (1).txt`
  const body = bytes(4321, 77)
  const metadata = { 'client-side-encryption-cek-alg': 'BKSL1/AES-256-GCM/HKDF-SHA-256/STREAM', owner: 'ada' }

  it('PUT sends exactly the signed headers, then GET and HEAD read the object back', async () => {
    const signed = await call(handler, 'signPut', { key, contentType: 'application/octet-stream', metadata })
    expect(signed.status).toBe(200)
    const headers = {
      'content-type': 'application/octet-stream',
      'content-disposition': 'attachment',
      'x-amz-acl': 'private',
      'x-amz-meta-client-side-encryption-cek-alg': metadata['client-side-encryption-cek-alg'],
      'x-amz-meta-owner': 'ada',
    }
    expect(signed.body['headers']).toEqual(headers)
    const url = field(signed, 'url')
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-disposition;content-type;host;x-amz-acl;x-amz-meta-client-side-encryption-cek-alg;x-amz-meta-owner')
    const put = await fetch(url, { method: 'PUT', body, headers })
    expect(put.status, await put.clone().text()).toBe(200)

    const get = await fetch(field(await call(handler, 'signGet', { key }), 'url'))
    expect(get.status).toBe(200)
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(body)

    const head = await fetch(field(await call(handler, 'signHead', { key }), 'url'), { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe(String(body.length))
    expect(head.headers.get('x-amz-meta-owner')).toBe('ada')

    const info = await call(handler, 'head', { key })
    expect(info.body).toMatchObject({ size: body.length, contentType: 'application/octet-stream', metadata })
  })

  it('a PUT with other metadata than signed is refused', async () => {
    const signed = await call(handler, 'signPut', { key: `${prefix}small/other`, metadata: { owner: 'ada' } })
    const put = await fetch(field(signed, 'url'), { method: 'PUT', body, headers: { ...headersOf(signed.body['headers']), 'x-amz-meta-owner': 'mallory' } })
    expect(put.status).toBe(403)
    expect(await put.text()).toContain('SignatureDoesNotMatch')
  })

  it('head of a missing key answers 404 NoSuchKey', async () => {
    const missing = await call(handler, 'head', { key: `${prefix}missing` })
    expect([missing.status, errorCode(missing)]).toEqual([404, 'NoSuchKey'])
  })
})

/** A single PUT through `signPut`, with the headers it answered. */
async function putSigned(key: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
  const signed = await call(handler, 'signPut', { key })
  expect((await fetch(field(signed, 'url'), { method: 'PUT', body, headers: headersOf(signed.body['headers']) })).status).toBe(200)
}

describe('presigned URLs RGW must refuse', () => {
  it('an expired URL (valid 60 s, signed 5 minutes ago) is 403, the same URL signed now is 200', async () => {
    const key = `${prefix}expiry`
    await putSigned(key, bytes(10, 3))
    // The signing time is an input (no sleep): one URL whose validity ended minutes ago, one current.
    const url = new URL(field(await call(handler, 'signGet', { key }), 'url'))
    url.search = ''
    const presign = (date: Date): Promise<string> => presignUrl({ method: 'GET', url, region: env.region, credentials: env.credentials, expiresIn: 60, date })
    expect((await fetch(await presign(new Date()))).status).toBe(200)
    const late = await fetch(await presign(new Date(Date.now() - 5 * 60_000)))
    expect(late.status).toBe(403)
    expect(await late.text()).toMatch(/AccessDenied|RequestExpired|expired/i)
  })

  it('a tampered signature, key or expiry is 403', async () => {
    const key = `${prefix}tamper`
    await putSigned(key, bytes(10, 4))
    const url = new URL(field(await call(handler, 'signGet', { key }), 'url'))
    expect((await fetch(url)).status).toBe(200)

    const signature = url.searchParams.get('X-Amz-Signature') ?? ''
    const flipped = new URL(url)
    flipped.searchParams.set('X-Amz-Signature', signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0'))
    const otherKey = new URL(url)
    otherKey.pathname = url.pathname.replace(/tamper$/, 'tampes')
    const longer = new URL(url)
    longer.searchParams.set('X-Amz-Expires', '604800')
    for (const tampered of [flipped, otherKey, longer]) {
      const response = await fetch(tampered)
      expect(response.status, tampered.href).toBe(403)
      expect(await response.text()).toContain('SignatureDoesNotMatch')
    }
  })
})

describe('authorization hook', () => {
  it('a denied request is 403 FORBIDDEN and reaches nothing', async () => {
    const counter = countingFetch()
    const seen: unknown[] = []
    const guarded = createPresignHandler({
      ...env,
      fetch: counter.fetch,
      authorize: ({ request, action, key }) => {
        seen.push([action, key, request.headers.get('x-user')])
        return key.startsWith(`${prefix}users/ada/`)
      },
    })
    const key = `${prefix}users/bob/secret.bin`
    const actions = [
      ['createMultipart', { key }],
      ['signParts', { key, uploadId: 'x', partNumbers: [1] }],
      ['listParts', { key, uploadId: 'x' }],
      ['complete', { key, uploadId: 'x', parts: [{ partNumber: 1, etag: '"e"' }] }],
      ['abort', { key, uploadId: 'x' }],
      ['signPut', { key }],
      ['signGet', { key }],
      ['signHead', { key }],
      ['head', { key }],
      ['replaceMetadata', { key, metadata: {} }],
      ['copyParts', { key, uploadId: 'x', etag: '"e"', parts: [{ partNumber: 2, start: 0, end: 10 }] }],
      ['list', { key }],
    ] as const
    for (const [action, body] of actions) {
      const denied = await call(guarded, action, body, { headers: { 'content-type': 'application/json', 'x-user': 'mallory' } })
      expect([action, denied.status, errorCode(denied)]).toEqual([action, 403, 'FORBIDDEN'])
      expect(JSON.stringify(denied.body)).not.toContain('X-Amz-Signature')
    }
    expect(seen).toEqual(actions.map(([action]) => [action, key, 'mallory']))
    expect(counter.count()).toBe(0)
    expect((await s3.listMultipartUploads(`${prefix}users/`)).length).toBe(0)

    // Only `true` allows: a truthy non-boolean from a sloppy JavaScript hook is a denial.
    const sloppy = createPresignHandler({ ...env, fetch: counter.fetch, authorize: () => JSON.parse('"yes"') })
    expect((await call(sloppy, 'signGet', { key })).status).toBe(403)

    const allowed = await call(guarded, 'createMultipart', { key: `${prefix}users/ada/ok.bin` })
    expect(allowed.status).toBe(200)
    expect(counter.count()).toBe(1)
  })

  it('a hook that throws fails closed with 500 INTERNAL', async () => {
    const throwing = createPresignHandler({
      ...env,
      authorize: () => {
        throw new Error('session store down: password=hunter2')
      },
    })
    const answer = await call(throwing, 'signGet', { key: `${prefix}x` })
    expect([answer.status, errorCode(answer)]).toEqual([500, 'INTERNAL'])
    expect(JSON.stringify(answer.body)).not.toContain('hunter2')
  })

  it('is required', () => {
    // @ts-expect-error authorize is missing on purpose
    expect(() => createPresignHandler({ ...env })).toThrow(/authorize is required/)
  })
})

describe('input validation', () => {
  const counter = countingFetch()
  let strict: (request: Request) => Promise<Response>
  beforeEach(() => {
    strict = createPresignHandler({ ...env, fetch: counter.fetch, authorize: () => true, maxPartUrlsPerRequest: 3 })
  })
  const k = 'ok/key'
  const u = 'upload-1'

  it.for([
    ['empty key', 'signGet', { key: '' }, 'INVALID_KEY'],
    ['missing key', 'signGet', {}, 'INVALID_KEY'],
    ['key not a string', 'signGet', { key: 42 }, 'INVALID_KEY'],
    ['key with a leading /', 'signGet', { key: '/etc/passwd' }, 'INVALID_KEY'],
    ['key of 1025 bytes', 'signGet', { key: 'é'.repeat(512) + 'a' }, 'INVALID_KEY'],
    ['key with a .. segment', 'signGet', { key: 'users/ada/../bob/x' }, 'INVALID_KEY'],
    ['key with a control character', 'signGet', { key: 'a\nb' }, 'INVALID_KEY'],
    ['key with a lone surrogate', 'signGet', { key: 'a\uD800' }, 'INVALID_KEY'],
    ['part number 0', 'signParts', { key: k, uploadId: u, partNumbers: [0] }, 'INVALID_PART_NUMBER'],
    ['part number 10001', 'signParts', { key: k, uploadId: u, partNumbers: [10001] }, 'INVALID_PART_NUMBER'],
    ['part number 1.5', 'signParts', { key: k, uploadId: u, partNumbers: [1.5] }, 'INVALID_PART_NUMBER'],
    ['part number "1"', 'signParts', { key: k, uploadId: u, partNumbers: ['1'] }, 'INVALID_PART_NUMBER'],
    ['a repeated part number', 'signParts', { key: k, uploadId: u, partNumbers: [1, 1] }, 'INVALID_PART_NUMBER'],
    ['more part URLs than allowed', 'signParts', { key: k, uploadId: u, partNumbers: [1, 2, 3, 4] }, 'INVALID_PART_NUMBER'],
    ['no part numbers', 'signParts', { key: k, uploadId: u, partNumbers: [] }, 'INVALID_PART_NUMBER'],
    ['empty upload id', 'listParts', { key: k, uploadId: '' }, 'INVALID_UPLOAD_ID'],
    ['missing upload id', 'abort', { key: k }, 'INVALID_UPLOAD_ID'],
    ['no parts to complete', 'complete', { key: k, uploadId: u, parts: [] }, 'INVALID_PARTS'],
    ['a part without an ETag', 'complete', { key: k, uploadId: u, parts: [{ partNumber: 1 }] }, 'INVALID_PARTS'],
    ['a repeated part to complete', 'complete', { key: k, uploadId: u, parts: [{ partNumber: 1, etag: 'a' }, { partNumber: 1, etag: 'b' }] }, 'INVALID_PART_NUMBER'],
    ['metadata over 2 KB', 'createMultipart', { key: k, metadata: { big: 'x'.repeat(2046) } }, 'INVALID_METADATA'],
    ['a metadata name with a space', 'createMultipart', { key: k, metadata: { 'a b': 'c' } }, 'INVALID_METADATA'],
    ['a non-ASCII metadata value', 'signPut', { key: k, metadata: { name: 'café' } }, 'INVALID_METADATA'],
    ['a metadata value with an edge space', 'signPut', { key: k, metadata: { name: ' x' } }, 'INVALID_METADATA'],
    ['a metadata name given twice', 'signPut', { key: k, metadata: { Owner: 'a', 'x-amz-meta-owner': 'b' } }, 'INVALID_METADATA'],
    ['metadata not an object', 'signPut', { key: k, metadata: 'owner=ada' }, 'INVALID_METADATA'],
    ['a content type with a newline', 'signPut', { key: k, contentType: 'text/plain\r\nx-evil: 1' }, 'INVALID_CONTENT_TYPE'],
    ['a multi-range', 'signGet', { key: k, range: 'bytes=0-1,5-6' }, 'INVALID_RANGE'],
    ['a backwards range', 'signGet', { key: k, range: 'bytes=9-1' }, 'INVALID_RANGE'],
    ['a range in other units', 'signGet', { key: k, range: 'items=0-1' }, 'INVALID_RANGE'],
  ] as const)('%s → 400 %s', async ([, action, body, code]) => {
    const answer = await call(strict, action, body)
    expect([answer.status, errorCode(answer)]).toEqual([400, code])
    expect(counter.count()).toBe(0)
  })

  it('rejects malformed requests with their own codes', async () => {
    const post = (path: string, init: RequestInit): Promise<Response> => strict(new Request(`http://app.test${path}`, { method: 'POST', ...init }))
    const json = { 'content-type': 'application/json' }
    const cases: [Promise<Response>, number, string][] = [
      [post('/api/s3/signGet', { headers: json, body: '{"key":' }), 400, 'BAD_REQUEST'],
      [post('/api/s3/signGet', { headers: json, body: '["a"]' }), 400, 'BAD_REQUEST'],
      [post('/api/s3/signGet', { headers: { 'content-type': 'text/plain' }, body: '{"key":"a"}' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [post('/api/s3/signGet', { headers: json, body: JSON.stringify({ key: 'a', pad: 'x'.repeat(1 << 20) }) }), 413, 'PAYLOAD_TOO_LARGE'],
      [post('/api/s3/deleteEverything', { headers: json, body: '{}' }), 404, 'NOT_FOUND'],
      [post('/elsewhere/signGet', { headers: json, body: '{}' }), 404, 'NOT_FOUND'],
      [strict(new Request('http://app.test/api/s3/signGet')), 405, 'METHOD_NOT_ALLOWED'],
    ]
    for (const [pending, status, code] of cases) {
      const response = await pending
      const body: unknown = await response.json()
      expect([response.status, body]).toMatchObject([status, { error: { code } }])
    }
    expect(counter.count()).toBe(0)
  })

  it('never echoes the credentials', async () => {
    const answers = await Promise.all([
      call(strict, 'signGet', { key: 'a' }),
      call(strict, 'signPut', { key: 'a', metadata: { a: 'b' } }),
      call(strict, 'signParts', { key: 'a', uploadId: 'u', partNumbers: [1, 2] }),
      call(strict, 'signGet', { key: '' }),
    ])
    for (const answer of answers) expect(JSON.stringify(answer.body)).not.toContain(env.credentials.secretAccessKey)
  })
})

describe('RGW bucket CORS', () => {
  it('a preflight from a localhost dev server exposes ETag, after S3Client.putBucketCors too', async () => {
    const preflight = async (): Promise<Response> =>
      fetch(`${env.endpoint}/${env.bucket}/${prefix}any`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type,x-amz-meta-owner' },
      })
    const check = async (): Promise<void> => {
      const response = await preflight()
      expect(response.status).toBe(200)
      expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
      expect(response.headers.get('access-control-allow-methods')).toContain('PUT')
      expect(response.headers.get('access-control-expose-headers')?.split(',').map((h) => h.trim().toLowerCase())).toContain('etag')
    }
    await check()
    // The same rules written by our own client: PutBucketCors works against a real store.
    await s3.putBucketCors([
      {
        allowedOrigins: ['http://localhost', 'http://localhost:*', 'http://127.0.0.1', 'http://127.0.0.1:*', 'https://localhost:*'],
        allowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'],
        allowedHeaders: ['*'],
        exposeHeaders: ['ETag', 'Content-Range', 'Content-Length'],
        maxAgeSeconds: 3000,
      },
    ])
    await check()
    const foreign = await fetch(`${env.endpoint}/${env.bucket}/${prefix}any`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
    })
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
  })
})
