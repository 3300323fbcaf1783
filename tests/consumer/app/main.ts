/**
 * The scratch app's page: it imports the packed packages as an app would, and puts the test
 * functions on `window.consumer` for the Node-side test (consumer.test.ts) to call. Each function
 * reports what it saw instead of throwing, so a failing test shows the whole picture.
 */
import { BucketsealError, TamperedError, generateAesKwKey } from '@bucketseal/core'
import { type Runner, TransferError, type UploadTask, download, downloadRange, httpSigner, openRemote, upload, workerPool } from '@bucketseal/client'
import { Bucketseal, type BucketsealBody } from '@bucketseal/uppy'
import Uppy, { type Meta } from '@uppy/core'
import { wrap } from 'comlink'
import type { OwnWorkerApi } from './own-worker.ts'
import type { ConsumerApi, ErrorReport, OwnWorkerReport, RoundTripReport, RunOptions, Settled, StoredObject, TamperReport, UppyReport, WorkerUrls } from './protocol.ts'

const KiB = 1024
const MiB = 1024 * KiB
/** How long a step may take before the page reports `timeout` rather than hanging the test. */
const GUARD_MS = 60_000
/** For a Worker that cannot load: the upload must fail, and well within this. */
const BROKEN_WORKER_GUARD_MS = 15_000

const signer = httpSigner('/api/s3')
let kek: Promise<CryptoKey> | null = null
/** One AES-KW key per page, so an object uploaded by one call can be read by the next. */
const key = (): Promise<CryptoKey> => (kek ??= generateAesKwKey())

function describe(e: unknown): ErrorReport {
  const isObject = typeof e === 'object' && e !== null
  const field = (name: string): unknown => (isObject && name in e ? Reflect.get(e, name) : undefined)
  const name = field('name')
  const message = field('message')
  const code = field('code')
  const ctor = isObject ? Reflect.get(e, 'constructor') : undefined
  return {
    isError: e instanceof Error,
    name: typeof name === 'string' ? name : '',
    message: typeof message === 'string' ? message : String(e),
    code: typeof code === 'string' ? code : null,
    constructorName: typeof ctor === 'function' ? ctor.name : typeof e,
    instanceOfBucketsealError: e instanceof BucketsealError,
    instanceOfTamperedError: e instanceof TamperedError,
    instanceOfTransferError: e instanceof TransferError,
  }
}

async function settle<T>(promise: Promise<T>, guardMs = GUARD_MS, onReject?: (e: unknown) => void): Promise<Settled<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const guard = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), guardMs)))
  try {
    const outcome = await Promise.race([promise.then((value) => ({ value })), guard])
    if (outcome === 'timeout') return { status: 'timeout', afterMs: guardMs }
    return { status: 'resolved', value: outcome.value }
  } catch (e) {
    onReject?.(e)
    return { status: 'rejected', error: describe(e) }
  } finally {
    clearTimeout(timer)
  }
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('')
}

function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length)
  // getRandomValues fills at most 64 KiB per call.
  for (let i = 0; i < length; i += 64 * KiB) crypto.getRandomValues(out.subarray(i, Math.min(i + 64 * KiB, length)))
  return out
}

async function sha256(data: BufferSource): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', data)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * The pool for an upload or download: the package's default (the bundler resolves its Worker URL),
 * or, for bundlers without Worker-URL support, a pool of the Worker the app built itself.
 */
function poolFor(workers: WorkerUrls | null, size: number): Runner | undefined {
  if (workers === null) return undefined
  const url = workers.pool
  return workerPool(size, () => new Worker(url, { type: 'module' }))
}

function ownWorker(workers: WorkerUrls | null): Worker {
  // The bundler sees this literal pattern and builds own-worker.ts as a Worker chunk.
  if (workers === null) return new Worker(new URL('./own-worker.ts', import.meta.url), { type: 'module' })
  return new Worker(workers.own, { type: 'module' })
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const blob = await new Response(stream).blob()
  return new Uint8Array(await blob.arrayBuffer())
}

/** Scenario a: 12 MiB in 5 MiB parts, paused at the first progress report and resumed; then read back. */
async function uploadRoundTrip({ prefix, workers }: RunOptions): Promise<RoundTripReport> {
  const data = randomBytes(12 * MiB)
  const originalSha256 = await sha256(data)
  const blob = new Blob([data], { type: 'application/octet-stream' })
  let task: UploadTask | null = null
  let progressReports = 0
  let pausedAfterFirstReport: boolean | null = null
  let resumed = false
  const runner = poolFor(workers, 2)
  try {
    task = upload(blob, {
      signer,
      recipients: [await key()],
      partSize: 5 * MiB,
      objectKey: `${prefix}roundtrip-${randomHex(4)}`,
      resumeKey: `roundtrip-${randomHex(8)}`,
      ...(runner === undefined ? {} : { runner }),
      onProgress() {
        progressReports++
        if (progressReports !== 1 || task === null) return
        const t = task
        t.pause()
        pausedAfterFirstReport = t.paused
        // Long enough for the parts in flight to be abandoned before sending resumes.
        setTimeout(() => {
          resumed = true
          t.resume()
        }, 300)
      },
    })
    const done = await settle(task.done.then((r) => ({ objectKey: r.objectKey, partCount: r.partCount, plaintextSize: r.plaintextSize })))
    let downloaded: RoundTripReport['downloaded'] = null
    if (done.status === 'resolved') {
      const objectKey = done.value.objectKey
      const readBack = async (): Promise<{ sha256: string; length: number }> => {
        const { stream } = await download(objectKey, { signer, keys: await key(), ...(runner === undefined ? {} : { runner }) })
        const bytes = await readAll(stream)
        return { sha256: await sha256(bytes), length: bytes.length }
      }
      downloaded = await settle(readBack())
    }
    return { progressReports, pausedAfterFirstReport, resumed, done, originalSha256, downloaded }
  } finally {
    runner?.close()
  }
}

/** Scenario b, first half: a small object of three chunks (one PUT), and where its chunks start. */
async function uploadSmall({ prefix, workers }: RunOptions): Promise<Settled<StoredObject>> {
  const runner = poolFor(workers, 1)
  const run = async (): Promise<StoredObject> => {
    const task = upload(new Blob([randomBytes(600 * KiB)]), {
      signer,
      recipients: [await key()],
      objectKey: `${prefix}small-${randomHex(4)}`,
      resumeKey: `small-${randomHex(8)}`,
      ...(runner === undefined ? {} : { runner }),
    })
    const { objectKey } = await task.done
    const remote = await openRemote(objectKey, { signer, keys: await key() })
    return { objectKey, headerLength: remote.header.length }
  }
  try {
    return await settle(run())
  } finally {
    runner?.close()
  }
}

/** Scenario b, second half: a ranged read of the tampered object, in a Worker pool and inline. */
async function rangeAfterTamper({ objectKey, workers }: RunOptions & { readonly objectKey: string }): Promise<TamperReport> {
  const keys = await key()
  // downloadRange runs inline unless given a runner: give it a pool, so the error crosses a Worker.
  const runner = poolFor(workers, 1) ?? workerPool(1)
  try {
    const pool = await settle(downloadRange(objectKey, 0, 1000, { signer, keys, runner }).then((b) => b.length))
    const inline = await settle(downloadRange(objectKey, 0, 1000, { signer, keys }).then((b) => b.length))
    return { pool, inline }
  } finally {
    runner.close()
  }
}

/** Scenario c: the app's own comlink Worker, after the Bucketseal pool was used on this page. */
async function ownWorkerError({ prefix, workers }: RunOptions): Promise<OwnWorkerReport> {
  const runner = poolFor(workers, 1)
  const poolUpload = await settle(
    (async () => {
      const task = upload(new Blob([randomBytes(KiB)]), {
        signer,
        recipients: [await key()],
        objectKey: `${prefix}own-${randomHex(4)}`,
        resumeKey: `own-${randomHex(8)}`,
        ...(runner === undefined ? {} : { runner }),
      })
      return (await task.done).objectKey
    })(),
  )
  runner?.close()
  const worker = ownWorker(workers)
  const api = wrap<OwnWorkerApi>(worker)
  let rejectedWithType: string | null = null
  let rejectedWithError: boolean | null = null
  try {
    const ping = await settle(api.ping())
    const boom = await settle(api.boom(), GUARD_MS, (e) => {
      rejectedWithType = typeof e
      rejectedWithError = e instanceof Error
    })
    return { poolUpload, ping, boom, rejectedWithType, rejectedWithError }
  } finally {
    worker.terminate()
  }
}

/** Scenario d: a pool whose Worker script does not exist; the upload must fail, not hang. */
async function brokenWorkerUpload({ prefix }: RunOptions): Promise<Settled<string>> {
  // By URL, as the esbuild recipe does: the error can then name the script.
  const runner = workerPool(1, '/does-not-exist.js')
  try {
    const task = upload(new Blob([randomBytes(KiB)]), {
      signer,
      recipients: [await key()],
      objectKey: `${prefix}broken-${randomHex(4)}`,
      resumeKey: `broken-${randomHex(8)}`,
      runner,
    })
    const outcome = await settle(task.done.then((r) => r.objectKey), BROKEN_WORKER_GUARD_MS)
    // Not awaited: cancel() waits for `done`, which a hung pool never settles (closing it does).
    if (outcome.status === 'timeout') void task.cancel()
    return outcome
  } finally {
    runner.close()
  }
}

/** Scenario e: two files (one multipart) through Uppy's upload() with the Bucketseal plugin, each read back. */
async function uppyUpload({ prefix, workers }: RunOptions): Promise<UppyReport> {
  const runner = poolFor(workers, 2)
  const uppy = new Uppy<Meta, BucketsealBody>().use(Bucketseal, {
    signer,
    recipients: [await key()],
    keyPrefix: prefix,
    partSize: 5 * MiB,
    concurrency: 2,
    ...(runner === undefined ? {} : { runner }),
  })
  let progressEvents = 0
  uppy.on('upload-progress', () => progressEvents++)
  try {
    const data = new Map([
      ['uppy-multipart.bin', randomBytes(6 * MiB)],
      ['uppy-small.bin', randomBytes(KiB)],
    ])
    for (const [name, bytes] of data) uppy.addFile({ name, type: 'application/octet-stream', data: new Blob([bytes]) })
    const uploaded = await settle(
      uppy.upload().then((r) => ({ successful: r?.successful?.length ?? 0, failed: (r?.failed ?? []).map((f) => `${f.name}: ${f.error ?? ''}`) })),
    )
    const files: Array<UppyReport['files'][number]> = []
    for (const [name, bytes] of data) {
      const objectKey = uppy.getFiles().find((f) => f.name === name)?.response?.body?.key
      const readBack = async (): Promise<{ sha256: string; length: number }> => {
        const { stream } = await download(objectKey ?? '', { signer, keys: await key(), ...(runner === undefined ? {} : { runner }) })
        const back = await readAll(stream)
        return { sha256: await sha256(back), length: back.length }
      }
      files.push({ name, originalSha256: await sha256(bytes), downloaded: objectKey === undefined ? null : await settle(readBack()) })
    }
    return { progressEvents, uploaded, files }
  } finally {
    uppy.destroy()
    runner?.close()
  }
}

const api: ConsumerApi = { uploadRoundTrip, uploadSmall, rangeAfterTamper, ownWorkerError, brokenWorkerUpload, uppyUpload }
window.consumer = api
