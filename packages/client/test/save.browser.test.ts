// saveDownload through the download Service Worker, in every engine, against Ceph RGW.
//
// How a Service Worker is tested here: Vitest serves the repository, so the worker's TypeScript
// source is registered as it is (Vite serves it compiled, a classic script with nothing added), and
// installDownloadWorker gives it the scope `packages/client/src/bucketseal-download/`, which holds
// nothing but download URLs. So neither Vitest's test pages (`/__vitest_test__/…`) nor the upload
// pool's Workers (`packages/client/src/worker.ts`, which a scope of `packages/client/src/` would
// cover, in this file and in every test file after it in the same browser) are ever controlled,
// and none of their requests reach the worker. A browser's download is a navigation, which a worker
// answers whatever page started it; but a test cannot read what a navigation saved. So the tests
// open a hidden iframe on a download URL nobody serves (the worker answers it with its 404 page),
// which makes that frame a client the worker controls, and fetch the download URL with the frame's
// `fetch`: the same request, answered by the same handler, with a body the test can hash.
// saveDownload's own iframe navigation then finds the one-shot URL already taken and gets the 404,
// so no test leaves a file in a Downloads folder. afterAll unregisters the worker, so nothing of it
// outlives this file.
import { generateAesKwKey } from '@bucketseal/core'
import { createStore } from 'idb-keyval'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DownloadWorker, type ServedDownload, download, installDownloadWorker, openRemote, saveDownload, upload } from '../src/index.js'
import { bytes, s3, sha256, signer, testKey } from './s3.js'

const MiB = 1024 * 1024
const C = 64 * 1024
/** Larger than the lowered in-memory limit, so the Blob path refuses it. */
const SIZE = 3 * MiB + 4321
const MAX_BLOB = 1 * MiB
// Root-relative on purpose: Vite rewrites `new URL('<literal>', import.meta.url)` as an asset
// reference (a directory becomes its index.ts), and this test module is served from /work/main/….
const SRC = new URL('/packages/client/src/', location.href).href
const WORKER_URL = new URL('download-worker.ts', SRC)
/** Where installDownloadWorker registers it: beside the script, holding only download URLs. */
const SCOPE = new URL('bucketseal-download/', SRC).href

let kek: CryptoKey
let data: Uint8Array<ArrayBuffer>
let key: string
let client: HTMLIFrameElement
const workers = new Map<'auto' | 'messages', DownloadWorker>()

async function put(plain: Uint8Array<ArrayBuffer>, label: string, name: string): Promise<string> {
  const k = testKey(label)
  await upload(new File([plain], name), {
    signer,
    recipients: [kek],
    objectKey: k,
    chunkSize: C,
    store: createStore(`save-test-${Math.random()}`, 'uploads'),
  }).done
  return k
}

/** A frame the worker controls (see the file comment), whose fetches the worker answers. */
async function controlledFrame(): Promise<HTMLIFrameElement> {
  const frame = document.createElement('iframe')
  frame.hidden = true
  const loaded = new Promise<void>((resolve) => frame.addEventListener('load', () => resolve(), { once: true }))
  frame.src = `${SCOPE}${'f'.repeat(32)}`
  document.body.append(frame)
  await loaded
  return frame
}

function frameFetch(url: string): Promise<Response> {
  const win = client.contentWindow
  if (win === null) throw new Error('the controlled frame has no window')
  return win.fetch(url)
}

/** Every chunk of `body` until it ends or errors: what a browser would have written to disk. */
async function drain(body: ReadableStream<Uint8Array>): Promise<{ received: Uint8Array<ArrayBuffer>; error: unknown }> {
  const parts: Uint8Array[] = []
  const reader = body.getReader()
  let error: unknown = null
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      parts.push(value)
    }
  } catch (e) {
    error = e
  }
  const received = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    received.set(p, o)
    o += p.length
  }
  return { received, error }
}

function settled(p: Promise<void>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  )
}

/** A worker that lets the test fetch the URL (from the controlled frame) before saveDownload navigates to it. */
function fetchingFirst(worker: DownloadWorker, seen: Array<{ served: ServedDownload; response: Response }>): DownloadWorker {
  return {
    scope: worker.scope,
    async serve(stream, file) {
      const served = await worker.serve(stream, file)
      seen.push({ served, response: await frameFetch(served.url) })
      return served
    },
  }
}

beforeAll(async () => {
  kek = await generateAesKwKey()
  data = bytes(SIZE, 33)
  key = await put(data, 'save', 'Grüße, "report" 2024.bin')
  for (const mode of ['auto', 'messages'] as const) {
    const worker = await installDownloadWorker({ url: WORKER_URL, mode })
    if (worker === null) throw new Error('this browser has no Service Workers')
    workers.set(mode, worker)
  }
  client = await controlledFrame()
})

afterAll(async () => {
  client?.remove()
  for (const registration of await navigator.serviceWorker.getRegistrations()) await registration.unregister()
})

function workerFor(mode: 'auto' | 'messages'): DownloadWorker {
  const worker = workers.get(mode)
  if (worker === undefined) throw new Error(`no ${mode} worker`)
  return worker
}

describe('the download Service Worker', () => {
  it('registers with a scope of download URLs only, and controls a frame inside it but not the test page', async () => {
    expect(workerFor('auto').scope).toBe(SCOPE)
    expect(client.contentWindow?.navigator.serviceWorker.controller).not.toBeNull()
    expect(navigator.serviceWorker.controller).toBeNull()
    // The upload pool's Worker script lives in the worker's own directory: the registration that
    // would control it (and so see every part it sends) must not exist.
    expect(await navigator.serviceWorker.getRegistration(new URL('worker.ts', SRC).href)).toBeUndefined()
  })

  it('without a worker or a picker, an object over maxBlobSize is refused (the Blob path)', async () => {
    const dl = await download(key, { signer, keys: kek })
    await expect(saveDownload(dl, { filePicker: false, maxBlobSize: MAX_BLOB })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  // 'auto' transfers the stream where the engine can (Chromium, Firefox) and uses messages where it
  // cannot (WebKit); 'messages' runs the MessageChannel path, WebKit's, in every engine.
  it.for(['auto', 'messages'] as const)('saveDownload (%s): the browser gets the whole object, byte for byte, as an attachment', async (mode) => {
    const seen: Array<{ served: ServedDownload; response: Response }> = []
    const dl = await download(key, { signer, keys: kek, rangeSize: 256 * 1024 })
    const saving = saveDownload(dl, { filePicker: false, maxBlobSize: MAX_BLOB, downloadWorker: fetchingFirst(workerFor(mode), seen) })
    // The served URL is known once serve() resolved; wait for the fetch to have been made.
    await expect.poll(() => seen.length).toBe(1)
    const first = seen[0]
    if (first === undefined) throw new Error('serve() was not called')
    const { served, response } = first
    expect(served.url).toMatch(new RegExp(`^${SCOPE}[0-9a-f]{32}$`))
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Length')).toBe(String(SIZE))
    expect(response.headers.get('Content-Type')).toBe('application/octet-stream')
    const disposition = response.headers.get('Content-Disposition') ?? ''
    expect(disposition).toMatch(/^attachment; /)
    expect(disposition).toContain(`filename*=UTF-8''Gr%C3%BC%C3%9Fe%2C%20%22report%22%202024.bin`)
    expect(disposition).toContain('filename="Gr__e, _report_ 2024.bin"')
    if (response.body === null) throw new Error('no body')
    const { received, error } = await drain(response.body)
    expect(error).toBeNull()
    expect(received.length).toBe(SIZE)
    expect(await sha256(received)).toBe(await sha256(data))
    expect(await saving).toEqual({ kind: 'file', via: 'worker' })
    // One fetch per id: the URL is spent (saveDownload's own navigation got this 404 too).
    expect((await frameFetch(served.url)).status).toBe(404)
  })

  // With the default options: Firefox and WebKit have no picker; Chromium's refuses to open outside
  // a click (SecurityError), as it would for an app calling saveDownload after a slow download()
  // resolved, and saveDownload goes on to the worker instead of failing.
  it('with default options, saveDownload falls through to the worker where the picker is missing or refused', async () => {
    const seen: Array<{ served: ServedDownload; response: Response }> = []
    const dl = await download(key, { signer, keys: kek })
    const saving = saveDownload(dl, { maxBlobSize: MAX_BLOB, downloadWorker: fetchingFirst(workerFor('auto'), seen) })
    await expect.poll(() => seen.length).toBe(1)
    const body = seen[0]?.response.body
    if (body === undefined || body === null) throw new Error('no body')
    const { received } = await drain(body)
    expect(await sha256(received)).toBe(await sha256(data))
    expect(await saving).toEqual({ kind: 'file', via: 'worker' })
  })

  it.for(['auto', 'messages'] as const)('a tampered chunk (%s): the body errors before it, and the save fails with TAMPERED', async (mode) => {
    const k = await put(data, 'save-flip', 'flip.bin')
    const remote = await openRemote(k, { signer, keys: kek })
    const damaged = 30
    await s3.flipStoredByte(k, remote.header.length + damaged * (C + 16) + 7)
    const dl = await download(k, { signer, keys: kek, rangeSize: 256 * 1024, concurrency: 2 })
    const served = await workerFor(mode).serve(dl.stream, { name: 'flip.bin', size: dl.object.size })
    const done = settled(served.done)
    const response = await frameFetch(served.url)
    expect(response.status).toBe(200)
    if (response.body === null) throw new Error('no body')
    const { received, error } = await drain(response.body)
    // The fetch failed (the browser's download would show as failed) ...
    expect(error).not.toBeNull()
    // ... after only bytes before the damaged chunk, each of them right.
    expect(received.length).toBeLessThanOrEqual(damaged * C)
    expect(await sha256(received)).toBe(await sha256(data.slice(0, received.length)))
    expect(await done).toMatchObject({ code: 'TAMPERED' })
  })

  it.for(['auto', 'messages'] as const)('a download the browser cancels (%s) ends the save with ABORTED', async (mode) => {
    const dl = await download(key, { signer, keys: kek, rangeSize: 256 * 1024 })
    const served = await workerFor(mode).serve(dl.stream, { name: 'cancel.bin', size: dl.object.size })
    const done = settled(served.done)
    const response = await frameFetch(served.url)
    if (response.body === null) throw new Error('no body')
    const reader = response.body.getReader()
    expect((await reader.read()).done).toBe(false)
    await reader.cancel()
    expect(await done).toMatchObject({ code: 'ABORTED' })
  })

  it('refuses a bad size, and the worker answers an unknown id with 404', async () => {
    const dl = await download(key, { signer, keys: kek })
    await expect(workerFor('auto').serve(dl.stream, { name: 'x', size: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await dl.stream.cancel()
    expect((await frameFetch(`${SCOPE}${'0'.repeat(32)}`)).status).toBe(404)
  })

  // A controlled client's every request reaches the worker's fetch handler, whatever its URL: all
  // but the download URLs must come back from the network as if there were no worker.
  it('passes every request that is not a download URL through to the network, untouched', async () => {
    const direct = await (await fetch(WORKER_URL)).text()
    const through = await frameFetch(WORKER_URL.href)
    expect(through.status).toBe(200)
    expect(await through.text()).toBe(direct)
    for (const url of [`${SCOPE}not-a-download`, `${SCOPE}${'0'.repeat(32)}?again`, `${SCOPE}${'0'.repeat(31)}`]) {
      const response = await frameFetch(url)
      expect(await response.text(), url).not.toContain('This download is no longer available')
    }
  })

  it('a script that cannot be registered fails with WORKER_FAILED', async () => {
    // In a directory of its own, so the failed registration is not the working worker's.
    await expect(installDownloadWorker({ url: new URL('missing/no-such-worker.js', SRC) })).rejects.toMatchObject({ code: 'WORKER_FAILED' })
  })
})
