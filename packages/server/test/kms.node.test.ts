/// <reference types="node" />
// The KMS handler over localKmsAdapter, in process: round trips, the context binding, the authorize
// hook, input validation, the adapter's refusals, and httpKmsAdapter's error mapping.
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  type KmsAdapter,
  type KmsAuthorizeContext,
  KmsAdapterError,
  createKmsHandler,
  httpKmsAdapter,
  localKmsAdapter,
} from '../src/index.js'
import { bytes } from './helpers.js'

const KEY = bytes(32, 1)
const DEK = bytes(32, 2)
const CONTEXT = { purpose: 'bucketseal/v1/dek' }
const b64 = (data: Uint8Array): string => Buffer.from(data).toString('base64')
const unb64 = (text: unknown): Uint8Array => new Uint8Array(Buffer.from(String(text), 'base64'))

interface Answer {
  readonly status: number
  readonly body: Record<string, unknown>
  readonly headers: Headers
}

/** POSTs `body` as JSON to `<path>` on an in-process handler. */
async function post(handler: (request: Request) => Promise<Response>, path: string, body: unknown, init: RequestInit = {}): Promise<Answer> {
  const response = await handler(
    new Request(`http://app.test${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    }),
  )
  const parsed: unknown = await response.json()
  if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object')
  return { status: response.status, body: { ...parsed }, headers: response.headers }
}

const codeOf = (answer: Answer): unknown => Object(answer.body['error'])['code']

function setup(authorize: (c: KmsAuthorizeContext) => boolean = () => true): { handler: (r: Request) => Promise<Response>; asked: KmsAuthorizeContext[] } {
  const asked: KmsAuthorizeContext[] = []
  const handler = createKmsHandler({
    adapter: localKmsAdapter({ 'dev-key': KEY, 'other-key': bytes(32, 3) }),
    authorize: (c) => {
      asked.push(c)
      return authorize(c)
    },
  })
  return { handler, asked }
}

describe('createKmsHandler with localKmsAdapter', () => {
  it('encrypts and decrypts a data key, with no-store JSON answers', async () => {
    const { handler, asked } = setup()
    const wrapped = await post(handler, '/api/kms/encrypt', { keyName: 'dev-key', plaintext: b64(DEK), context: CONTEXT })
    expect(wrapped.status).toBe(200)
    expect(wrapped.headers.get('cache-control')).toBe('no-store')
    expect(wrapped.headers.get('content-type')).toBe('application/json; charset=utf-8')
    const ciphertext = unb64(wrapped.body['ciphertext'])
    expect(ciphertext.length).toBe(1 + 12 + 32 + 16)
    const opened = await post(handler, '/api/kms/decrypt', { keyName: 'dev-key', ciphertext: b64(ciphertext), context: CONTEXT })
    expect([opened.status, unb64(opened.body['plaintext'])]).toEqual([200, DEK])
    expect(asked.map((c) => [c.action, c.keyName, c.context])).toEqual([
      ['encrypt', 'dev-key', CONTEXT],
      ['decrypt', 'dev-key', CONTEXT],
    ])
  })

  it('writes the documented blob: 01 ‖ nonce ‖ AES-256-GCM with the key name and sorted context as AAD (checked with node:crypto)', async () => {
    const adapter = localKmsAdapter({ 'dev-key': KEY })
    const context = { purpose: 'bucketseal/v1/dek', b: '2', a: '1' }
    const blob = await adapter.encrypt('dev-key', DEK, context)
    expect(blob[0]).toBe(1)
    const aad = Buffer.from(JSON.stringify(['dev-key', [['a', '1'], ['b', '2'], ['purpose', 'bucketseal/v1/dek']]]))
    const decipher = createDecipheriv('aes-256-gcm', KEY, blob.subarray(1, 13)).setAAD(aad)
    decipher.setAuthTag(blob.subarray(blob.length - 16))
    expect(new Uint8Array(Buffer.concat([decipher.update(blob.subarray(13, blob.length - 16)), decipher.final()]))).toEqual(DEK)
    // And the other way: a blob node:crypto writes opens, in any context order.
    const nonce = bytes(12, 5)
    const cipher = createCipheriv('aes-256-gcm', KEY, nonce).setAAD(aad)
    const sealed = Buffer.concat([Buffer.from([1]), nonce, cipher.update(DEK), cipher.final(), cipher.getAuthTag()])
    expect(await adapter.decrypt('dev-key', sealed, { a: '1', purpose: 'bucketseal/v1/dek', b: '2' })).toEqual(DEK)
  })

  it.for<[string, Record<string, unknown>]>([
    ['another context', { context: { purpose: 'bucketseal/v1/dek', object: 'x' } }],
    ['another key', { keyName: 'other-key' }],
    ['a flipped bit', { flip: true }],
  ])('refuses a ciphertext with %s: 422 KMS_INVALID_CIPHERTEXT', async ([, change]) => {
    const { handler } = setup()
    const wrapped = await post(handler, '/api/kms/encrypt', { keyName: 'dev-key', plaintext: b64(DEK), context: CONTEXT })
    const ciphertext = unb64(wrapped.body['ciphertext'])
    if (change['flip'] === true) ciphertext[20] = (ciphertext[20] ?? 0) ^ 1
    const answer = await post(handler, '/api/kms/decrypt', { keyName: 'dev-key', ciphertext: b64(ciphertext), context: CONTEXT, ...change })
    expect([answer.status, codeOf(answer)]).toEqual([422, 'KMS_INVALID_CIPHERTEXT'])
  })

  it('answers 403 FORBIDDEN when authorize says no, before the KMS is asked', async () => {
    let asked = 0
    const adapter: KmsAdapter = {
      encrypt: async () => {
        asked++
        return new Uint8Array(1)
      },
      decrypt: async () => {
        asked++
        return new Uint8Array(32)
      },
    }
    const handler = createKmsHandler({ adapter, authorize: ({ keyName, action }) => keyName === 'mine' && action === 'encrypt' })
    const denied = await post(handler, '/api/kms/decrypt', { keyName: 'mine', ciphertext: 'AA==', context: CONTEXT })
    expect([denied.status, codeOf(denied)]).toEqual([403, 'FORBIDDEN'])
    const other = await post(handler, '/api/kms/encrypt', { keyName: 'theirs', plaintext: b64(DEK), context: CONTEXT })
    expect([other.status, codeOf(other)]).toEqual([403, 'FORBIDDEN'])
    expect(asked).toBe(0)
    // A hook that answers something truthy but not `true` does not allow.
    // @ts-expect-error: the hook must return a boolean.
    const sloppy = createKmsHandler({ adapter, authorize: () => 'yes' })
    expect((await post(sloppy, '/api/kms/encrypt', { keyName: 'k', plaintext: b64(DEK), context: CONTEXT })).status).toBe(403)
  })

  it('an unknown key is KMS_DENIED (403); a KMS that fails is 502; a throwing adapter is a bare 500', async () => {
    const { handler } = setup()
    const unknown = await post(handler, '/api/kms/encrypt', { keyName: 'nope', plaintext: b64(DEK), context: CONTEXT })
    expect([unknown.status, codeOf(unknown)]).toEqual([403, 'KMS_DENIED'])
    const failing = (error: Error): ((r: Request) => Promise<Response>) =>
      createKmsHandler({ adapter: { encrypt: () => Promise.reject(error), decrypt: () => Promise.reject(error) }, authorize: () => true })
    const down = await post(failing(new KmsAdapterError('KMS_UNAVAILABLE', 'ThrottlingException')), '/api/kms/decrypt', { keyName: 'k', ciphertext: 'AA==', context: CONTEXT })
    expect([down.status, down.body]).toEqual([502, { error: { code: 'KMS_UNAVAILABLE', message: 'ThrottlingException' } }])
    const bug = await post(failing(new Error('secret internals')), '/api/kms/decrypt', { keyName: 'k', ciphertext: 'AA==', context: CONTEXT })
    expect([bug.status, codeOf(bug), JSON.stringify(bug.body).includes('secret')]).toEqual([500, 'INTERNAL', false])
  })

  it('hands out 32-byte data keys only', async () => {
    const handler = createKmsHandler({
      adapter: { encrypt: async () => new Uint8Array(1), decrypt: async () => new Uint8Array(64) },
      authorize: () => true,
    })
    const answer = await post(handler, '/api/kms/decrypt', { keyName: 'k', ciphertext: 'AA==', context: CONTEXT })
    expect([answer.status, codeOf(answer)]).toEqual([422, 'KMS_INVALID_CIPHERTEXT'])
  })

  const valid = { keyName: 'dev-key', plaintext: b64(DEK), context: CONTEXT }
  it.for<[string, string, unknown, string]>([
    ['no key name', 'encrypt', { ...valid, keyName: undefined }, 'INVALID_KEY_NAME'],
    ['a key name over 512 bytes', 'encrypt', { ...valid, keyName: 'k'.repeat(513) }, 'INVALID_KEY_NAME'],
    ['a control character in the key name', 'encrypt', { ...valid, keyName: 'a\u0000b' }, 'INVALID_KEY_NAME'],
    ['no context', 'encrypt', { ...valid, context: undefined }, 'INVALID_CONTEXT'],
    ['another purpose', 'encrypt', { ...valid, context: { purpose: 'payroll' } }, 'INVALID_CONTEXT'],
    ['a non-string context value', 'encrypt', { ...valid, context: { ...CONTEXT, n: 1 } }, 'INVALID_CONTEXT'],
    ['17 context entries', 'encrypt', { ...valid, context: { ...CONTEXT, ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v'])) } }, 'INVALID_CONTEXT'],
    ['a 31-byte plaintext', 'encrypt', { ...valid, plaintext: b64(bytes(31, 1)) }, 'INVALID_PLAINTEXT'],
    ['unpadded base64', 'encrypt', { ...valid, plaintext: b64(DEK).replace(/=+$/, '') }, 'INVALID_PLAINTEXT'],
    ['base64 with whitespace', 'encrypt', { ...valid, plaintext: ` ${b64(DEK)}` }, 'INVALID_PLAINTEXT'],
    ['non-canonical base64', 'decrypt', { ...valid, ciphertext: 'AB==' }, 'INVALID_CIPHERTEXT'],
    ['an empty ciphertext', 'decrypt', { ...valid, ciphertext: '' }, 'INVALID_CIPHERTEXT'],
    ['a ciphertext over 8 KiB', 'decrypt', { ...valid, ciphertext: b64(new Uint8Array(8193)) }, 'INVALID_CIPHERTEXT'],
    ['a JSON array', 'decrypt', [], 'BAD_REQUEST'],
    ['broken JSON', 'decrypt', '{"keyName":', 'BAD_REQUEST'],
  ])('answers 400 for %s', async ([, action, body, code]) => {
    const { handler, asked } = setup()
    const answer = await post(handler, `/api/kms/${action}`, body)
    expect([answer.status, codeOf(answer)]).toEqual([400, code])
    expect(asked).toEqual([])
  })

  it('answers 404, 405, 413 and 415 for the wrong path, method, size and media type', async () => {
    const { handler } = setup()
    expect(codeOf(await post(handler, '/api/kms/sign', valid))).toBe('NOT_FOUND')
    expect(codeOf(await post(handler, '/api/s3/encrypt', valid))).toBe('NOT_FOUND')
    const get = await handler(new Request('http://app.test/api/kms/encrypt'))
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST'])
    await get.arrayBuffer()
    const huge = await post(handler, '/api/kms/encrypt', { ...valid, padding: 'x'.repeat(40_000) })
    expect([huge.status, codeOf(huge)]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    // Streamed without a Content-Length: the limit still holds.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(8192).fill(32))
        c.close()
      },
    })
    // `duplex` is required by Node's fetch for a streamed body, and not yet in the DOM typings.
    const init: RequestInit & { duplex: 'half' } = { body: stream, duplex: 'half' }
    const streamed = await post(handler, '/api/kms/encrypt', '', init)
    expect([streamed.status, codeOf(streamed)]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    const form = await post(handler, '/api/kms/encrypt', valid, { headers: { 'content-type': 'text/plain' } })
    expect([form.status, codeOf(form)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE'])
  })

  it('refuses bad options', () => {
    const adapter = localKmsAdapter({ k: KEY })
    // @ts-expect-error: authorize is required.
    expect(() => createKmsHandler({ adapter })).toThrow(/authorize is required/)
    // @ts-expect-error: adapter is required.
    expect(() => createKmsHandler({ authorize: () => true })).toThrow(/adapter/)
    expect(() => createKmsHandler({ adapter, authorize: () => true, basePath: 'api' })).toThrow(/basePath/)
    expect(() => localKmsAdapter({ k: bytes(16, 1) })).toThrow(/32-byte/)
    expect(() => localKmsAdapter({ '': KEY })).toThrow(/Key name/)
    expect(() => localKmsAdapter({})).toThrow(/at least one/)
    expect(() => httpKmsAdapter('http://kms.example/api/kms')).toThrow(/plain http/)
    expect(() => httpKmsAdapter('ftp://kms.example/')).toThrow(/http/)
  })

  it('serves under another basePath', async () => {
    const handler = createKmsHandler({ adapter: localKmsAdapter({ 'dev-key': KEY }), authorize: () => true, basePath: '/kms/' })
    expect((await post(handler, '/kms/encrypt', valid)).status).toBe(200)
  })
})

describe('httpKmsAdapter', () => {
  const answering =
    (status: number, body: unknown): typeof fetch =>
    async () =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

  it.for<[number, unknown, string]>([
    [403, { error: { code: 'FORBIDDEN', message: 'Not allowed.' } }, 'KMS_DENIED'],
    [401, {}, 'KMS_DENIED'],
    [422, { error: { code: 'KMS_INVALID_CIPHERTEXT', message: 'bad blob' } }, 'KMS_INVALID_CIPHERTEXT'],
    [503, { error: { code: 'KMS_UNAVAILABLE', message: 'down' } }, 'KMS_UNAVAILABLE'],
    [400, { error: { code: 'INVALID_CONTEXT', message: 'context …' } }, 'KMS_UNAVAILABLE'],
    [200, { plaintext: 'not base64' }, 'KMS_UNAVAILABLE'],
  ])('maps HTTP %i %j to %s', async ([status, body, code]) => {
    const adapter = httpKmsAdapter('https://kms.example/api/kms', { fetch: answering(status, body) })
    await expect(adapter.decrypt('k', new Uint8Array(1), CONTEXT)).rejects.toMatchObject({ name: 'KmsAdapterError', code })
  })

  it('a network failure is KMS_UNAVAILABLE, and the headers and body go where they should', async () => {
    const down = httpKmsAdapter('https://kms.example/api/kms', { fetch: () => Promise.reject(new TypeError('fetch failed')) })
    await expect(down.encrypt('k', DEK, CONTEXT)).rejects.toMatchObject({ code: 'KMS_UNAVAILABLE' })
    const seen: [string, Headers, unknown][] = []
    const adapter = httpKmsAdapter('https://kms.example/api/kms/', {
      headers: { authorization: 'Bearer app' },
      fetch: async (input, init) => {
        seen.push([String(input), new Headers(init?.headers), JSON.parse(String(init?.body))])
        return new Response(JSON.stringify({ ciphertext: 'AQID' }), { status: 200 })
      },
    })
    expect(await adapter.encrypt('k', DEK, CONTEXT)).toEqual(new Uint8Array([1, 2, 3]))
    expect(seen[0]?.[0]).toBe('https://kms.example/api/kms/encrypt')
    expect(seen[0]?.[1].get('authorization')).toBe('Bearer app')
    expect(seen[0]?.[2]).toEqual({ keyName: 'k', plaintext: b64(DEK), context: CONTEXT })
  })
})
