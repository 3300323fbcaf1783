/**
 * The backend half of KMS recipients (FORMAT.md §11): a fetch-style handler that wraps and unwraps
 * data keys for the browser through the app's key service, behind the same kind of `authorize` hook
 * as the presign handler. The master key stays in the KMS; the service is reached through a
 * two-method {@link KmsAdapter}. Two adapters ship here: {@link localKmsAdapter} (AES-256-GCM with
 * keys in this process, for development and tests) and {@link httpKmsAdapter} (another server that
 * speaks this handler's protocol, such as the test KMS in `scripts/test-kms/`). Adapters for AWS KMS,
 * Google Cloud KMS or Vault Transit are a few lines each (docs/FORMAT.md §11).
 */
import { InvalidInputError, ServerError } from './errors.js'
import { isLoopback, parseHttpUrl } from './uri.js'

/** An encryption context: string names to string values, bound to the ciphertext. */
export type KmsContext = Readonly<Record<string, string>>

/**
 * A key service, as the handler uses it. An implementation binds `context` to the ciphertext (AWS
 * `EncryptionContext`, Vault `context`, AAD) and throws a {@link KmsAdapterError} to refuse:
 * `KMS_DENIED` (the key may not be used, or does not exist), `KMS_INVALID_CIPHERTEXT` (the blob does
 * not decrypt under this key and context), `KMS_UNAVAILABLE` (the service failed). Anything else it
 * throws answers a 500 with no details.
 */
export interface KmsAdapter {
  encrypt(keyName: string, plaintext: Uint8Array, context: KmsContext): Promise<Uint8Array>
  decrypt(keyName: string, ciphertext: Uint8Array, context: KmsContext): Promise<Uint8Array>
}

/** Stable codes of {@link KmsAdapterError}. */
export type KmsAdapterErrorCode = 'KMS_DENIED' | 'KMS_INVALID_CIPHERTEXT' | 'KMS_UNAVAILABLE'

/** A key service refused or failed; the handler answers 403, 422 or 502 with this code and message. */
export class KmsAdapterError extends ServerError {
  declare readonly code: KmsAdapterErrorCode

  constructor(code: KmsAdapterErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'KmsAdapterError'
  }
}

/** The actions of the KMS handler, each at `POST <basePath>/<action>`. */
export type KmsAction = 'encrypt' | 'decrypt'

/** What the `authorize` hook of {@link createKmsHandler} is asked about. */
export interface KmsAuthorizeContext {
  /** The incoming request: read the app's session from it. Its body is consumed. */
  readonly request: Request
  readonly action: KmsAction
  /** The master key the request would use, already validated. */
  readonly keyName: string
  /** The encryption context, already validated (it has `purpose: "bucketseal/v1/dek"`). */
  readonly context: KmsContext
}

/** Options of {@link createKmsHandler}. */
export interface KmsHandlerOptions {
  readonly adapter: KmsAdapter
  /**
   * Decides whether this request may `action` with `keyName`; only `true` allows. Required: whoever
   * may `decrypt` with a key can read every object wrapped under it. Runs after input validation.
   */
  readonly authorize: (context: KmsAuthorizeContext) => boolean | Promise<boolean>
  /** The path the handler is mounted at; default `/api/kms`. */
  readonly basePath?: string
}

/**
 * The `code` of a JSON error the KMS handler answers: 400 `BAD_REQUEST`, `INVALID_KEY_NAME`,
 * `INVALID_CONTEXT`, `INVALID_PLAINTEXT`, `INVALID_CIPHERTEXT`; 403 `FORBIDDEN` (the hook) or
 * `KMS_DENIED` (the KMS); 404 `NOT_FOUND`; 405 `METHOD_NOT_ALLOWED`; 413 `PAYLOAD_TOO_LARGE`;
 * 415 `UNSUPPORTED_MEDIA_TYPE`; 422 `KMS_INVALID_CIPHERTEXT`; 502 `KMS_UNAVAILABLE`; 500 `INTERNAL`.
 */
export type KmsHandlerErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_KEY_NAME'
  | 'INVALID_CONTEXT'
  | 'INVALID_PLAINTEXT'
  | 'INVALID_CIPHERTEXT'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INTERNAL'
  | KmsAdapterErrorCode

/** The one encryption-context purpose the handler serves (core's `KMS_CONTEXT`). */
export const KMS_PURPOSE = 'bucketseal/v1/dek'
/** Longest key name, in UTF-8 bytes (FORMAT.md §11). */
export const MAX_KMS_KEY_NAME_BYTES = 512
/** Longest ciphertext the handler accepts or returns (FORMAT.md §11). */
export const MAX_KMS_CIPHERTEXT_BYTES = 8192
const DEK_LENGTH = 32
const MAX_CONTEXT_ENTRIES = 16
const MAX_BODY_BYTES = 32 * 1024
const ACTIONS: readonly KmsAction[] = ['encrypt', 'decrypt']
const STATUS: Readonly<Record<KmsAdapterErrorCode, number>> = { KMS_DENIED: 403, KMS_INVALID_CIPHERTEXT: 422, KMS_UNAVAILABLE: 502 }
const encoder = new TextEncoder()

/** A request the handler refuses with 400 (or another status) before any work. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: KmsHandlerErrorCode,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Creates the KMS handler: `POST <basePath>/encrypt` with `{ keyName, plaintext, context }` answers
 * `{ ciphertext }`; `POST <basePath>/decrypt` with `{ keyName, ciphertext, context }` answers
 * `{ plaintext }`. Bytes are standard base64. Plaintexts are 32-byte data keys, ciphertexts 1 to
 * 8192 bytes, and the context must carry `purpose: "bucketseal/v1/dek"` (plus at most 15 other
 * entries): the handler is not a general encryption oracle for blobs the key protects elsewhere.
 * Errors answer `{ error: { code, message } }` (see {@link KmsHandlerErrorCode}).
 *
 * @throws {InvalidInputError} a missing adapter or `authorize`, or a bad `basePath`.
 * @example
 * const kms = createKmsHandler({
 *   adapter: httpKmsAdapter('https://kms.internal/api/kms', { headers: { authorization: `Bearer ${process.env.KMS_TOKEN}` } }),
 *   authorize: async ({ request, keyName }) => keyName === `tenant-${await tenantOf(request)}`,
 * })
 * createServer(toNodeListener(kms)).listen(8788) // or route /api/kms/* to it beside the presign handler
 */
export function createKmsHandler(options: KmsHandlerOptions): (request: Request) => Promise<Response> {
  if (typeof options !== 'object' || options === null) throw new InvalidInputError('options must be an object.')
  const { adapter, authorize } = options
  if (typeof adapter !== 'object' || adapter === null || typeof adapter.encrypt !== 'function' || typeof adapter.decrypt !== 'function') {
    throw new InvalidInputError('adapter must be a KmsAdapter with encrypt() and decrypt().')
  }
  if (typeof authorize !== 'function') {
    throw new InvalidInputError('authorize is required: a function ({ request, action, keyName }) => boolean that decides who may use which key.')
  }
  const basePath = (options.basePath ?? '/api/kms').replace(/\/+$/, '')
  if (basePath !== '' && !/^\/[^?#]*$/.test(basePath)) throw new InvalidInputError('basePath must be a path starting with "/", such as "/api/kms".')

  return async (request: Request): Promise<Response> => {
    try {
      const path = new URL(request.url).pathname
      const action = ACTIONS.find((a) => path === `${basePath}/${a}`)
      if (action === undefined) throw new Refusal(404, 'NOT_FOUND', `No such action. POST to ${basePath}/encrypt or ${basePath}/decrypt.`)
      if (request.method !== 'POST') return reply(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Actions take POST with a JSON body.' } }, { allow: 'POST' })
      if (!/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) {
        throw new Refusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON with "Content-Type: application/json".')
      }
      const body = await readBody(request)
      const keyName = checkKmsKeyName(body['keyName'])
      const context = checkContext(body['context'])
      const input =
        action === 'encrypt'
          ? bytesField(body['plaintext'], 'plaintext', 'INVALID_PLAINTEXT', DEK_LENGTH, DEK_LENGTH)
          : bytesField(body['ciphertext'], 'ciphertext', 'INVALID_CIPHERTEXT', 1, MAX_KMS_CIPHERTEXT_BYTES)
      if ((await authorize({ request, action, keyName, context })) !== true) throw new Refusal(403, 'FORBIDDEN', `Not allowed to ${action} with this key.`)
      return action === 'encrypt' ? await encrypt(adapter, keyName, input, context) : await decrypt(adapter, keyName, input, context)
    } catch (error) {
      if (error instanceof Refusal) return reply(error.status, { error: { code: error.code, message: error.message } })
      if (error instanceof KmsAdapterError) return reply(STATUS[error.code], { error: { code: error.code, message: error.message } })
      // Anything else may carry details of the server's internals: say nothing specific.
      return reply(500, { error: { code: 'INTERNAL', message: 'The server failed to handle this request.' } })
    }
  }
}

async function encrypt(adapter: KmsAdapter, keyName: string, dek: Uint8Array, context: KmsContext): Promise<Response> {
  try {
    const ciphertext = await adapter.encrypt(keyName, dek, context)
    if (!(ciphertext instanceof Uint8Array) || ciphertext.length === 0 || ciphertext.length > MAX_KMS_CIPHERTEXT_BYTES) {
      throw new KmsAdapterError('KMS_UNAVAILABLE', `The KMS returned a ciphertext that is not 1 to ${MAX_KMS_CIPHERTEXT_BYTES} bytes.`)
    }
    return reply(200, { ciphertext: toBase64(ciphertext) })
  } finally {
    dek.fill(0)
  }
}

async function decrypt(adapter: KmsAdapter, keyName: string, ciphertext: Uint8Array, context: KmsContext): Promise<Response> {
  const plaintext = await adapter.decrypt(keyName, ciphertext, context)
  try {
    // Hand out data keys only: a blob that opens to anything else was not made by a KMS recipient.
    if (!(plaintext instanceof Uint8Array) || plaintext.length !== DEK_LENGTH) throw new KmsAdapterError('KMS_INVALID_CIPHERTEXT', 'The ciphertext does not hold a 32-byte data key.')
    return reply(200, { plaintext: toBase64(plaintext) })
  } finally {
    if (plaintext instanceof Uint8Array) plaintext.fill(0)
  }
}

function reply(status: number, body: object, extra: Record<string, string> = {}): Response {
  // Data keys travel in these bodies: never cache them.
  const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra }
  return new Response(JSON.stringify(body), { status, headers })
}

/** The JSON object of a body of at most 32 KiB; stops reading at the limit. */
async function readBody(request: Request): Promise<Record<string, unknown>> {
  const tooLarge = new Refusal(413, 'PAYLOAD_TOO_LARGE', `The body must be at most ${MAX_BODY_BYTES} bytes.`)
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) throw tooLarge
  let total = 0
  const limit = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      total += chunk.length
      if (total > MAX_BODY_BYTES) controller.error(tooLarge)
      else controller.enqueue(chunk)
    },
  })
  const bytes = new Uint8Array(await new Response(request.body?.pipeThrough(limit) ?? null).arrayBuffer())
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new Refusal(400, 'BAD_REQUEST', 'The body is not valid UTF-8 JSON.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Refusal(400, 'BAD_REQUEST', 'The body must be a JSON object.')
  return { ...parsed }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * A KMS key name: 1 to 512 bytes of UTF-8 without control characters (FORMAT.md §11).
 *
 * @throws {Refusal} `INVALID_KEY_NAME` (a 400 from the handler).
 */
function checkKmsKeyName(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || LONE_SURROGATE.test(value) || /[\x00-\x1f\x7f]/.test(value) || encoder.encode(value).length > MAX_KMS_KEY_NAME_BYTES) {
    throw new Refusal(400, 'INVALID_KEY_NAME', `keyName must be 1 to ${MAX_KMS_KEY_NAME_BYTES} bytes of UTF-8 without control characters.`)
  }
  return value
}

/** An encryption context: at most 16 printable-ASCII names with string values, including the purpose. */
function checkContext(value: unknown): KmsContext {
  const fail = (why: string): never => {
    throw new Refusal(400, 'INVALID_CONTEXT', `context ${why}.`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('must be an object of string values')
  const entries = Object.entries(value)
  if (entries.length > MAX_CONTEXT_ENTRIES) return fail(`must have at most ${MAX_CONTEXT_ENTRIES} entries`)
  const out: Record<string, string> = {}
  for (const [name, v] of entries) {
    if (!/^[\x21-\x7e]{1,128}$/.test(name)) return fail(`name ${JSON.stringify(name)} must be 1 to 128 printable ASCII characters`)
    if (typeof v !== 'string' || v.length > 1024 || LONE_SURROGATE.test(v)) return fail(`value of ${JSON.stringify(name)} must be a string of at most 1024 characters`)
    out[name] = v
  }
  if (out['purpose'] !== KMS_PURPOSE) return fail(`must have purpose ${JSON.stringify(KMS_PURPOSE)}: this handler wraps Bucketseal data keys only`)
  return out
}

function bytesField(value: unknown, name: string, code: KmsHandlerErrorCode, min: number, max: number): Uint8Array {
  const bytes = typeof value === 'string' ? fromBase64(value) : null
  if (bytes === null || bytes.length < min || bytes.length > max) {
    throw new Refusal(400, code, `${name} must be standard base64 of ${min === max ? `${min}` : `${min} to ${max}`} bytes.`)
  }
  return bytes
}

/** Standard base64 with padding. */
function toBase64(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

/** Strict standard base64 (padding, no whitespace, canonical), or `null`. */
function fromBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
  return toBase64(bytes) === text ? bytes : null
}

/**
 * The AAD of {@link localKmsAdapter}: UTF-8 of `JSON.stringify([keyName, [[name, value], …]])` with
 * the context's entries sorted by name (UTF-16 code units), so equal contexts give equal bytes.
 */
function canonicalAad(keyName: string, context: KmsContext): Uint8Array<ArrayBuffer> {
  const sorted = Object.keys(context)
    .sort()
    .map((name) => [name, context[name]])
  return encoder.encode(JSON.stringify([keyName, sorted]))
}

const LOCAL_BLOB_VERSION = 1
const NONCE_LENGTH = 12
const TAG_LENGTH = 16

/**
 * A key service in this process: AES-256-GCM under the named 32-byte keys, the key name and the
 * context bound as AAD. Ciphertext = `01 ‖ nonce (12) ‖ AES-GCM(data key) ‖ tag (16)`. For
 * development and tests (it is what `scripts/test-kms/` serves); in production the master key
 * belongs in a KMS or HSM, not in the app's memory. The key bytes are copied during the call (the
 * caller may zero them afterwards) and held as non-extractable WebCrypto keys.
 *
 * @param keys key name → 32 random bytes. An unknown name is `KMS_DENIED`.
 * @throws {InvalidInputError} a key that is not 32 bytes, or a bad key name.
 * @example
 * const adapter = localKmsAdapter({ 'dev-key': crypto.getRandomValues(new Uint8Array(32)) })
 */
export function localKmsAdapter(keys: Readonly<Record<string, Uint8Array>>): KmsAdapter {
  if (typeof keys !== 'object' || keys === null) throw new InvalidInputError('keys must be an object of key name → 32-byte Uint8Array.')
  const imported = new Map<string, Promise<CryptoKey>>()
  for (const [name, raw] of Object.entries(keys)) {
    try {
      checkKmsKeyName(name)
    } catch (error) {
      throw new InvalidInputError(`Key name ${JSON.stringify(name)}: ${error instanceof Error ? error.message : ''}`)
    }
    if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new InvalidInputError(`The key ${JSON.stringify(name)} must be a 32-byte Uint8Array.`)
    // Our own copy, so the caller may zero theirs at once; this one is zeroed once imported.
    const copy = new Uint8Array(raw)
    imported.set(name, crypto.subtle.importKey('raw', copy, 'AES-GCM', false, ['encrypt', 'decrypt']).finally(() => copy.fill(0)))
  }
  if (imported.size === 0) throw new InvalidInputError('keys must name at least one key.')
  const keyFor = (name: string): Promise<CryptoKey> => {
    const key = imported.get(name)
    if (key === undefined) throw new KmsAdapterError('KMS_DENIED', `No key named ${JSON.stringify(name)}.`)
    return key
  }
  return {
    async encrypt(keyName, plaintext, context) {
      const key = await keyFor(keyName)
      const out = new Uint8Array(1 + NONCE_LENGTH + plaintext.length + TAG_LENGTH)
      out[0] = LOCAL_BLOB_VERSION
      const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH))
      out.set(nonce, 1)
      const data = new Uint8Array(plaintext)
      try {
        const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: canonicalAad(keyName, context) }, key, data)
        out.set(new Uint8Array(sealed), 1 + NONCE_LENGTH)
        return out
      } finally {
        data.fill(0)
      }
    },
    async decrypt(keyName, ciphertext, context) {
      const key = await keyFor(keyName)
      const invalid = new KmsAdapterError('KMS_INVALID_CIPHERTEXT', 'The ciphertext does not decrypt under this key and encryption context.')
      if (ciphertext.length < 1 + NONCE_LENGTH + TAG_LENGTH || ciphertext[0] !== LOCAL_BLOB_VERSION) throw invalid
      try {
        const iv = ciphertext.slice(1, 1 + NONCE_LENGTH)
        const data = ciphertext.slice(1 + NONCE_LENGTH)
        return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: canonicalAad(keyName, context) }, key, data))
      } catch {
        throw invalid
      }
    },
  }
}

/** Options of {@link httpKmsAdapter}. */
export interface HttpKmsAdapterOptions {
  /** Headers for every call: how this server authenticates to the KMS. */
  readonly headers?: Readonly<Record<string, string>>
  /** The `fetch` used to reach the KMS; default the global one. */
  readonly fetch?: typeof fetch
  /** Allow a plain-http URL off loopback; data keys then cross the network in the clear. */
  readonly dangerouslyAllowHttp?: boolean
}

/**
 * A {@link KmsAdapter} for a key service that speaks {@link createKmsHandler}'s protocol at `url`
 * (the test KMS of `scripts/test-kms/`, or your own service in front of an HSM). 401 and 403 become
 * `KMS_DENIED`, the code `KMS_INVALID_CIPHERTEXT` stays, and anything else (network errors, other
 * statuses, malformed answers) is `KMS_UNAVAILABLE` with the service's code and message.
 *
 * @throws {InvalidInputError} a URL that is not absolute http(s), or plain http off loopback.
 * @example
 * const adapter = httpKmsAdapter('http://127.0.0.1:8790/api/kms', { headers: { authorization: `Bearer ${token}` } })
 */
export function httpKmsAdapter(url: string | URL, options: HttpKmsAdapterOptions = {}): KmsAdapter {
  const base = parseHttpUrl(url, 'url')
  if (base.protocol === 'http:' && !isLoopback(base.hostname) && options.dangerouslyAllowHttp !== true) {
    throw new InvalidInputError(`url ${base.origin} is plain http and not on loopback: use https, or set dangerouslyAllowHttp if the link really is private.`)
  }
  const prefix = base.href.replace(/\/+$/, '')
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const call = async (action: KmsAction, body: Record<string, unknown>, field: string): Promise<Uint8Array> => {
    let status = 0
    let json: unknown = null
    try {
      const response = await doFetch(`${prefix}/${action}`, {
        method: 'POST',
        headers: { ...options.headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      status = response.status
      json = await response.json().catch(() => null)
    } catch (cause) {
      throw new KmsAdapterError('KMS_UNAVAILABLE', `The KMS at ${base.origin} could not be reached (${action}).`, { cause })
    }
    const answer = typeof json === 'object' && json !== null ? { ...json } : {}
    const value: unknown = Reflect.get(answer, field)
    const bytes = status === 200 && typeof value === 'string' ? fromBase64(value) : null
    if (bytes !== null) return bytes
    const error: unknown = Reflect.get(answer, 'error')
    const code: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'code') : undefined
    const message: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'message') : undefined
    const said = `${typeof code === 'string' ? code : `HTTP ${status}`}: ${typeof message === 'string' ? message : 'no usable answer'}`
    if (status === 401 || status === 403) throw new KmsAdapterError('KMS_DENIED', `The KMS refused ${action} (${said}).`)
    if (code === 'KMS_INVALID_CIPHERTEXT') throw new KmsAdapterError('KMS_INVALID_CIPHERTEXT', `The KMS could not decrypt (${said}).`)
    throw new KmsAdapterError('KMS_UNAVAILABLE', `The KMS failed to ${action} (HTTP ${status}, ${said}).`)
  }
  return {
    encrypt: (keyName, plaintext, context) => call('encrypt', { keyName, plaintext: toBase64(plaintext), context }, 'ciphertext'),
    decrypt: (keyName, ciphertext, context) => call('decrypt', { keyName, ciphertext: toBase64(ciphertext), context }, 'plaintext'),
  }
}
