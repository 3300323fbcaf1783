/// <reference types="node" />
// What the presigner pins, replayed against the real Ceph RGW as a hostile browser would: it holds
// a presigned URL for its own key and adds or changes headers before sending it. Each attack shows
// either the store refusing it (the presigner signed what it changed) or, where a header nobody
// signed is obeyed, that this is the store's problem (docs/SECURITY.md, "Unsigned headers").
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { bytes, call, countingFetch, errorCode, field, handlerFor, headersOf, runPrefix, signedParts, useRgw } from './helpers.js'

const prefix = runPrefix('pinning')
const rgw = useRgw(prefix)
// The attacker may touch only `${prefix}mallory/`; the victim's object is elsewhere in the bucket.
const mine = `${prefix}mallory/`
const victim = `${prefix}victim/secret.bin`
const SECRET = bytes(3000, 77)

const sseCHeaders = (key: Uint8Array): Record<string, string> => ({
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': Buffer.from(key).toString('base64'),
  'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
})

/** The attacker's handler: its authorize hook allows only the attacker's prefix. */
const mallory = (extra: Parameters<typeof handlerFor>[2] = {}): ((request: Request) => Promise<Response>) => handlerFor(rgw.env, mine, extra)

async function signPut(handler: (request: Request) => Promise<Response>, key: string): Promise<{ url: string; headers: Record<string, string> }> {
  const signed = await call(handler, 'signPut', { key, metadata: { owner: 'mallory' } })
  expect(signed.status, JSON.stringify(signed.body)).toBe(200)
  return { url: field(signed, 'url'), headers: headersOf(signed.body['headers']) }
}

async function putVictim(): Promise<void> {
  const signed = await signPut(rgw.handler, victim)
  expect((await fetch(signed.url, { method: 'PUT', body: SECRET, headers: signed.headers })).status).toBe(200)
}

/** A request with no credentials at all, as anyone on the internet can send. */
const anonymousGet = (key: string): Promise<Response> => fetch(rgw.s3.bucket.objectUrl(key))

describe('the presigner pins type, disposition and ACL', () => {
  it('signPut answers the pinned headers, all signed, and the object is stored with them', async () => {
    const key = `${mine}pinned.bin`
    const { url, headers } = await signPut(mallory(), key)
    expect(headers).toEqual({ 'content-type': 'application/octet-stream', 'content-disposition': 'attachment', 'x-amz-acl': 'private', 'x-amz-meta-owner': 'mallory' })
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-disposition;content-type;host;x-amz-acl;x-amz-meta-owner')
    expect((await fetch(url, { method: 'PUT', body: bytes(10, 1), headers })).status).toBe(200)
    const head = await fetch((await rgw.s3.presignRequest('HEAD', key, { expiresIn: 60 })).url, { method: 'HEAD' })
    expect([head.headers.get('content-type'), head.headers.get('content-disposition')]).toEqual(['application/octet-stream', 'attachment'])
    expect((await anonymousGet(key)).status).toBe(403)
  })

  it.for([
    ['x-amz-acl: public-read instead of private', { 'x-amz-acl': 'public-read' }],
    ['Content-Type: text/html instead of application/octet-stream', { 'content-type': 'text/html' }],
    ['Content-Disposition: inline instead of attachment', { 'content-disposition': 'inline' }],
  ] as const)('a browser that sends %s is refused: SignatureDoesNotMatch', async ([, changed]) => {
    const key = `${mine}changed-${Object.keys(changed)[0] ?? ''}.bin`
    const { url, headers } = await signPut(mallory(), key)
    const put = await fetch(url, { method: 'PUT', body: bytes(10, 2), headers: { ...headers, ...changed } })
    expect(put.status).toBe(403)
    expect(await put.text()).toContain('SignatureDoesNotMatch')
    expect((await call(rgw.handler, 'head', { key })).status).toBe(404)
  })

  it('a browser that drops x-amz-acl is refused too', async () => {
    const { url, headers } = await signPut(mallory(), `${mine}dropped.bin`)
    const { 'x-amz-acl': _dropped, ...rest } = headers
    expect((await fetch(url, { method: 'PUT', body: bytes(10, 3), headers: rest })).status).toBe(403)
  })

  it.for(['signPut', 'createMultipart', 'replaceMetadata'] as const)('%s refuses a content type other than application/octet-stream, before the store is asked', async (action) => {
    const counting = countingFetch()
    const handler = mallory({ fetch: counting.fetch })
    for (const contentType of ['text/html', 'image/svg+xml', 'application/octet-stream; x=1']) {
      const answer = await call(handler, action, { key: `${mine}typed.bin`, contentType, metadata: {} })
      expect([contentType, answer.status, errorCode(answer)]).toEqual([contentType, 400, 'INVALID_CONTENT_TYPE'])
    }
    expect(counting.count()).toBe(0)
  })

  it('createMultipart and replaceMetadata store the pinned type, disposition and ACL', async () => {
    const key = `${mine}multi.bin`
    const handler = mallory()
    const uploadId = field(await call(handler, 'createMultipart', { key, contentType: 'application/octet-stream', metadata: { v: '1' } }), 'uploadId')
    const part = signedParts(await call(handler, 'signParts', { key, uploadId, partNumbers: [1] })).get(1)
    const put = await fetch(part?.url ?? '', { method: 'PUT', body: bytes(100, 4), headers: part?.headers ?? {} })
    expect((await call(handler, 'complete', { key, uploadId, parts: [{ partNumber: 1, etag: put.headers.get('etag') ?? '' }] })).status).toBe(200)
    const etag = field(await call(handler, 'head', { key }), 'etag')
    expect((await call(handler, 'replaceMetadata', { key, metadata: { v: '2' }, etag })).status).toBe(200)
    const head = await fetch((await rgw.s3.presignRequest('HEAD', key, { expiresIn: 60 })).url, { method: 'HEAD' })
    expect([head.headers.get('content-type'), head.headers.get('content-disposition'), head.headers.get('x-amz-meta-v')]).toEqual(['application/octet-stream', 'attachment', '2'])
    expect((await anonymousGet(key)).status).toBe(403)
  })

  it('signGet serves any object as an attachment of opaque bytes, even one stored as text/html by another tool', async () => {
    const key = `${mine}legacy.html`
    // Written around the handler, with the plain client, as an older version or another tool might.
    const legacy = await rgw.s3.presignRequest('PUT', key, { expiresIn: 60, headers: { 'content-type': 'text/html' } })
    expect((await fetch(legacy.url, { method: 'PUT', body: '<script>alert(1)</script>', headers: legacy.headers })).status).toBe(200)
    const signed = await call(mallory(), 'signGet', { key })
    const got = await fetch(field(signed, 'url'), { headers: headersOf(signed.body['headers']) })
    expect(got.status).toBe(200)
    expect([got.headers.get('content-type'), got.headers.get('content-disposition')]).toEqual(['application/octet-stream', 'attachment'])
    // The overrides are signed: a link edited back to text/html is refused.
    const edited = new URL(field(signed, 'url'))
    edited.searchParams.set('response-content-type', 'text/html')
    expect((await fetch(edited)).status).toBe(403)
  })
})

describe('server-side encryption: the server decides', () => {
  it("a client's own SSE-C key on a URL signed for the server's SSE-C key is refused", async () => {
    const handler = mallory({ serverSideEncryption: { mode: 'SSE-C', key: new Uint8Array(32).fill(5) } })
    const { url, headers } = await signPut(handler, `${mine}ssec-swapped.bin`)
    const put = await fetch(url, { method: 'PUT', body: bytes(10, 5), headers: { ...headers, ...sseCHeaders(new Uint8Array(32).fill(6)) } })
    expect(put.status).toBe(403)
    expect(await put.text()).toContain('SignatureDoesNotMatch')
  })

  it.for([
    ['without serverSideEncryption', undefined],
    ["with aws:kms (the client's SSE-C wins over the signed aws:kms)", { mode: 'aws:kms', keyId: 'testkey-1' }],
  ] as const)("%s, RGW obeys an unsigned SSE-C header: the store's problem (docs/SECURITY.md)", async ([name, sse]) => {
    // Nothing can be signed for a header that should be absent. AWS S3 refuses this request (an
    // unsigned x-amz-* header on a presigned URL); Ceph RGW 16 stores the object under the client's
    // key, and the server's own `head` can no longer read it. Only the server's own SSE-C key (the
    // test above) pins these headers. If this starts failing, RGW has begun refusing unsigned
    // headers: update the table in docs/SECURITY.md.
    const handler = mallory(sse === undefined ? {} : { serverSideEncryption: sse })
    const key = `${mine}ssec-unsigned-${sse?.mode ?? 'none'}.bin`
    const { url, headers } = await signPut(handler, key)
    const put = await fetch(url, { method: 'PUT', body: bytes(10, 7), headers: { ...headers, ...sseCHeaders(new Uint8Array(32).fill(6)) } })
    expect([name, put.status]).toEqual([name, 200])
    const head = await call(handler, 'head', { key })
    expect([name, head.status]).toEqual([name, 400])
  })
})

describe('x-amz-copy-source on a presigned URL: what stays the store\'s problem', () => {
  // These document RGW's behaviour rather than ours: nothing the presigner signs can forbid a header
  // that should be absent. AWS S3 refuses them; on RGW the app needs per-user scoped credentials or
  // a proxy that drops unsigned x-amz-* headers (docs/SECURITY.md). If they start failing, RGW has
  // begun refusing unsigned headers: update the table there.
  it('a signPut URL plus x-amz-copy-source copies the other user\'s object (CopyObject), still private', async () => {
    await putVictim()
    const key = `${mine}stolen.bin`
    const { url, headers } = await signPut(mallory(), key)
    const put = await fetch(url, { method: 'PUT', headers: { ...headers, 'x-amz-copy-source': `/${rgw.env.bucket}/${victim}` } })
    expect(put.status).toBe(200)
    expect(await put.text()).toContain('CopyObjectResult')
    const got = await fetch((await rgw.s3.presignRequest('GET', key, { expiresIn: 60 })).url)
    expect(createHash('sha256').update(new Uint8Array(await got.arrayBuffer())).digest('hex')).toBe(createHash('sha256').update(SECRET).digest('hex'))
    // The signed ACL still applies: the copy is not published to anonymous readers.
    expect((await anonymousGet(key)).status).toBe(403)
  })

  it('a part URL plus x-amz-copy-source copies it too (UploadPartCopy)', async () => {
    await putVictim()
    const key = `${mine}stolen-part.bin`
    const handler = mallory()
    const uploadId = field(await call(handler, 'createMultipart', { key }), 'uploadId')
    const part = signedParts(await call(handler, 'signParts', { key, uploadId, partNumbers: [1] })).get(1)
    const put = await fetch(part?.url ?? '', { method: 'PUT', headers: { ...(part?.headers ?? {}), 'x-amz-copy-source': `/${rgw.env.bucket}/${victim}` } })
    expect(put.status).toBe(200)
    const result = await put.text()
    expect(result).toContain('CopyPartResult')
    const etag = /<ETag>([^<]+)<\/ETag>/.exec(result)?.[1] ?? ''
    expect((await call(handler, 'complete', { key, uploadId, parts: [{ partNumber: 1, etag }] })).status).toBe(200)
    expect((await rgw.s3.headObject(key)).size).toBe(SECRET.length)
  })
})

describe('delete', () => {
  it('deletes an object the hook allows, and says nothing of one that is gone', async () => {
    const key = `${mine}delete-me.bin`
    const handler = mallory()
    const { url, headers } = await signPut(handler, key)
    expect((await fetch(url, { method: 'PUT', body: bytes(10, 8), headers })).status).toBe(200)
    const deleted = await call(handler, 'delete', { key })
    expect([deleted.status, deleted.body]).toEqual([200, {}])
    expect((await call(handler, 'head', { key })).status).toBe(404)
    expect((await call(handler, 'delete', { key })).status).toBe(200)
  })

  it('goes through authorize, with action "delete": a key outside the caller\'s prefix is refused and kept', async () => {
    await putVictim()
    const counting = countingFetch()
    const seen: string[] = []
    const handler = handlerFor(rgw.env, mine, {
      fetch: counting.fetch,
      authorize: ({ action, key }) => {
        seen.push(action)
        return key.startsWith(mine)
      },
    })
    const denied = await call(handler, 'delete', { key: victim })
    expect([denied.status, errorCode(denied)]).toEqual([403, 'FORBIDDEN'])
    expect(seen).toEqual(['delete'])
    expect(counting.count()).toBe(0)
    expect((await rgw.s3.headObject(victim)).size).toBe(SECRET.length)
  })
})
