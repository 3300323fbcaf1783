/// <reference types="node" />
// End to end through a real, separate key service: the test KMS (scripts/test-kms/server.mjs) runs
// as its own Node process holding the master key; the app backend is createKmsHandler over
// httpKmsAdapter, served on node:http by toNodeListener; the "browser" is core's encrypt/decrypt
// with httpKmsClient pointed at the backend. Every byte the browser side sends or receives is
// recorded, to show the master key never reaches it.
import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { createDecipheriv } from 'node:crypto'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Readable, Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KMS_STANZA_TYPE, decrypt, encrypt, httpKmsClient, kmsIdentity, kmsRecipient, parseHeader } from '../../core/src/index.js'
import { createKmsHandler, httpKmsAdapter, toNodeListener } from '../src/index.js'
import { bytes } from './helpers.js'

const KEY_NAME = 'team-key'
/** The master key. Only the KMS process gets it; the test keeps it to check it never leaks. */
const MASTER_KEY = bytes(32, 0x6b6d73)
const KMS_TOKEN = 'app-to-kms-secret'
const SCRIPT = fileURLToPath(new URL('../../../scripts/test-kms/server.mjs', import.meta.url))

let kms: ChildProcessByStdio<Writable, Readable, Readable>
let kmsUrl = ''
const audit: Record<string, unknown>[] = []
let app: Server
let appUrl = ''

/** Starts the test KMS on a free port and resolves with the URL it prints. */
function startKms(): Promise<string> {
  kms = spawn(process.execPath, [SCRIPT, '--port', '0', '--exit-with-stdin'], {
    env: { ...process.env, BUCKETSEAL_TEST_KMS_KEYS: JSON.stringify({ [KEY_NAME]: Buffer.from(MASTER_KEY).toString('base64') }), BUCKETSEAL_TEST_KMS_TOKEN: KMS_TOKEN },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let err = ''
  kms.stderr.setEncoding('utf8').on('data', (text: string) => {
    err += text
    for (;;) {
      const end = err.indexOf('\n')
      if (end < 0) break
      const line = err.slice(0, end)
      err = err.slice(end + 1)
      try {
        audit.push({ ...JSON.parse(line) })
      } catch {
        audit.push({ raw: line })
      }
    }
  })
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`the test KMS did not start in 30 s: ${JSON.stringify(audit)}`)), 30_000)
    kms.once('exit', (code) => reject(new Error(`the test KMS exited with ${String(code)}: ${JSON.stringify(audit)}`)))
    kms.stdout.setEncoding('utf8').on('data', (text: string) => {
      out += text
      const end = out.indexOf('\n')
      if (end < 0) return
      clearTimeout(timer)
      const parsed: unknown = JSON.parse(out.slice(0, end))
      const url = typeof parsed === 'object' && parsed !== null && 'url' in parsed ? parsed.url : undefined
      if (typeof url === 'string') resolve(url)
      else reject(new Error(`the test KMS printed ${out}`))
    })
  })
}

beforeAll(async () => {
  kmsUrl = await startKms()
  // The app backend: authenticates to the KMS with its own token, and lets only "alice" use the key.
  const handler = createKmsHandler({
    adapter: httpKmsAdapter(kmsUrl, { headers: { authorization: `Bearer ${KMS_TOKEN}` } }),
    authorize: ({ request, keyName }) => request.headers.get('authorization') === 'Bearer alice' && keyName === KEY_NAME,
  })
  app = createServer(toNodeListener(handler))
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  const address: AddressInfo | string | null = app.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  appUrl = `http://127.0.0.1:${address.port}/api/kms`
})

afterAll(async () => {
  if (app !== undefined) await new Promise((resolve) => app.close(resolve))
  if (kms !== undefined && kms.exitCode === null) {
    const exited = new Promise((resolve) => kms.once('exit', resolve))
    kms.kill('SIGTERM')
    await exited
  }
})

/** What the browser side exchanged: every URL, request body and response body. */
interface Traffic {
  readonly urls: string[]
  readonly bodies: string[]
}

function browser(session: string): { client: ReturnType<typeof httpKmsClient>; traffic: Traffic } {
  const traffic: Traffic = { urls: [], bodies: [] }
  const recording: typeof fetch = async (input, init) => {
    traffic.urls.push(String(input))
    traffic.bodies.push(String(init?.body))
    const response = await fetch(input, init)
    const text = await response.text()
    traffic.bodies.push(text)
    return new Response(text, { status: response.status, headers: response.headers })
  }
  return { client: httpKmsClient(appUrl, KEY_NAME, { headers: { authorization: `Bearer ${session}` }, fetch: recording }), traffic }
}

/** True when `needle` occurs in `text` as raw bytes, hex, or inside any base64 string value. */
function leaks(text: string, needle: Uint8Array): boolean {
  const hex = Buffer.from(needle).toString('hex')
  const candidates = [Buffer.from(text, 'utf8'), ...(text.match(/[A-Za-z0-9+/]{4,}={0,2}/g) ?? []).map((s) => Buffer.from(s, 'base64'))]
  return text.toLowerCase().includes(hex) || candidates.some((c) => c.includes(Buffer.from(needle)))
}

describe('KMS recipients through a separate test KMS process', () => {
  it('the browser encrypts and decrypts through the app backend; the master key never reaches it', async () => {
    const { client, traffic } = browser('alice')
    const plaintext = bytes(5000, 7)
    const sealed = await encrypt(plaintext, { recipients: [kmsRecipient(client)], chunkSize: 1024 })
    expect(await decrypt(sealed, kmsIdentity(client))).toEqual(plaintext)

    // The browser only ever talked to the app backend, never to the KMS.
    expect(traffic.urls).toEqual([`${appUrl}/encrypt`, `${appUrl}/decrypt`])
    expect(traffic.urls.some((u) => u.startsWith(new URL(kmsUrl).origin))).toBe(false)
    // Neither its traffic nor the object holds the master key, in any encoding.
    expect(traffic.bodies.length).toBe(4)
    for (const body of traffic.bodies) expect(leaks(body, MASTER_KEY)).toBe(false)
    expect(Buffer.from(sealed).includes(Buffer.from(MASTER_KEY))).toBe(false)

    // The stanza's blob is the KMS's: it opens under the master key with node:crypto (a second
    // implementation), to the data key the backend handed the browser on decrypt.
    const stanza = parseHeader(sealed).recipients[0]
    if (stanza === undefined) throw new Error('no stanza')
    expect(stanza.type).toBe(KMS_STANZA_TYPE)
    const blob = stanza.body.subarray(16 + 2 + KEY_NAME.length)
    const decipher = createDecipheriv('aes-256-gcm', MASTER_KEY, blob.subarray(1, 13))
    decipher.setAAD(Buffer.from(JSON.stringify([KEY_NAME, [['purpose', 'bucketseal/v1/dek']]])))
    decipher.setAuthTag(blob.subarray(blob.length - 16))
    const dek = Buffer.concat([decipher.update(blob.subarray(13, blob.length - 16)), decipher.final()])
    expect(dek.length).toBe(32)
    const answer: unknown = JSON.parse(traffic.bodies[3] ?? '')
    expect(answer).toEqual({ plaintext: dek.toString('base64') })

    // The KMS logged both uses of its key, with the context.
    const uses = audit.filter((e) => e['keyName'] === KEY_NAME && e['status'] === 200).map((e) => [e['action'], e['context']])
    expect(uses).toEqual(
      expect.arrayContaining([
        ['encrypt', { purpose: 'bucketseal/v1/dek' }],
        ['decrypt', { purpose: 'bucketseal/v1/dek' }],
      ]),
    )
  })

  it('another session is refused by the backend (WRONG_KEY), and the KMS is not asked', async () => {
    const alice = browser('alice')
    const sealed = await encrypt(bytes(100, 1), { recipients: [kmsRecipient(alice.client)], chunkSize: 1024 })
    const before = audit.length
    const mallory = browser('mallory')
    await expect(decrypt(sealed, kmsIdentity(mallory.client))).rejects.toMatchObject({ code: 'WRONG_KEY' })
    expect(audit.length).toBe(before)
  })

  it('a backend the KMS does not trust is denied by the KMS (KMS_DENIED → WRONG_KEY), and the KMS logs it', async () => {
    const alice = browser('alice')
    const sealed = await encrypt(bytes(100, 2), { recipients: [kmsRecipient(alice.client)], chunkSize: 1024 })
    const rogue = createKmsHandler({ adapter: httpKmsAdapter(kmsUrl, { headers: { authorization: 'Bearer guess' } }), authorize: () => true })
    const client = httpKmsClient('http://127.0.0.1/api/kms', KEY_NAME, { fetch: (input, init) => rogue(new Request(input, init)) })
    await expect(decrypt(sealed, kmsIdentity(client))).rejects.toMatchObject({ code: 'WRONG_KEY' })
    await expect(client.decrypt(new Uint8Array(60), { purpose: 'bucketseal/v1/dek' })).rejects.toMatchObject({ code: 'KMS_DENIED', status: 403 })
    expect(audit.some((e) => e['action'] === 'decrypt' && e['allowed'] === false && e['status'] === 403)).toBe(true)
  })

  it('when the KMS is down, the browser gets KMS_UNAVAILABLE (not WRONG_KEY)', async () => {
    const alice = browser('alice')
    const sealed = await encrypt(bytes(100, 3), { recipients: [kmsRecipient(alice.client)], chunkSize: 1024 })
    const exited = new Promise((resolve) => kms.once('exit', resolve))
    kms.stdin.end() // --exit-with-stdin: the KMS stops when its parent lets go of it
    await exited
    await expect(decrypt(sealed, kmsIdentity(alice.client))).rejects.toMatchObject({ code: 'KMS_UNAVAILABLE', status: 502 })
  })
})
