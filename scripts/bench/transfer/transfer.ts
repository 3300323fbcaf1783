/**
 * The in-page half of `pnpm bench:transfer` (scripts/bench-transfer.mjs serves this folder with
 * Vite, the presigning handler at /api/s3, and drives it from headless Chromium). Each function of
 * `window.bucketsealTransfer` runs one measurement and returns its raw timings; the script decides
 * the order, samples memory, deletes objects and prints the tables.
 *
 * The files come from the two <input type=file> of index.html, filled by Playwright's
 * `setInputFiles` with files the script wrote to /tmp: disk-backed Files, as a user's would be.
 */
import { TAG_LENGTH, createObject, generateAesKwKey, planRange } from '../../../packages/core/src/index.ts'
import {
  type DownloadOptions,
  type Runner,
  type SignedRequest,
  download,
  downloadRange,
  httpSigner,
  openRemote,
  planParts,
  upload,
  workerPool,
} from '../../../packages/upload/src/index.ts'
import type {
  DownloadResult,
  DownloadRun,
  FirstByteResult,
  FirstByteRun,
  Input,
  SealOp,
  SealReply,
  SealRequest,
  SealResult,
  SealRun,
  TransferApi,
  UploadResult,
  UploadRun,
} from './types.ts'

/** Part URLs per `signParts` call, as `upload()` asks for them. */
const SIGN_BATCH = 20

const signer = httpSigner('/api/s3')
const kek = generateAesKwKey()

function log(message: string): void {
  console.log(`[transfer] ${message}`)
}

function fileOf(input: Input): File {
  const file = document.querySelector<HTMLInputElement>(`#file-${input}`)?.files?.[0]
  if (file === undefined) throw new Error(`no file in #file-${input}: the script sets it with setInputFiles`)
  return file
}

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000)
}

/** Runs `work(i)` for i = 0 … count−1 on `lanes` lanes, each taking the next index when free. */
async function inLanes(count: number, lanes: number, work: (index: number, lane: number) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async (id: number): Promise<void> => {
    for (let i = next++; i < count; i = next++) await work(i, id)
  }
  await Promise.all(Array.from({ length: Math.max(1, lanes) }, (_, id) => lane(id)))
}

/** The plain uploader: the same multipart upload as `upload()`, without sealing. Returns the part count. */
async function plainUpload(blob: Blob, key: string, partSize: number, concurrency: number): Promise<number> {
  const partCount = Math.max(1, Math.ceil(blob.size / partSize))
  const uploadId = await signer.createMultipart(key, {}, 'application/octet-stream')
  const batches = new Map<number, Promise<ReadonlyMap<number, SignedRequest>>>()
  const requestFor = async (n: number): Promise<SignedRequest> => {
    const batch = Math.floor((n - 1) / SIGN_BATCH)
    let signed = batches.get(batch)
    if (signed === undefined) {
      const first = batch * SIGN_BATCH + 1
      const numbers = Array.from({ length: Math.min(SIGN_BATCH, partCount - first + 1) }, (_, i) => first + i)
      signed = signer.signParts(key, uploadId, numbers)
      batches.set(batch, signed)
    }
    const request = (await signed).get(n)
    if (request === undefined) throw new Error(`no URL for part ${n}`)
    return request
  }
  const parts: Array<{ partNumber: number; etag: string }> = []
  try {
    await inLanes(partCount, concurrency, async (i) => {
      const partNumber = i + 1
      const { url, headers } = await requestFor(partNumber)
      const response = await fetch(url, { method: 'PUT', body: blob.slice(i * partSize, (i + 1) * partSize), ...(headers === undefined ? {} : { headers }) })
      await response.arrayBuffer()
      const etag = response.headers.get('etag')
      if (!response.ok || etag === null) throw new Error(`plain PUT of part ${partNumber}: HTTP ${response.status}`)
      parts.push({ partNumber, etag })
    })
  } catch (e) {
    await signer.abort(key, uploadId).catch(() => undefined)
    throw e
  }
  parts.sort((a, b) => a.partNumber - b.partNumber)
  await signer.complete(key, uploadId, parts)
  return partCount
}

async function uploadRun(run: UploadRun): Promise<UploadResult> {
  const file = fileOf(run.input)
  const blob = run.limit === null ? file : file.slice(0, run.limit)
  const start = performance.now()
  let storedBytes = blob.size
  let partCount: number
  if (run.mode === 'sealed') {
    const task = upload(blob, {
      signer,
      recipients: [await kek],
      objectKey: run.key,
      resumeKey: run.key,
      partSize: run.partSize,
      concurrency: run.concurrency,
    })
    const result = await task.done
    storedBytes = result.size
    partCount = result.partCount
  } else {
    partCount = await plainUpload(blob, run.key, run.partSize, run.concurrency)
  }
  const ms = performance.now() - start
  log(`upload ${run.mode} ×${run.concurrency}: ${(blob.size / 2 ** 20).toFixed(0)} MiB in ${(ms / 1000).toFixed(1)} s = ${mbps(blob.size, ms).toFixed(0)} MB/s`)
  return { key: run.key, ms, plaintextBytes: blob.size, storedBytes, partCount }
}

async function options(extra: Partial<DownloadOptions> = {}): Promise<DownloadOptions> {
  return { signer, keys: await kek, ...extra }
}

/** A ranged GET through a presigned URL, body read and dropped; returns the bytes and when the headers came. */
async function rangedGet(request: SignedRequest, start: number, end: number): Promise<{ bytes: number; headersAt: number }> {
  const response = await fetch(request.url, { headers: { ...request.headers, range: `bytes=${start}-${end - 1}` }, cache: 'no-store' })
  const headersAt = performance.now()
  const body = await response.arrayBuffer()
  if (response.status !== 206 || body.byteLength !== end - start) throw new Error(`plain GET ${start}-${end}: HTTP ${response.status}, ${body.byteLength} bytes`)
  return { bytes: body.byteLength, headersAt }
}

async function downloadRun(run: DownloadRun): Promise<DownloadResult> {
  const start = performance.now()
  let plaintextBytes: number
  let bytesReceived = 0
  if (run.mode === 'sealed') {
    const { object, stream } = await download(run.key, await options({ concurrency: run.concurrency, rangeSize: run.rangeSize }))
    plaintextBytes = object.size
    const reader = stream.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytesReceived += value.length
    }
    if (bytesReceived !== plaintextBytes) throw new Error(`download() gave ${bytesReceived} of ${plaintextBytes} bytes`)
  } else {
    // The same stored bytes in ranges of as many chunks as download() asks for, `concurrency` at a time.
    const remote = await openRemote(run.key, await options())
    const { chunkSize } = remote.layout
    const step = (Math.max(chunkSize, Math.floor(run.rangeSize / chunkSize) * chunkSize) / chunkSize) * (chunkSize + TAG_LENGTH)
    const url = await signer.signGet(run.key)
    plaintextBytes = remote.size
    await inLanes(Math.ceil(remote.storedSize / step), run.concurrency, async (i) => {
      const { bytes } = await rangedGet(url, i * step, Math.min(remote.storedSize, (i + 1) * step))
      bytesReceived += bytes
    })
    if (bytesReceived !== remote.storedSize) throw new Error(`plain download gave ${bytesReceived} of ${remote.storedSize} bytes`)
  }
  const ms = performance.now() - start
  log(`download ${run.mode} ×${run.concurrency}: ${mbps(plaintextBytes, ms).toFixed(0)} MB/s`)
  return { ms, plaintextBytes, bytesReceived }
}

async function firstByteRun(run: FirstByteRun): Promise<FirstByteResult> {
  const opts = await options()
  const opened = await openRemote(run.key, opts)
  const { chunkSize } = opened.layout
  const url = await signer.signGet(run.key)
  const span = Math.ceil(run.size / chunkSize)
  const slots = Math.floor(opened.size / chunkSize) - span
  if (slots < 1) throw new Error('the object is too small for the first-byte run')
  // A fresh chunk-aligned offset for every read, so no read is served from anything the last one warmed.
  const range = (): { start: number; end: number; ctStart: number; ctEnd: number } => {
    const start = Math.floor(Math.random() * slots) * chunkSize
    const end = start + run.size
    const plan = planRange(opened.layout, start, end)
    return { start, end, ctStart: plan.ciphertextStart, ctEnd: plan.ciphertextEnd }
  }
  const cases: Record<keyof FirstByteResult, () => Promise<number>> = {
    rangeOpened: async () => {
      const r = range()
      const t = performance.now()
      await downloadRange(opened, r.start, r.end, opts)
      return performance.now() - t
    },
    rangeWithOpen: async () => {
      const r = range()
      const t = performance.now()
      await downloadRange(await openRemote(run.key, opts), r.start, r.end, opts)
      return performance.now() - t
    },
    plain: async () => {
      const r = range()
      const t = performance.now()
      await rangedGet(url, r.ctStart, r.ctEnd)
      return performance.now() - t
    },
    plainWithSign: async () => {
      const r = range()
      const t = performance.now()
      await rangedGet(await signer.signGet(run.key), r.ctStart, r.ctEnd)
      return performance.now() - t
    },
    plainHeaders: async () => {
      const r = range()
      const t = performance.now()
      return (await rangedGet(url, r.ctStart, r.ctEnd)).headersAt - t
    },
  }
  const names = Object.keys(cases).filter((k): k is keyof FirstByteResult => k in cases)
  const out: Record<keyof FirstByteResult, number[]> = { rangeOpened: [], rangeWithOpen: [], plain: [], plainWithSign: [], plainHeaders: [] }
  // Sample −1 is an untimed warm-up; the order of the cases rotates from one sample to the next.
  for (let s = -1; s < run.samples; s++) {
    for (let c = 0; c < names.length; c++) {
      const name = names[(c + Math.max(s, 0)) % names.length]
      if (name === undefined) continue
      const ms = await cases[name]()
      if (s >= 0) out[name].push(ms)
    }
  }
  return out
}

/** A Worker of seal-worker.ts with one request in flight at a time. */
function sealWorker(): { readonly call: (request: SealRequest) => Promise<number>; readonly close: () => void } {
  const worker = new Worker(new URL('./seal-worker.ts', import.meta.url), { type: 'module', name: 'bench-seal' })
  let waiting: { resolve: (bytes: number) => void; reject: (e: Error) => void } | null = null
  worker.onmessage = (event: MessageEvent<SealReply>) => {
    const w = waiting
    waiting = null
    if (event.data.error === null) w?.resolve(event.data.bytes)
    else w?.reject(new Error(event.data.error))
  }
  worker.onerror = (event) => waiting?.reject(new Error(`seal worker: ${event.message}`))
  return {
    call: (request) =>
      new Promise<number>((resolve, reject) => {
        if (waiting !== null) throw new Error('seal worker is busy')
        waiting = { resolve, reject }
        worker.postMessage(request)
      }),
    close: () => worker.terminate(),
  }
}

async function sealRun(run: SealRun): Promise<SealResult> {
  const file = fileOf('main')
  const { header, key } = await createObject({ recipients: [await kek], plaintextLength: file.size })
  const plan = planParts(file.size, key.chunkSize, header.length, run.partSize)
  const workers = Array.from({ length: run.concurrency }, sealWorker)
  let id = 0
  try {
    await Promise.all(workers.map((w) => w.call({ type: 'init', file, plan, key, header: new Uint8Array(header) })))
    const pass = async (op: SealOp, parts: number): Promise<number> => {
      const start = performance.now()
      await inLanes(parts, workers.length, async (i, lane) => {
        await workers[lane]?.call({ type: 'part', id: id++, op, number: i + 1 })
      })
      return performance.now() - start
    }
    const ops: SealOp[] = ['read', 'digest', 'encrypt', 'seal']
    // Untimed: module loading, JIT and the first slices of the file.
    for (const op of ops) await pass(op, Math.min(plan.partCount, 2 * run.concurrency))
    const mbpsByOp: Record<SealOp, number[]> = { read: [], digest: [], encrypt: [], seal: [] }
    for (let r = 0; r < run.runs; r++) {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[(i + r) % ops.length]
        if (op === undefined) continue
        mbpsByOp[op].push(mbps(file.size, await pass(op, plan.partCount)))
      }
      log(`seal ×${run.concurrency} run ${r + 1}: ${ops.map((op) => `${op} ${mbpsByOp[op].at(-1)?.toFixed(0)}`).join(', ')} MB/s`)
    }
    return { partCount: plan.partCount, plaintextBytes: file.size, mbps: mbpsByOp }
  } finally {
    for (const w of workers) w.close()
  }
}

let idle: Runner | null = null

async function idlePool(action: 'open' | 'close', pool: { readonly workers: number }): Promise<void> {
  idle?.close()
  idle = null
  if (action === 'close') return
  const runner = workerPool(pool.workers)
  idle = runner
  // One tiny job per Worker, so every Worker has loaded its module before the script samples.
  const empty = new Blob([])
  const plan = planParts(0, 65536, 0)
  await Promise.all(Array.from({ length: pool.workers }, () => runner.digestPart(empty, plan, 1)))
}

const api: TransferApi = {
  fileSize: (input: Input) => fileOf(input).size,
  uploadRun,
  downloadRun,
  firstByteRun,
  sealRun,
  idlePool,
}

declare global {
  interface Window {
    bucketsealTransfer?: TransferApi
  }
}

window.bucketsealTransfer = api
