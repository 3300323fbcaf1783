/**
 * KMS-held master keys: a recipient kind (stanza type `0x04`, FORMAT.md §11) whose wrap and unwrap
 * are done by a remote key service. The page never holds the master key: it hands the data key (to
 * wrap) or the service's ciphertext (to unwrap) to a {@link KmsClient}, usually the app's backend in
 * front of its KMS (`createKmsHandler` in `@bucketseal/server`).
 *
 * The trust model differs from browser-held keys: whoever runs the backend and the KMS can unwrap
 * every data key they are asked to, and the backend's authorization decides who may. See §11.
 */
import { isLoopbackHost } from './loopback.js'
import { equalBytes, fromBase64, fromUtf8, toBase64, toHex, utf8 } from './bytes.js'
import { BadHeaderError, BucketsealError, InvalidArgumentError, TamperedError } from './errors.js'
import type { Stanza } from './header.js'
import { KEY_ID_LENGTH } from './keys.js'
import { type Identity, type Recipient, StanzaType, identityFrom } from './recipients.js'

/** The stanza type of KMS recipients (FORMAT.md §11). */
export const KMS_STANZA_TYPE = StanzaType.KMS
/** Longest KMS key name (a key id, ARN or path), in UTF-8 bytes. */
export const MAX_KMS_KEY_NAME_BYTES = 512
/** Longest KMS ciphertext a stanza may carry; a KMS's blob for a 32-byte key is a few hundred bytes. */
export const MAX_KMS_CIPHERTEXT_BYTES = 8192
/**
 * Recipient entries for one KMS key that {@link kmsIdentity} sends to the key service at most per
 * open. An honest object has one per key (two if a writer listed the key twice); the cap is what
 * stops a hostile header from turning one open into a thousand KMS calls, as
 * `MAX_PASSPHRASE_TRIES` does for PBKDF2 runs.
 */
export const MAX_KMS_TRIES = 4
/**
 * The encryption context of every wrap and unwrap. It binds the KMS ciphertext to this use, so a
 * blob the same key made for another purpose never unwraps here. (It does not name the object: a
 * {@link Recipient} is not told which header it wraps for. The key commitment is what ties a DEK to
 * its object; see FORMAT.md §11.)
 */
export const KMS_CONTEXT: Readonly<Record<string, string>> = Object.freeze({ purpose: 'bucketseal/v1/dek' })

const DEK_LENGTH = 32
const KEY_ID_LABEL = utf8('bucketseal/v1/kms-key-id')

/** Stable codes of {@link KmsError}. New codes may be added; existing ones never change meaning. */
export type KmsErrorCode =
  /** The key service (or the backend in front of it) will not use this key for this caller. */
  | 'KMS_DENIED'
  /** The key service cannot decrypt the blob under this key and encryption context. */
  | 'KMS_INVALID_CIPHERTEXT'
  /** The key service could not be reached, or answered 408, 429 or 5xx. Try again later. */
  | 'KMS_UNAVAILABLE'
  /** The key service answered something unusable (another error, a malformed answer), or a client threw. */
  | 'KMS_FAILED'

const KMS_ERROR_CODES: ReadonlySet<string> = new Set<KmsErrorCode>(['KMS_DENIED', 'KMS_INVALID_CIPHERTEXT', 'KMS_UNAVAILABLE', 'KMS_FAILED'])

/**
 * A key service failed or refused. The message keeps what the service said (it names no key
 * material); `status` is the HTTP status when the service answered over HTTP. A {@link KmsClient}
 * throws these to tell {@link kmsIdentity} a refusal (`KMS_DENIED`) from a bad blob
 * (`KMS_INVALID_CIPHERTEXT`) and an outage (`KMS_UNAVAILABLE`).
 */
export class KmsError extends BucketsealError<KmsErrorCode> {
  readonly status: number | undefined

  constructor(code: KmsErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, message, options)
    this.name = 'KmsError'
    this.status = options?.status
  }
}

/**
 * True when `value` is a {@link KmsError}, optionally with the given code. Recognises one rebuilt in
 * another realm (a Worker) by its `code`.
 *
 * @example
 * try { await decrypt(sealed, kmsIdentity(client)) } catch (e) { if (isKmsError(e, 'KMS_UNAVAILABLE')) retryLater() }
 */
export function isKmsError(value: unknown, code?: KmsErrorCode): value is KmsError {
  if (typeof value !== 'object' || value === null || !('code' in value)) return false
  const c = value.code
  return typeof c === 'string' && KMS_ERROR_CODES.has(c) && (code === undefined || c === code)
}

/**
 * The page's side of a key service: encrypts a data key under one named master key, and decrypts
 * what it returned. `context` is the encryption context ({@link KMS_CONTEXT}); an implementation must
 * bind it (AWS `EncryptionContext`, Vault Transit `context`, AAD) so decrypting needs the same one.
 * To refuse, throw a {@link KmsError}: `KMS_DENIED` when the caller may not use the key (the object
 * is then treated as not for this key), `KMS_INVALID_CIPHERTEXT` when the blob does not decrypt,
 * `KMS_UNAVAILABLE` when the service cannot be reached. Other errors count as `KMS_FAILED`.
 * Buffers passed in are only read during the call; buffers returned belong to the caller.
 */
export interface KmsClient {
  /** The master key's name at the service: a key id, alias, ARN or path. At most 512 UTF-8 bytes. */
  readonly keyName: string
  encrypt(plaintext: Uint8Array, context: Readonly<Record<string, string>>): Promise<Uint8Array>
  decrypt(ciphertext: Uint8Array, context: Readonly<Record<string, string>>): Promise<Uint8Array>
}

/**
 * The key id (32 hex digits) of a KMS key name: SHA-256("bucketseal/v1/kms-key-id" ‖ UTF-8 name),
 * first 16 bytes. `WRONG_KEY` errors name it like the ids of other kinds.
 *
 * @throws {InvalidArgumentError} a name that is not 1 to 512 UTF-8 bytes without control characters.
 * @example
 * await kmsKeyId('arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab')
 */
export async function kmsKeyId(keyName: string): Promise<string> {
  return toHex(await keyIdBytes(checkKeyName(keyName, 'keyName')))
}

async function keyIdBytes(name: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array(KEY_ID_LABEL.length + name.length)
  input.set(KEY_ID_LABEL, 0)
  input.set(name, KEY_ID_LABEL.length)
  return new Uint8Array(await crypto.subtle.digest('SHA-256', input), 0, KEY_ID_LENGTH)
}

/** Returns the UTF-8 bytes of a valid key name. */
function checkKeyName(value: unknown, name: string): Uint8Array {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${name} must be a string.`)
  // A lone surrogate would be silently replaced by U+FFFD in UTF-8: two names, one key id.
  if (value.length === 0 || /[\x00-\x1f\x7f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) {
    throw new InvalidArgumentError(`${name} must be a non-empty string without control characters or lone surrogates.`)
  }
  const bytes = utf8(value)
  if (bytes.length > MAX_KMS_KEY_NAME_BYTES) throw new InvalidArgumentError(`${name} must be at most ${MAX_KMS_KEY_NAME_BYTES} bytes of UTF-8, got ${bytes.length}.`)
  return bytes
}

function checkClient(client: unknown, method: 'encrypt' | 'decrypt'): asserts client is KmsClient {
  if (typeof client !== 'object' || client === null || typeof Reflect.get(client, method) !== 'function') {
    throw new InvalidArgumentError(`client must be a KmsClient with a keyName and an ${method}() method.`)
  }
}

/** A parsed KMS stanza, or `null` for one that is not well-formed (skipped, like unknown types). */
interface KmsStanza {
  readonly keyId: Uint8Array
  readonly keyName: string
  readonly ciphertext: Uint8Array
}

function parseKmsStanza(stanza: Stanza): KmsStanza | null {
  const { type, body } = stanza
  if (type !== KMS_STANZA_TYPE || body.length < KEY_ID_LENGTH + 2) return null
  const nameLength = new DataView(body.buffer, body.byteOffset, body.length).getUint16(KEY_ID_LENGTH)
  const nameEnd = KEY_ID_LENGTH + 2 + nameLength
  const blobLength = body.length - nameEnd
  if (nameLength === 0 || nameLength > MAX_KMS_KEY_NAME_BYTES || blobLength < 1 || blobLength > MAX_KMS_CIPHERTEXT_BYTES) return null
  let keyName: string
  try {
    keyName = fromUtf8(body.subarray(KEY_ID_LENGTH + 2, nameEnd))
  } catch {
    return null
  }
  return { keyId: body.subarray(0, KEY_ID_LENGTH), keyName, ciphertext: body.subarray(nameEnd) }
}

/**
 * The KMS key names of an object's recipient entries, in header order without repeats: which
 * {@link KmsClient} an app needs to open it.
 *
 * @example
 * const names = kmsKeyNames(parseHeader(firstBytes).recipients) // ['alias/bucketseal']
 */
export function kmsKeyNames(stanzas: readonly Stanza[]): string[] {
  const names = stanzas.map(parseKmsStanza).flatMap((s) => (s === null ? [] : [s.keyName]))
  return [...new Set(names)]
}

/** Any failure of a client as a {@link KmsError}, keeping its message. */
function toKmsError(error: unknown, action: string): KmsError {
  if (error instanceof KmsError) return error
  const message = error instanceof Error ? error.message : String(error)
  if (isKmsError(error)) return new KmsError(error.code, message, { cause: error })
  return new KmsError('KMS_FAILED', `The key service failed to ${action}: ${message}`, { cause: error })
}

/**
 * A master key held by a key service, as a recipient: the data key goes to `client.encrypt` (with
 * {@link KMS_CONTEXT}), and the returned blob into a type-`0x04` stanza with the key's name.
 * The client sees the data key: use it only with a service you trust with the object (FORMAT.md §11).
 *
 * @throws {InvalidArgumentError} a client without a valid `keyName` or `encrypt()`.
 * @throws {KmsError} (from `wrap`, so from `encrypt`) the service refused or failed, or returned a
 *   blob that is empty or over 8 KiB (`KMS_FAILED`).
 * @example
 * const kms = httpKmsClient('/api/kms', 'alias/bucketseal')
 * const sealed = await encrypt(bytes, { recipients: [kmsRecipient(kms), me.publicKey] })
 */
export function kmsRecipient(client: KmsClient): Recipient {
  checkClient(client, 'encrypt')
  const name = checkKeyName(client.keyName, 'client.keyName')
  return {
    async wrap(dek) {
      let blob: Uint8Array
      try {
        blob = await client.encrypt(dek, { ...KMS_CONTEXT })
      } catch (error) {
        throw toKmsError(error, 'encrypt')
      }
      if (!(blob instanceof Uint8Array) || blob.length === 0 || blob.length > MAX_KMS_CIPHERTEXT_BYTES) {
        throw new KmsError('KMS_FAILED', `The key service returned a ciphertext that is not 1 to ${MAX_KMS_CIPHERTEXT_BYTES} bytes.`)
      }
      const body = new Uint8Array(KEY_ID_LENGTH + 2 + name.length + blob.length)
      body.set(await keyIdBytes(name), 0)
      new DataView(body.buffer).setUint16(KEY_ID_LENGTH, name.length)
      body.set(name, KEY_ID_LENGTH + 2)
      body.set(blob, KEY_ID_LENGTH + 2 + name.length)
      return { type: KMS_STANZA_TYPE, body }
    },
  }
}

/**
 * A master key held by a key service, as an identity: opens the type-`0x04` stanzas whose key name
 * is `client.keyName` through `client.decrypt`. A refusal (`KMS_DENIED`) is not an error here: the
 * identity returns `null`, so another key may still open the object, and `WRONG_KEY` is thrown if
 * none does, exactly as for a key the user does not hold. An outage is an error (retry, rather
 * than tell the user they lack the key); a blob the service cannot decrypt is tampering.
 *
 * @throws {InvalidArgumentError} a client without a valid `keyName` or `decrypt()`.
 * Every entry for the key is tried (up to {@link MAX_KMS_TRIES}) before a failure is reported, and
 * `openObject` goes on with the other keys it was given; the failure reported is the most specific
 * (FORMAT.md §4, "Opening").
 *
 * @throws {KmsError} (from `unwrap`, so from `decrypt`/`openObject`) `KMS_UNAVAILABLE` or `KMS_FAILED`.
 * @throws {TamperedError} (from `unwrap`) the service could not decrypt the entry for this key
 *   (`KMS_INVALID_CIPHERTEXT`), or decrypted it to something that is not a 32-byte data key.
 * @throws {BadHeaderError} (from `unwrap`) the header has more than {@link MAX_KMS_TRIES} entries for
 *   this key and none of the first {@link MAX_KMS_TRIES} opened: the rest are never sent.
 * @example
 * const plain = await decrypt(sealed, kmsIdentity(httpKmsClient('/api/kms', 'alias/bucketseal')))
 */
export function kmsIdentity(client: KmsClient): Identity {
  checkClient(client, 'decrypt')
  const keyName = client.keyName
  const name = checkKeyName(keyName, 'client.keyName')
  return identityFrom(async function* (stanzas, failures) {
    const id = await keyIdBytes(name)
    let tries = 0
    for (const stanza of stanzas) {
      const s = parseKmsStanza(stanza)
      if (s === null || s.keyName !== keyName || !equalBytes(s.keyId, id)) continue
      if (++tries > MAX_KMS_TRIES) {
        // Each try is a call to the backend and the KMS (and a line in its audit log): a header
        // with a thousand entries for one key must not make a thousand calls per open.
        failures.record(
          new BadHeaderError(
            `The header has more than ${MAX_KMS_TRIES} recipient entries for KMS key ${JSON.stringify(keyName)}, and none of the first ${MAX_KMS_TRIES} opened. No honest writer makes such a header; the rest were not sent to the key service.`,
          ),
        )
        return
      }
      let dek: Uint8Array
      try {
        dek = await client.decrypt(s.ciphertext, { ...KMS_CONTEXT })
      } catch (error) {
        const e = toKmsError(error, 'decrypt')
        // A refusal is about the key, not the entry: the other entries for it would be refused too.
        if (e.code === 'KMS_DENIED') return
        if (e.code === 'KMS_INVALID_CIPHERTEXT') {
          failures.record(tamperedEntry(keyName, id, e.message))
          continue
        }
        // An outage: this key cannot be tried now (the next call would fail alike); another key may
        // still open the object, and if none does the caller is told to retry, not that it lacks a key.
        failures.record(e)
        return
      }
      if (dek instanceof Uint8Array && dek.length === DEK_LENGTH) {
        yield dek
        continue
      }
      if (dek instanceof Uint8Array) dek.fill(0)
      failures.record(tamperedEntry(keyName, id, `it decrypted to ${dek instanceof Uint8Array ? dek.length : 'no'} bytes, not a 32-byte data key`))
    }
  })
}

function tamperedEntry(keyName: string, id: Uint8Array, said: string): TamperedError {
  return new TamperedError(`The recipient entry for KMS key ${JSON.stringify(keyName)} (key id ${toHex(id)}) does not unwrap: it was modified. The key service said: ${said}`)
}

/** Options of {@link httpKmsClient}. */
export interface HttpKmsClientOptions {
  /** Headers for every call, such as the app's session token; a function is called per request. */
  readonly headers?: Readonly<Record<string, string>> | (() => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>)
  /** A `fetch` to use (tests, or a wrapped fetch). Default the global one. */
  readonly fetch?: typeof fetch
  /**
   * Allow a plain `http:` URL that is not on loopback. Data keys then cross the network in the
   * clear: only for a link that is private by other means.
   */
  readonly dangerouslyAllowHttp?: boolean
}

/**
 * A {@link KmsClient} that calls the app's backend (`createKmsHandler` of `@bucketseal/server`)
 * mounted at `url`: `POST url/encrypt` with `{ keyName, plaintext, context }` answers
 * `{ ciphertext }`, `POST url/decrypt` with `{ keyName, ciphertext, context }` answers
 * `{ plaintext }`, bytes in base64. 401 and 403 become `KMS_DENIED`, the code
 * `KMS_INVALID_CIPHERTEXT` stays, 408, 429, 5xx and network errors become `KMS_UNAVAILABLE`,
 * anything else `KMS_FAILED`; the server's message is kept. No retries: retry on `KMS_UNAVAILABLE`.
 *
 * @param url the handler's base: a path in a page (`/api/kms`, resolved against the page), or an
 *   absolute `https:` URL (`http:` only on loopback unless `dangerouslyAllowHttp`).
 * @throws {InvalidArgumentError} a bad URL or key name, or plain http off loopback.
 * @example
 * const kms = httpKmsClient('/api/kms', 'alias/bucketseal', { headers: () => ({ authorization: `Bearer ${session.token}` }) })
 */
export function httpKmsClient(url: string | URL, keyName: string, options: HttpKmsClientOptions = {}): KmsClient {
  checkKeyName(keyName, 'keyName')
  const base = checkUrl(url, options.dangerouslyAllowHttp === true)
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const call = async (action: 'encrypt' | 'decrypt', field: 'plaintext' | 'ciphertext', bytes: Uint8Array, context: Readonly<Record<string, string>>): Promise<Uint8Array> => {
    const extra = typeof options.headers === 'function' ? await options.headers() : options.headers
    let response: Response
    let text: string
    try {
      response = await doFetch(`${base}/${action}`, {
        method: 'POST',
        headers: { ...extra, 'content-type': 'application/json' },
        body: JSON.stringify({ keyName, [field]: toBase64(bytes), context }),
      })
      text = await response.text()
    } catch (cause) {
      throw new KmsError('KMS_UNAVAILABLE', `The key service at ${base} could not be reached (${action}).`, { cause })
    }
    const json = parseJson(text)
    const answer = action === 'encrypt' ? 'ciphertext' : 'plaintext'
    const value = json?.[answer]
    if (response.ok) {
      try {
        if (typeof value === 'string') return fromBase64(value, answer)
      } catch {
        // Falls through to the error below.
      }
      throw new KmsError('KMS_FAILED', `The key service answered ${action} without a base64 "${answer}".`, { status: response.status })
    }
    const error = json?.['error']
    const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : `HTTP ${response.status}`
    const said = typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string' ? error.message : text.slice(0, 200)
    const status = response.status
    const kind: KmsErrorCode =
      status === 401 || status === 403 || code === 'KMS_DENIED'
        ? 'KMS_DENIED'
        : code === 'KMS_INVALID_CIPHERTEXT'
          ? 'KMS_INVALID_CIPHERTEXT'
          : status === 408 || status === 429 || status >= 500
            ? 'KMS_UNAVAILABLE'
            : 'KMS_FAILED'
    throw new KmsError(kind, `The key service refused ${action} (${code}, HTTP ${status}): ${said}`, { status })
  }
  return {
    keyName,
    encrypt: (plaintext, context) => call('encrypt', 'plaintext', plaintext, context),
    decrypt: (ciphertext, context) => call('decrypt', 'ciphertext', ciphertext, context),
  }
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...value } : null
  } catch {
    return null
  }
}

/** The handler's base URL without a trailing slash; data keys travel in its bodies, so https. */
function checkUrl(url: unknown, allowHttp: boolean): string {
  if (typeof url !== 'string' && !(url instanceof URL)) throw new InvalidArgumentError('url must be a string or a URL.')
  const page = typeof location === 'undefined' ? undefined : location.href
  let parsed: URL
  try {
    parsed = new URL(url, page)
  } catch {
    throw new InvalidArgumentError('url must be an absolute http(s) URL, or a path when running in a page.')
  }
  const loopback = isLoopbackHost(parsed.hostname)
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new InvalidArgumentError('url must be an http(s) URL.')
  if (parsed.protocol === 'http:' && !loopback && !allowHttp) {
    throw new InvalidArgumentError(`url ${parsed.origin} is plain http and not on loopback: data keys would travel in the clear. Use https.`)
  }
  if (parsed.search !== '' || parsed.hash !== '') throw new InvalidArgumentError('url must not have a query or fragment.')
  return parsed.href.replace(/\/+$/, '')
}
