// Reload and recover: an app page (recover-page.ts, in an iframe) starts an upload from Uppy's
// Dashboard, the page is reloaded in the middle of it, and Golden Retriever brings the file back;
// resuming from the Dashboard sends only the part the store does not have, after Bucketseal's file
// checks, and the object decrypts to the file.
import { generateAesKwKey } from '@bucketseal/core'
import { download, pendingUploads, uploadStore } from '@bucketseal/client'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { bytes, readAll, s3, sha256, signer, testKey } from '../../client/test/s3.js'
import { PAGE_READY, type RecoverConfig, type RecoverPage } from './recover-app.js'

const MiB = 1024 * 1024
const WAIT = { timeout: 50_000, interval: 25 }

let frame: HTMLIFrameElement | null = null
let pageUrl: string | null = null
beforeEach(async () => {
  await s3.resetProxyStats()
})
afterEach(async () => {
  await s3.setFaults([])
  frame?.remove()
  frame = null
  if (pageUrl !== null) URL.revokeObjectURL(pageUrl)
  pageUrl = null
})

/** Resolves when the page in `frame` has loaded and asked for its configuration, then sends it. */
function configure(target: HTMLIFrameElement, config: RecoverConfig): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (event: MessageEvent): void => {
      if (event.source !== target.contentWindow || event.data !== PAGE_READY) return
      window.removeEventListener('message', onMessage)
      target.contentWindow?.postMessage(config, location.origin)
      resolve()
    }
    window.addEventListener('message', onMessage)
  })
}

/** A window with its own realm's constructors (a frame's `contentWindow` is typed as a bare `Window`). */
type Realm = Window & typeof globalThis

function isRealm(w: Window | null | undefined): w is Realm {
  return w !== null && w !== undefined && 'DataTransfer' in w && 'DragEvent' in w && 'File' in w
}

function page(): { win: Realm; state: RecoverPage } {
  const win = frame?.contentWindow
  const state = win?.recoverPage
  if (!isRealm(win) || state === undefined) throw new Error('The app page has not started.')
  return { win, state }
}

function started(): boolean {
  return frame?.contentWindow?.recoverPage !== undefined
}

/** Golden Retriever has saved the file (its blob, and the upload in its state) for after a reload. */
async function goldenRetrieverSaved(uppyId: string, fileId: string): Promise<boolean> {
  // Read Golden Retriever's own database (uppy-blobs: the blobs in `files`, the state in
  // `metadata`): waiting on it, rather than on a delay, is what makes the reload land after its
  // throttled save.
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open('uppy-blobs')
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
  try {
    if (!db.objectStoreNames.contains('files') || !db.objectStoreNames.contains('metadata')) return false
    const read = <T,>(store: string, query: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> =>
      new Promise((resolve, reject) => {
        const request = query(db.transaction(store).objectStore(store))
        request.onsuccess = () => resolve(request.result)
        request.onerror = () => reject(request.error)
      })
    const blobs: unknown[] = await read('files', (s) => s.getAll())
    const hasBlob = blobs.some((b) => typeof b === 'object' && b !== null && 'fileID' in b && b.fileID === fileId)
    const record: unknown = await read('metadata', (s) => s.get(uppyId))
    if (!hasBlob || typeof record !== 'object' || record === null || !('metadata' in record) || typeof record.metadata !== 'string') return false
    const saved: unknown = JSON.parse(record.metadata)
    const text = JSON.stringify(saved)
    return text.includes(fileId) && text.includes('"uploadStarted"') && /"currentUploads":\{"[^"]/.test(text)
  } finally {
    db.close()
  }
}

it('a page reloaded mid-upload gets the file back with Golden Retriever and sends only the missing part', async () => {
  const kek = await generateAesKwKey()
  const keyPrefix = `${testKey('uppy-recover')}/`
  const config: RecoverConfig = { id: `recover-${Math.random().toString(36).slice(2)}`, kek, keyPrefix }
  const data = bytes(9 * MiB, 21)
  // The second part never gets an answer: the reload comes while it hangs, after part 1 is stored.
  await s3.setFaults([{ method: 'PUT', match: 'partNumber=2', action: 'stall', times: 1 }])

  // The page's address is a blob: URL of this origin (the same IndexedDB), with a <base> so that
  // Vite's root-relative module paths and the presigner's '/api/s3' resolve against the test server.
  const html = `<!doctype html><html><head><base href="${location.origin}/"></head><body><script type="module">import '/packages/uppy/test/recover-page.ts'</script></body></html>`
  pageUrl = URL.createObjectURL(new Blob([html], { type: 'text/html' }))
  frame = document.createElement('iframe')
  frame.style.width = '800px'
  frame.style.height = '500px'
  const ready = configure(frame, config)
  frame.src = pageUrl
  document.body.append(frame)
  await ready
  await expect.poll(started, WAIT).toBe(true)

  // Drop the file on the page's Dashboard (objects of its own realm, as its own drop would make).
  const { win, state } = page()
  const transfer = new win.DataTransfer()
  transfer.items.add(new win.File([data], 'recover.bin', { type: 'application/octet-stream', lastModified: 1_700_000_000_000 }))
  const target = win.document.querySelector('.uppy-Dashboard-inner')
  target?.dispatchEvent(new win.DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: transfer }))
  target?.dispatchEvent(new win.DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: transfer }))
  await expect.poll(() => state.uppy.getFiles().length, WAIT).toBe(1)
  const fileId = state.uppy.getFiles()[0]?.id ?? ''
  win.document.querySelector<HTMLElement>('.uppy-StatusBar-actionBtn--upload')?.click()

  // Part 1 is stored (Bucketseal recorded it), part 2 hangs, and Golden Retriever has saved the file.
  const resumeKey = `uppy/${config.id}/${fileId}`
  const mine = async () => (await pendingUploads(uploadStore())).find((p) => p.resumeKey === resumeKey)
  await expect.poll(async () => (await mine())?.partsDone, WAIT).toBe(1)
  await expect.poll(async () => (await s3.proxyStats()).faults, WAIT).toBe(1)
  await expect.poll(() => goldenRetrieverSaved(config.id, fileId), WAIT).toBe(true)
  expect(await s3.pendingMultipartUploads(keyPrefix)).toBe(1)

  // Reload the app page.
  const reloaded = configure(frame, config)
  win.location.reload()
  await reloaded
  await expect.poll(started, WAIT).toBe(true)
  const after = page()
  expect(after.state).not.toBe(state)
  // Golden Retriever restored the file with its contents (not a ghost).
  await expect.poll(() => after.state.uppy.getFiles().map((f) => [f.id, f.isGhost, f.data?.size]), WAIT).toEqual([[fileId, false, data.length]])
  await expect.poll(() => after.win.document.querySelector('.uppy-StatusBar-actionBtn--upload') !== null, WAIT).toBe(true)
  after.win.document.querySelector<HTMLElement>('.uppy-StatusBar-actionBtn--upload')?.click()

  await expect.poll(() => after.state.events.length, WAIT).toBe(1)
  const event = after.state.events[0]
  if (event?.type !== 'success') throw new Error(`The resumed upload failed: ${JSON.stringify(event)}`)
  // One part sent after the reload: part 1 came from the store, checked against the file first.
  expect(event.body).toMatchObject({ partCount: 2, partsSent: 1, plaintextSize: data.length })
  expect(event.body.key.startsWith(keyPrefix)).toBe(true)
  const { object, stream } = await download(event.body.key, { signer, keys: kek })
  expect(object.metadata?.name).toBe('recover.bin')
  expect(await sha256(await readAll(stream))).toBe(await sha256(data))
  expect(await s3.pendingMultipartUploads(keyPrefix)).toBe(0)
  expect(await mine()).toBeUndefined()
})
