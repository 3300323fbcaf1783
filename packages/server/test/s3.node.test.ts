/// <reference types="node" />
// The S3 client: its XML reading and error mapping through an injected fetch, then listing and
// deleting against the real RGW.
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { S3Error, S3UnreachableError, createPresignHandler } from '../src/index.js'
import { S3Client } from '../src/subpath-s3.js'
import { type S3Env, bytes, call, errorCode, runPrefix, s3Env } from './helpers.js'

const fakeOptions = {
  endpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  bucket: 'b',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-not-real' },
}

/** A fake store: answers the queued responses in order and records each request. */
function fakeStore(...responses: Response[]): { fetch: typeof fetch; requests: { method: string; url: URL }[] } {
  const requests: { method: string; url: URL }[] = []
  return {
    requests,
    fetch: async (input, init) => {
      requests.push({ method: init?.method ?? 'GET', url: new URL(String(input)) })
      const next = responses.shift()
      if (next === undefined) throw new Error('fake store: no more responses')
      return next
    },
  }
}

const xml = (body: string, status = 200): Response => new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, { status, headers: { 'x-amz-request-id': 'req-1' } })

describe('S3Client through a fake store', () => {
  it('listParts follows the pages and unescapes the ETags', async () => {
    const store = fakeStore(
      xml('<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker>' +
        '<Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag><Size>5242880</Size></Part>' +
        '<Part><PartNumber>2</PartNumber><ETag>&quot;bb&quot;</ETag><Size>5242880</Size></Part></ListPartsResult>'),
      xml('<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>3</PartNumber><ETag>&#34;cc&#x22;</ETag><Size>7</Size></Part></ListPartsResult>'),
    )
    const s3 = new S3Client({ ...fakeOptions, fetch: store.fetch })
    expect(await s3.listParts('k', 'u')).toEqual([
      { partNumber: 1, etag: '"aa"', size: 5242880 },
      { partNumber: 2, etag: '"bb"', size: 5242880 },
      { partNumber: 3, etag: '"cc"', size: 7 },
    ])
    expect(store.requests.map((r) => r.url.searchParams.get('part-number-marker'))).toEqual(['0', '2'])
  })

  it('turns error XML into S3Error with status, code and request id, and nothing else of the body', async () => {
    const store = fakeStore(
      xml(
        '<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message>' +
          '<AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 secret-ish</StringToSign><RequestId>r-42</RequestId></Error>',
        403,
      ),
    )
    const error = await new S3Client({ ...fakeOptions, fetch: store.fetch }).deleteObject('k').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(S3Error)
    expect(error).toMatchObject({ code: 'S3_ERROR', status: 403, s3Code: 'SignatureDoesNotMatch', requestId: 'r-42' })
    expect(String(error)).not.toMatch(/StringToSign|AKIDEXAMPLE|secret-ish/)
  })

  it('reads an error sent after a 200 status line (CompleteMultipartUpload)', async () => {
    const store = fakeStore(xml('<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>'))
    const error = await new S3Client({ ...fakeOptions, fetch: store.fetch }).completeMultipartUpload('k', 'u', [{ partNumber: 1, etag: '"e"' }]).catch((e: unknown) => e)
    expect(error).toMatchObject({ s3Code: 'InternalError' })
  })

  it('falls back to HEAD for the ETag that Ceph leaves empty, and sends the parts sorted and escaped', async () => {
    const store = fakeStore(
      xml('<CompleteMultipartUploadResult><Location>x</Location><Bucket>b</Bucket><Key>k</Key><ETag></ETag></CompleteMultipartUploadResult>'),
      new Response(null, { status: 200, headers: { etag: '"abc-2"', 'content-length': '10' } }),
    )
    const s3 = new S3Client({ ...fakeOptions, fetch: store.fetch })
    const parts = [{ partNumber: 2, etag: '"b"' }, { partNumber: 1, etag: '"a&<"' }]
    expect(await s3.completeMultipartUpload('k', 'u', parts)).toEqual({ etag: '"abc-2"' })
    expect(store.requests.map((r) => r.method)).toEqual(['POST', 'HEAD'])
  })

  it('says NoSuchUpload for an upload that is gone, where Ceph says NoSuchKey', async () => {
    const store = fakeStore(xml('<Error><Code>NoSuchKey</Code></Error>', 404), xml('<Error><Code>NoSuchKey</Code></Error>', 404))
    const s3 = new S3Client({ ...fakeOptions, fetch: store.fetch })
    await expect(s3.abortMultipartUpload('k', 'u')).rejects.toMatchObject({ status: 404, s3Code: 'NoSuchUpload' })
    // On an object, NoSuchKey stays NoSuchKey.
    await expect(s3.deleteObject('k')).rejects.toMatchObject({ status: 404, s3Code: 'NoSuchKey' })
  })

  it('reports an unreachable store as S3UnreachableError, and the handler as 502', async () => {
    const closed = { ...fakeOptions, endpoint: 'http://127.0.0.1:9' }
    await expect(new S3Client(closed).headObject('k')).rejects.toBeInstanceOf(S3UnreachableError)
    const handler = createPresignHandler({ ...closed, authorize: () => true })
    const answer = await call(handler, 'head', { key: 'k' })
    expect([answer.status, errorCode(answer)]).toEqual([502, 'S3_UNREACHABLE'])
  })
})

describe('S3Client against RGW', () => {
  let env: S3Env
  let s3: S3Client
  const prefix = runPrefix('s3')
  const keys = [`${prefix}a&b<c>.txt`, `${prefix}dir/ünï "quoted".bin`, `${prefix}plus+sign=eq`]

  beforeEach(() => {
    env = s3Env()
    s3 = new S3Client(env)
  })

  afterAll(async () => {
    if (s3 !== undefined) for (const key of keys) await s3.deleteObject(key)
  })

  it('lists objects page by page (XML-escaped keys included), then deletes them', async () => {
    for (const [i, key] of keys.entries()) {
      const url = await s3.presignObject('PUT', key, { expiresIn: 60 })
      expect((await fetch(url, { method: 'PUT', body: bytes(100 + i, i + 1) })).status).toBe(200)
    }
    const first = await s3.listObjectsV2({ prefix, maxKeys: 2 })
    expect(first.objects.length).toBe(2)
    expect(first.nextContinuationToken).toBeTypeOf('string')
    const second = await s3.listObjectsV2({ prefix, maxKeys: 2, continuationToken: first.nextContinuationToken ?? '' })
    expect(second.nextContinuationToken).toBeUndefined()
    const listed = [...first.objects, ...second.objects]
    expect(listed.map((o) => o.key).sort()).toEqual([...keys].sort())
    expect(listed.find((o) => o.key === keys[0])?.size).toBe(100)

    await s3.deleteObject(keys[0] ?? '')
    await expect(s3.headObject(keys[0] ?? '')).rejects.toMatchObject({ status: 404, s3Code: 'NoSuchKey' })
    expect((await s3.listObjectsV2({ prefix })).objects.length).toBe(2)
  })
})
