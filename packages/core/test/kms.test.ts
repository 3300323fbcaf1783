// KMS recipients (stanza type 0x04) through a fake in-memory key service, in Node and in Chromium:
// round trips, composition with other kinds, refusals, outages, swapped blobs, the stanza layout,
// and httpKmsClient's protocol and error mapping through an injected fetch.
import { describe, expect, it } from 'vitest'
import {
  KMS_CONTEXT,
  KMS_STANZA_TYPE,
  KmsError,
  MAX_KMS_TRIES,
  type KmsClient,
  WrongKeyError,
  decrypt,
  encrypt,
  httpKmsClient,
  isKmsError,
  kmsIdentity,
  kmsKeyId,
  kmsKeyNames,
  kmsRecipient,
  parseHeader,
  rsaKeyId,
} from '../src/index.js'
import { SMALL_CHUNK, codeOf, concatBytes, pattern, rsaPair } from './helpers.js'

const C = SMALL_CHUNK
const KEY_NAME = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'

type Mode = 'ok' | 'deny' | 'down' | 'invalid' | 'short'

/**
 * A key service in memory: AES-256-GCM under a key it never hands out, the context bound as AAD.
 * `mode` makes it misbehave; `calls` counts decrypts.
 */
class FakeKms implements KmsClient {
  mode: Mode = 'ok'
  calls = 0
  readonly contexts: Record<string, string>[] = []
  readonly #key = crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])

  constructor(readonly keyName: string = KEY_NAME) {}

  async encrypt(plaintext: Uint8Array, context: Readonly<Record<string, string>>): Promise<Uint8Array> {
    this.contexts.push({ ...context })
    const iv = crypto.getRandomValues(new Uint8Array(12))
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad(context) }, await this.#key, new Uint8Array(plaintext))
    return concatBytes(iv, new Uint8Array(sealed))
  }

  async decrypt(ciphertext: Uint8Array, context: Readonly<Record<string, string>>): Promise<Uint8Array> {
    this.calls++
    this.contexts.push({ ...context })
    if (this.mode === 'deny') throw new KmsError('KMS_DENIED', 'AccessDeniedException: not allowed to use this key')
    if (this.mode === 'down') throw new TypeError('fetch failed')
    if (this.mode === 'short') return new Uint8Array(16)
    try {
      const iv = ciphertext.slice(0, 12)
      const data = ciphertext.slice(12)
      if (this.mode === 'invalid') data[0] = (data[0] ?? 0) ^ 1
      return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad(context) }, await this.#key, data))
    } catch {
      throw new KmsError('KMS_INVALID_CIPHERTEXT', 'InvalidCiphertextException')
    }
  }
}

function aad(context: Readonly<Record<string, string>>): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))))
}

describe('KMS recipients', () => {
  it(`a hostile header with 1,023 entries for the key makes at most ${MAX_KMS_TRIES} KMS calls, then BAD_HEADER`, async () => {
    const kms = new FakeKms()
    // A writer of the bucket lists the reader's key name 1,023 times with blobs the KMS cannot
    // decrypt, before the honest entry: each would be a call to the backend and the KMS.
    const junk: KmsClient = { keyName: KEY_NAME, encrypt: async () => crypto.getRandomValues(new Uint8Array(60)), decrypt: () => Promise.reject(new Error('unused')) }
    const hostile = Array.from({ length: 1023 }, () => kmsRecipient(junk))
    const sealed = await encrypt(pattern(10), { recipients: [...hostile, kmsRecipient(kms)], chunkSize: C })
    expect(parseHeader(sealed).recipients.length).toBe(1024)
    expect(await codeOf(() => decrypt(sealed, kmsIdentity(kms)))).toBe('BAD_HEADER')
    expect(kms.calls).toBe(MAX_KMS_TRIES)
  })

  it(`an honest entry among the first ${MAX_KMS_TRIES} still opens, whatever follows it`, async () => {
    const kms = new FakeKms()
    const junk: KmsClient = { keyName: KEY_NAME, encrypt: async () => crypto.getRandomValues(new Uint8Array(60)), decrypt: () => Promise.reject(new Error('unused')) }
    const before = Array.from({ length: MAX_KMS_TRIES - 1 }, () => kmsRecipient(junk))
    const after = Array.from({ length: 100 }, () => kmsRecipient(junk))
    const sealed = await encrypt(pattern(10), { recipients: [...before, kmsRecipient(kms), ...after], chunkSize: C })
    expect(await decrypt(sealed, kmsIdentity(kms))).toEqual(pattern(10))
    expect(kms.calls).toBe(MAX_KMS_TRIES)
  })

  it.for([0, 1, C, 3 * C + 5])('round trip, %i bytes', async (size) => {
    const kms = new FakeKms()
    const plaintext = pattern(size, size + 3)
    const sealed = await encrypt(plaintext, { recipients: [kmsRecipient(kms)], chunkSize: C })
    expect(await decrypt(sealed, kmsIdentity(kms))).toEqual(plaintext)
    expect(kms.calls).toBe(1)
    // Every call carried the purpose context, and nothing else.
    expect(kms.contexts).toEqual([{ ...KMS_CONTEXT }, { ...KMS_CONTEXT }])
  })

  it('lays out the stanza as keyId ‖ u16 name length ‖ name ‖ blob, with the key id of the name', async () => {
    const kms = new FakeKms()
    const sealed = await encrypt(pattern(10), { recipients: [kmsRecipient(kms)], chunkSize: C })
    const [stanza] = parseHeader(sealed).recipients
    if (stanza === undefined) throw new Error('no stanza')
    expect(stanza.type).toBe(KMS_STANZA_TYPE)
    const name = new TextEncoder().encode(KEY_NAME)
    // Key id recomputed here from the definition in FORMAT.md §11.
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(concatBytes(new TextEncoder().encode('bucketseal/v1/kms-key-id'), name))))
    const id = digest.subarray(0, 16)
    expect(Array.from(id, (b) => b.toString(16).padStart(2, '0')).join('')).toBe(await kmsKeyId(KEY_NAME))
    expect(stanza.body.subarray(0, 16)).toEqual(id)
    expect((stanza.body[16] ?? 0) * 256 + (stanza.body[17] ?? 0)).toBe(name.length)
    expect(stanza.body.subarray(18, 18 + name.length)).toEqual(name)
    expect(stanza.body.length).toBe(18 + name.length + 12 + 32 + 16) // the fake's blob: iv, DEK, tag
    expect(kmsKeyNames(parseHeader(sealed).recipients)).toEqual([KEY_NAME])
  })

  it('with an RSA recipient, each opens the object alone; a refusing KMS does not stop the RSA key', async () => {
    const kms = new FakeKms()
    const rsa = await rsaPair()
    const plaintext = pattern(2 * C + 1, 9)
    const sealed = await encrypt(plaintext, { recipients: [kmsRecipient(kms), rsa.publicKey], chunkSize: C })
    expect(await decrypt(sealed, kmsIdentity(kms))).toEqual(plaintext)
    expect(await decrypt(sealed, rsa)).toEqual(plaintext)
    kms.mode = 'deny'
    expect(await decrypt(sealed, [kmsIdentity(kms), rsa])).toEqual(plaintext)
  })

  it('a KMS that refuses access gives WRONG_KEY, naming the key ids the object has', async () => {
    const kms = new FakeKms()
    const rsa = await rsaPair()
    const sealed = await encrypt(pattern(100), { recipients: [kmsRecipient(kms), rsa.publicKey], chunkSize: C })
    kms.mode = 'deny'
    const error = await decrypt(sealed, kmsIdentity(kms)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WrongKeyError)
    // core's stanzaKeyId knows types 1 and 2 only: the RSA entry's id is listed, the KMS one's not yet.
    expect(error instanceof WrongKeyError ? error.keyIds : []).toContain(await rsaKeyId(rsa.publicKey))
    expect(kms.calls).toBe(1)
  })

  it('a client that throws something else is KMS_FAILED, not WRONG_KEY, and keeps the message', async () => {
    const kms = new FakeKms()
    const sealed = await encrypt(pattern(100), { recipients: [kmsRecipient(kms)], chunkSize: C })
    kms.mode = 'down'
    const error = await decrypt(sealed, kmsIdentity(kms)).catch((e: unknown) => e)
    expect(isKmsError(error, 'KMS_FAILED')).toBe(true)
    expect(error instanceof Error ? error.message : '').toContain('fetch failed')
  })

  it.for<[Mode, string]>([
    ['invalid', 'InvalidCiphertextException'],
    ['short', 'not a 32-byte data key'],
  ])('a blob the KMS cannot open to a data key (%s) is TAMPERED', async ([mode, said]) => {
    const kms = new FakeKms()
    const sealed = await encrypt(pattern(100), { recipients: [kmsRecipient(kms)], chunkSize: C })
    kms.mode = mode
    const error = await decrypt(sealed, kmsIdentity(kms)).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TAMPERED' })
    expect(error instanceof Error ? error.message : '').toContain(said)
  })

  it("a stanza whose blob was swapped for another object's is COMMITMENT_MISMATCH", async () => {
    const kms = new FakeKms()
    const a = await encrypt(pattern(300, 1), { recipients: [kmsRecipient(kms)], chunkSize: C })
    const b = await encrypt(pattern(300, 2), { recipients: [kmsRecipient(kms)], chunkSize: C })
    const ha = parseHeader(a)
    const hb = parseHeader(b)
    const bodyA = ha.recipients[0]?.body
    const bodyB = hb.recipients[0]?.body
    if (bodyA === undefined || bodyB === undefined || bodyA.length !== bodyB.length) throw new Error('fixture: same-size stanzas expected')
    // The stanza is the header's last bytes: put b's in a's place (same key name, so it is tried).
    const forged = a.slice()
    forged.set(bodyB, ha.length - bodyA.length)
    expect(await codeOf(() => decrypt(forged, kmsIdentity(kms)))).toBe('COMMITMENT_MISMATCH')
  })

  it('a client for another key name does not match the entry and is never called', async () => {
    const kms = new FakeKms()
    const sealed = await encrypt(pattern(100), { recipients: [kmsRecipient(kms)], chunkSize: C })
    const other = new FakeKms('alias/other')
    expect(await codeOf(() => decrypt(sealed, kmsIdentity(other)))).toBe('WRONG_KEY')
    expect(other.calls).toBe(0)
  })

  it.for<[string, unknown]>([
    ['empty', ''],
    ['over 512 bytes', 'k'.repeat(513)],
    ['a control character', 'alias/a\nb'],
    ['a lone surrogate', 'alias/\uD800'],
    ['not a string', 42],
  ])('refuses a key name that is %s', async ([, keyName]) => {
    const client = { keyName, encrypt: async () => new Uint8Array(1), decrypt: async () => new Uint8Array(32) }
    // @ts-expect-error: the wrong types are the point.
    expect(await codeOf(async () => kmsRecipient(client))).toBe('INVALID_ARGUMENT')
    // @ts-expect-error: the wrong types are the point.
    expect(await codeOf(async () => kmsIdentity(client))).toBe('INVALID_ARGUMENT')
  })

  it('accepts a 512-byte key name, and refuses a blob over 8 KiB or empty', async () => {
    const name = 'é'.repeat(256)
    const good = new FakeKms(name)
    const sealed = await encrypt(pattern(5), { recipients: [kmsRecipient(good)], chunkSize: C })
    expect(await decrypt(sealed, kmsIdentity(good))).toEqual(pattern(5))
    for (const size of [0, 8193]) {
      const client: KmsClient = { keyName: 'k', encrypt: async () => new Uint8Array(size), decrypt: async () => new Uint8Array(32) }
      expect(await codeOf(() => encrypt(pattern(5), { recipients: [kmsRecipient(client)], chunkSize: C }))).toBe('KMS_FAILED')
    }
  })
})

describe('httpKmsClient', () => {
  /** A fetch that plays the app's backend in front of `kms`, answering `reply` when given. */
  function backend(kms: FakeKms, reply?: { status: number; body: unknown }): { fetch: typeof fetch; requests: { url: string; body: Record<string, unknown> }[] } {
    const requests: { url: string; body: Record<string, unknown> }[] = []
    const b64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes))
    const unb64 = (text: unknown): Uint8Array => Uint8Array.from(atob(String(text)), (c) => c.charCodeAt(0))
    const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
    const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const body: unknown = JSON.parse(String(init?.body))
      if (typeof body !== 'object' || body === null) throw new Error('no body')
      requests.push({ url: String(input), body: { ...body } })
      if (reply !== undefined) return json(reply.status, reply.body)
      const b: Record<string, unknown> = { ...body }
      const context = { purpose: String(Object(b['context'])['purpose']) }
      if (String(input).endsWith('/encrypt')) return json(200, { ciphertext: b64(await kms.encrypt(unb64(b['plaintext']), context)) })
      return json(200, { plaintext: b64(await kms.decrypt(unb64(b['ciphertext']), context)) })
    }
    return { fetch: fetchFn, requests }
  }

  it('round trips through the JSON protocol, with the app headers on every call', async () => {
    const kms = new FakeKms()
    const { fetch, requests } = backend(kms)
    const client = httpKmsClient('https://app.example/api/kms/', KEY_NAME, { fetch, headers: () => ({ authorization: 'Bearer t' }) })
    const plaintext = pattern(C + 1, 4)
    const sealed = await encrypt(plaintext, { recipients: [kmsRecipient(client)], chunkSize: C })
    expect(await decrypt(sealed, kmsIdentity(client))).toEqual(plaintext)
    expect(requests.map((r) => r.url)).toEqual(['https://app.example/api/kms/encrypt', 'https://app.example/api/kms/decrypt'])
    expect(requests[0]?.body).toMatchObject({ keyName: KEY_NAME, plaintext: expect.any(String), context: KMS_CONTEXT })
    expect(requests[1]?.body).toMatchObject({ keyName: KEY_NAME, ciphertext: expect.any(String), context: KMS_CONTEXT })
  })

  it.for<[number, unknown, string]>([
    [403, { error: { code: 'FORBIDDEN', message: 'Not allowed to decrypt with this key.' } }, 'WRONG_KEY'],
    [401, {}, 'WRONG_KEY'],
    [422, { error: { code: 'KMS_INVALID_CIPHERTEXT', message: 'bad blob' } }, 'TAMPERED'],
    [502, { error: { code: 'KMS_UNAVAILABLE', message: 'connect ECONNREFUSED' } }, 'KMS_UNAVAILABLE'],
    [429, {}, 'KMS_UNAVAILABLE'],
    [404, { error: { code: 'NOT_FOUND', message: 'No such action.' } }, 'KMS_FAILED'],
    [200, { plaintext: 'not base64!' }, 'KMS_FAILED'],
  ])('maps HTTP %i on decrypt to %j → %s', async ([status, body, code]) => {
    const kms = new FakeKms()
    const sealed = await encrypt(pattern(10), { recipients: [kmsRecipient(kms)], chunkSize: C })
    const client = httpKmsClient('http://127.0.0.1:9/api/kms', KEY_NAME, { fetch: backend(kms, { status, body }).fetch })
    expect(await codeOf(() => decrypt(sealed, kmsIdentity(client)))).toBe(code)
  })

  it('keeps the server message, and reports a network failure as KMS_UNAVAILABLE', async () => {
    const denied = httpKmsClient('https://app.example/api/kms', KEY_NAME, {
      fetch: backend(new FakeKms(), { status: 502, body: { error: { code: 'KMS_UNAVAILABLE', message: 'the KMS timed out' } } }).fetch,
    })
    const error = await denied.decrypt(new Uint8Array(1), KMS_CONTEXT).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'KMS_UNAVAILABLE', status: 502 })
    expect(error instanceof Error ? error.message : '').toContain('the KMS timed out')
    const offline = httpKmsClient('https://app.example/api/kms', KEY_NAME, { fetch: () => Promise.reject(new TypeError('Failed to fetch')) })
    expect(await codeOf(() => offline.encrypt(new Uint8Array(32), KMS_CONTEXT))).toBe('KMS_UNAVAILABLE')
  })

  it('refuses plain http off loopback unless told so by name', async () => {
    expect(await codeOf(async () => httpKmsClient('http://kms.example/api/kms', KEY_NAME))).toBe('INVALID_ARGUMENT')
    expect(httpKmsClient('http://kms.example/api/kms', KEY_NAME, { dangerouslyAllowHttp: true }).keyName).toBe(KEY_NAME)
    expect(httpKmsClient('http://localhost:8787/api/kms', KEY_NAME).keyName).toBe(KEY_NAME)
    expect(await codeOf(async () => httpKmsClient('ftp://kms.example/', KEY_NAME))).toBe('INVALID_ARGUMENT')
  })
})
