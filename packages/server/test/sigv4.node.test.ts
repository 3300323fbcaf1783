/// <reference types="node" />
// SigV4: AWS's published examples (vectors/sigv4.json), then a byte-for-byte cross-check against a
// second implementation on node:crypto over inputs AWS did not publish. RGW checks the same code
// for real in handler.node.test.ts.
import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '../src/index.js'
import { MAX_PRESIGN_EXPIRES, presignUrl, resolveBucket, signRequest, uriEncode } from '../src/subpath-sigv4.js'
import file from './vectors/sigv4.json'

interface PresignVector {
  readonly name: string
  readonly method: string
  readonly url: string
  readonly expiresIn: number
  readonly canonicalRequestSha256: string
  readonly signature: string
  readonly presignedUrl: string
}

interface HeaderVector {
  readonly name: string
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly signedHeaders: string
  readonly signature: string
}

const presignVectors: readonly PresignVector[] = file.presign
// JSON imports type each vector's headers as its own literal shape; make them one record type.
const stringRecord = (o: { readonly [name: string]: unknown }): Record<string, string> =>
  Object.fromEntries(Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])))
const headerVectors: readonly HeaderVector[] = file.header.map((v) => ({ ...v, headers: stringRecord(v.headers) }))
const credentials = file.credentials
const date = new Date(file.date)
const scope = { credentials, region: file.region, date }

// --- the second implementation: written from the AWS docs, on node:crypto, sharing nothing ---------

const UNRESERVED = /^[A-Za-z0-9\-._~]$/
function refEncode(text: string, keepSlash: boolean): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += UNRESERVED.test(c) || (keepSlash && c === '/') ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

interface RefRequest {
  readonly method: string
  readonly host: string
  /** Decoded path, e.g. `/bucket/my key.txt`. */
  readonly path: string
  readonly query: readonly (readonly [string, string])[]
  readonly headers: Readonly<Record<string, string>>
  readonly payloadHash: string
  readonly amzDate: string
  readonly region: string
  readonly secret: string
}

function refSign(r: RefRequest): { canonicalRequest: string; signature: string; path: string } {
  const path = refEncode(r.path, true)
  const query = r.query
    .map(([k, v]) => `${refEncode(k, false)}=${refEncode(v, false)}`)
    .sort()
    .join('&')
  const all: Record<string, string> = { host: r.host }
  for (const [k, v] of Object.entries(r.headers)) all[k.toLowerCase()] = v.trim().replace(/ +/g, ' ')
  const names = Object.keys(all).sort()
  const canonicalRequest = `${r.method}\n${path}\n${query}\n${names.map((n) => `${n}:${all[n]}\n`).join('')}\n${names.join(';')}\n${r.payloadHash}`
  const day = r.amzDate.slice(0, 8)
  const toSign = `AWS4-HMAC-SHA256\n${r.amzDate}\n${day}/${r.region}/s3/aws4_request\n${createHash('sha256').update(canonicalRequest).digest('hex')}`
  let key: Buffer = createHmac('sha256', `AWS4${r.secret}`).update(day).digest()
  for (const part of [r.region, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest()
  return { canonicalRequest, signature: createHmac('sha256', key).update(toSign).digest('hex'), path }
}

describe('AWS published SigV4 examples', () => {
  it.for(presignVectors.map((v) => [v.name, v] as const))('presign: %s', async ([, v]) => {
    const url = await presignUrl({ ...scope, method: v.method, url: v.url, expiresIn: v.expiresIn })
    expect(url).toBe(v.presignedUrl)
    expect(new URL(url).searchParams.get('X-Amz-Signature')).toBe(v.signature)
    // The reference reproduces the published intermediate value too, so it is fit to judge the rest.
    const target = new URL(v.url)
    const ref = refSign({
      method: v.method,
      host: target.host,
      path: target.pathname,
      query: [
        ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
        ['X-Amz-Credential', `${credentials.accessKeyId}/20130524/us-east-1/s3/aws4_request`],
        ['X-Amz-Date', '20130524T000000Z'],
        ['X-Amz-Expires', String(v.expiresIn)],
        ['X-Amz-SignedHeaders', 'host'],
      ],
      headers: {},
      payloadHash: 'UNSIGNED-PAYLOAD',
      amzDate: '20130524T000000Z',
      region: 'us-east-1',
      secret: credentials.secretAccessKey,
    })
    expect(createHash('sha256').update(ref.canonicalRequest).digest('hex')).toBe(v.canonicalRequestSha256)
    expect(ref.signature).toBe(v.signature)
  })

  it.for(headerVectors.map((v) => [v.name, v] as const))('header: %s', async ([, v]) => {
    const signed = await signRequest({ ...scope, method: v.method, url: v.url, headers: v.headers, body: v.body })
    expect(signed.headers['authorization']).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=${v.signedHeaders}, Signature=${v.signature}`,
    )
    expect(signed.headers['x-amz-date']).toBe('20130524T000000Z')
    expect(signed.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(v.body).digest('hex'))
    expect(signed.headers['host']).toBeUndefined()
  })
})

// Inputs AWS did not publish: Unicode, reserved characters, query values with +/=, signed metadata
// with runs of spaces, a session token, a non-AWS endpoint with a port and a path prefix.
const CASES = [
  { name: 'Unicode and sub-delimiters in the key', key: "photos/2024/ünïcödé file (1)*!'~.txt", query: {}, headers: {} },
  { name: 'URL syntax characters in the key', key: 'a+b%c#d?e&f=g;h,i:j@k$l', query: {}, headers: {} },
  { name: 'a part URL with an upload id full of +/=', key: 'big/video.mp4', query: { partNumber: '7', uploadId: '2~AbC+/x=y' }, headers: {} },
  {
    name: 'signed content type and metadata with runs of spaces',
    key: 'k',
    query: {},
    headers: { 'content-type': 'application/octet-stream', 'x-amz-meta-client-side-encryption-matdesc': '{"v":1,  "hdr":300}', 'X-Amz-Meta-Note': 'a   b' },
  },
  { name: 'an empty query value (?uploads)', key: 'k2', query: { uploads: '' }, headers: {} },
] as const

describe('cross-check against node:crypto', () => {
  const endpoint = 'http://127.0.0.1:9000/gateway/s3'
  const bucket = resolveBucket({ endpoint, bucket: 'my-bucket' })
  const region = 'auto'
  const now = new Date('2026-03-01T12:34:56.789Z')
  const amzDate = '20260301T123456Z'

  it.for(CASES.map((c) => [c.name, c] as const))('presign: %s', async ([, c]) => {
    const url = new URL(await presignUrl({ method: 'PUT', url: bucket.objectUrl(c.key, c.query), expiresIn: 900, region, credentials, date: now, headers: c.headers }))
    const signedHeaders = ['host', ...Object.keys(c.headers).map((h) => h.toLowerCase())].sort().join(';')
    const ref = refSign({
      method: 'PUT',
      host: '127.0.0.1:9000',
      path: `/gateway/s3/my-bucket/${c.key}`,
      query: [
        ...Object.entries(c.query),
        ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
        ['X-Amz-Credential', `${credentials.accessKeyId}/20260301/auto/s3/aws4_request`],
        ['X-Amz-Date', amzDate],
        ['X-Amz-Expires', '900'],
        ['X-Amz-SignedHeaders', signedHeaders],
      ],
      headers: c.headers,
      payloadHash: 'UNSIGNED-PAYLOAD',
      amzDate,
      region,
      secret: credentials.secretAccessKey,
    })
    expect(url.pathname).toBe(ref.path)
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe(signedHeaders)
    expect(url.searchParams.get('X-Amz-Signature')).toBe(ref.signature)
    for (const [k, v] of Object.entries(c.query)) expect(url.searchParams.get(k)).toBe(v)
    // No checksum parameters: a browser PUT carries whatever body it has.
    expect([...url.searchParams.keys()].filter((k) => /checksum|sdk/i.test(k))).toEqual([])
  })

  it.for(CASES.map((c) => [c.name, c] as const))('header auth: %s', async ([, c]) => {
    const body = `<x>${c.key}</x>`
    const signed = await signRequest({
      method: 'POST',
      url: bucket.objectUrl(c.key, c.query),
      region,
      date: now,
      credentials: { ...credentials, sessionToken: 'token/with+chars==' },
      headers: c.headers,
      body,
    })
    const payloadHash = createHash('sha256').update(body).digest('hex')
    const ref = refSign({
      method: 'POST',
      host: '127.0.0.1:9000',
      path: `/gateway/s3/my-bucket/${c.key}`,
      query: Object.entries(c.query),
      headers: { ...c.headers, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate, 'x-amz-security-token': 'token/with+chars==' },
      payloadHash,
      amzDate,
      region,
      secret: credentials.secretAccessKey,
    })
    expect(new URL(signed.url).pathname).toBe(ref.path)
    expect(signed.headers['authorization']).toMatch(new RegExp(`Signature=${ref.signature}$`))
    expect(signed.headers['x-amz-security-token']).toBe('token/with+chars==')
  })
})

describe('presignUrl input checks', () => {
  const url = 'https://examplebucket.s3.amazonaws.com/test.txt'

  it.for([0, -1, 1.5, MAX_PRESIGN_EXPIRES + 1, Number.NaN])('refuses expiresIn %s', async (expiresIn) => {
    await expect(presignUrl({ ...scope, method: 'GET', url, expiresIn })).rejects.toThrow(InvalidInputError)
  })

  it.for([1, MAX_PRESIGN_EXPIRES])('accepts expiresIn %s', async (expiresIn) => {
    const signed = new URL(await presignUrl({ ...scope, method: 'GET', url, expiresIn }))
    expect(signed.searchParams.get('X-Amz-Expires')).toBe(String(expiresIn))
  })

  it.for([
    ['an auth parameter already in the URL', { url: `${url}?X-Amz-Signature=abc` }],
    ['a lowercase method', { method: 'get' }],
    ['a region with a slash', { region: 'us/east' }],
    ['an access key id with a slash', { credentials: { accessKeyId: 'AKIA/X', secretAccessKey: 's' } }],
    ['an empty secret', { credentials: { accessKeyId: 'AKIA', secretAccessKey: '' } }],
    ['a host header', { headers: { Host: 'evil.example' } }],
    ['a non-ASCII header value', { headers: { 'x-amz-meta-a': 'é' } }],
    ['a non-http URL', { url: 'ftp://example.com/a' }],
  ] as const)('refuses %s', async ([, change]) => {
    await expect(presignUrl({ ...scope, method: 'GET', url, expiresIn: 60, ...change })).rejects.toThrow(InvalidInputError)
  })
})

describe('addressing', () => {
  it('uses virtual-host style on AWS and path style elsewhere, unless told', () => {
    expect(resolveBucket({ endpoint: 'https://s3.eu-west-1.amazonaws.com', bucket: 'photos' }).objectUrl('a b').href).toBe(
      'https://photos.s3.eu-west-1.amazonaws.com/a%20b',
    )
    expect(resolveBucket({ endpoint: 'https://minio.example:9000', bucket: 'photos' }).objectUrl('x/y').href).toBe('https://minio.example:9000/photos/x/y')
    expect(resolveBucket({ endpoint: 'https://s3.amazonaws.com', bucket: 'photos', forcePathStyle: true }).bucketUrl({ cors: '' }).href).toBe(
      'https://s3.amazonaws.com/photos?cors=',
    )
    expect(resolveBucket({ endpoint: 'https://cos.example', bucket: 'b-1', forcePathStyle: false }).bucketUrl({ 'list-type': '2' }).href).toBe(
      'https://b-1.cos.example/?list-type=2',
    )
  })

  it('refuses plain http off loopback unless dangerouslyAllowHttp', () => {
    expect(() => resolveBucket({ endpoint: 'http://minio.internal:9000', bucket: 'b' })).toThrow(/dangerouslyAllowHttp/)
    expect(resolveBucket({ endpoint: 'http://minio.internal:9000', bucket: 'b', dangerouslyAllowHttp: true }).objectUrl('k').href).toBe(
      'http://minio.internal:9000/b/k',
    )
    expect(resolveBucket({ endpoint: 'http://localhost:7480', bucket: 'b' }).objectUrl('k').host).toBe('localhost:7480')
  })

  it('refuses bucket names the style cannot carry', () => {
    expect(() => resolveBucket({ endpoint: 'https://s3.amazonaws.com', bucket: 'Has_Upper' })).toThrow(InvalidInputError)
    expect(() => resolveBucket({ endpoint: 'http://127.0.0.1:7480', bucket: 'a/b' })).toThrow(InvalidInputError)
  })

  it('encodes keys the S3 way', () => {
    expect(uriEncode("a b/c*!'()~", true)).toBe('a%20b/c%2A%21%27%28%29~')
    expect(uriEncode('a/b')).toBe('a%2Fb')
    expect(uriEncode('€')).toBe('%E2%82%AC')
    expect(() => uriEncode('\uD800')).toThrow(InvalidInputError)
  })
})
