/// <reference types="node" />
// Shared fixtures for the tests that talk to the real RGW that scripts/test.sh starts.
import { afterAll, beforeEach } from 'vitest'
import { type PresignHandlerOptions, createPresignHandler } from '../src/index.js'
import { S3Client } from '../src/subpath-s3.js'

/** The S3 server the test command started (scripts/rgw.sh), from the environment. */
export interface S3Env {
  readonly endpoint: string
  readonly region: string
  readonly bucket: string
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string }
}

/**
 * Reads S3_* from the environment. Throws (failing the tests, never skipping them) when they are
 * missing: these tests exist to run against a real server.
 */
export function s3Env(): S3Env {
  const names = ['S3_ENDPOINT', 'S3_REGION', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const
  const missing = names.filter((name) => !process.env[name])
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set: these tests need the local Ceph RGW. Run ./scripts/test.sh, or start it with ` +
        '`eval "$(scripts/rgw.sh start)"` and run vitest from that shell.',
    )
  }
  const get = (name: (typeof names)[number]): string => process.env[name] ?? ''
  return {
    endpoint: get('S3_ENDPOINT'),
    region: get('S3_REGION'),
    bucket: get('S3_BUCKET'),
    credentials: { accessKeyId: get('S3_ACCESS_KEY_ID'), secretAccessKey: get('S3_SECRET_ACCESS_KEY') },
  }
}

/** A key prefix of its own for each test file run, so parallel runs on one RGW never collide. */
export function runPrefix(name: string): string {
  return `test/${name}/${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}/`
}

/** A `fetch` that counts the requests it passes on, to prove a denied request touched nothing. */
export function countingFetch(): { fetch: typeof fetch; count: () => number } {
  let n = 0
  return {
    fetch: (input, init) => {
      n++
      return fetch(input, init)
    },
    count: () => n,
  }
}

/** A handler on the env's bucket; `authorize` allows everything under `prefix` unless overridden. */
export function handlerFor(env: S3Env, prefix: string, extra: Partial<PresignHandlerOptions> = {}): (request: Request) => Promise<Response> {
  return createPresignHandler({ ...env, authorize: ({ key }) => key.startsWith(prefix), ...extra })
}

/** The decoded answer of one handler call. */
export interface Answer {
  readonly status: number
  readonly body: Record<string, unknown>
}

/** POSTs `body` as JSON to `/api/s3/<action>` on an in-process handler. */
export async function call(handler: (request: Request) => Promise<Response>, action: string, body: unknown, init: RequestInit = {}): Promise<Answer> {
  const response = await handler(
    new Request(`http://app.test/api/s3/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...init,
    }),
  )
  checkJsonHeaders(response)
  const parsed: unknown = await response.json()
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`handler answered a non-object: ${JSON.stringify(parsed)}`)
  return { status: response.status, body: { ...parsed } }
}

function checkJsonHeaders(response: Response): void {
  if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) throw new Error('handler answered without a JSON content type')
  if (response.headers.get('cache-control') !== 'no-store') throw new Error('handler answered without cache-control: no-store')
}

/** The `error.code` of an answer, or `undefined`. */
export function errorCode(answer: Answer): unknown {
  const error = answer.body['error']
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined
}

/** A string field of an answer; throws when it is missing, so a test fails where the answer is wrong. */
export function field(answer: Answer, name: string): string {
  const value = answer.body[name]
  if (typeof value !== 'string') throw new Error(`answer has no string ${name}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`)
  return value
}

/** A string-to-string record field of an answer (`headers`); throws when it is anything else. */
export function headersOf(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not a headers object: ${JSON.stringify(value)}`)
  const out: Record<string, string> = {}
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new Error(`header ${name} is not a string`)
    out[name] = v
  }
  return out
}

/** The part requests of a `signParts` answer, by part number, in the answer's order. */
export function signedParts(answer: Answer): Map<number, { url: string; headers: Record<string, string> }> {
  const urls = answer.body['urls']
  if (!Array.isArray(urls)) throw new Error(`no urls in ${JSON.stringify(answer.body)}`)
  return new Map(
    urls.map((entry: unknown): [number, { url: string; headers: Record<string, string> }] => {
      if (typeof entry !== 'object' || entry === null || !('partNumber' in entry) || !('url' in entry) || !('headers' in entry)) throw new Error('bad url entry')
      if (typeof entry.partNumber !== 'number' || typeof entry.url !== 'string') throw new Error('bad url entry')
      return [entry.partNumber, { url: entry.url, headers: headersOf(entry.headers) }]
    }),
  )
}

/** The part URLs of a `signParts` answer, by part number (for parts that need no headers). */
export function partUrls(answer: Answer): Map<number, string> {
  return new Map(Array.from(signedParts(answer), ([partNumber, { url }]) => [partNumber, url]))
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function bytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 255
  }
  return out
}

export const MiB = 1024 * 1024

/**
 * Registers the per-file RGW fixture: a fresh env, client and handler before each test (so a missing
 * S3_* variable fails every test with the reason, none is skipped), and removal of everything under
 * `prefix` afterwards (the store is shared and RAM-backed).
 */
export function useRgw(prefix: string): { readonly env: S3Env; readonly s3: S3Client; readonly handler: (request: Request) => Promise<Response> } {
  let state: { env: S3Env; s3: S3Client; handler: (request: Request) => Promise<Response> } | undefined
  beforeEach(() => {
    const env = s3Env()
    state = { env, s3: new S3Client(env), handler: handlerFor(env, prefix) }
  })
  afterAll(async () => {
    if (state === undefined) return
    for (const upload of await state.s3.listMultipartUploads(prefix)) await state.s3.abortMultipartUpload(upload.key, upload.uploadId)
    for (const object of (await state.s3.listObjectsV2({ prefix })).objects) await state.s3.deleteObject(object.key)
  })
  const get = (): NonNullable<typeof state> => {
    if (state === undefined) throw new Error('useRgw: used outside a test')
    return state
  }
  return {
    get env() {
      return get().env
    },
    get s3() {
      return get().s3
    },
    get handler() {
      return get().handler
    },
  }
}
