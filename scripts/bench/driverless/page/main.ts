/**
 * The page of the driverless benchmark (scripts/bench/driverless/server.ts serves it and starts the
 * browser on it). It asks the server for a case, runs it, reports the result with the next request,
 * and so on until the server says `done`. Around the timed part of each case it calls /bench/mark,
 * where the server reads the browser's CPU time and samples its memory. Nothing else controls it.
 */
import { TAG_LENGTH, generateAesKwKey } from '../../../../packages/core/src/index.ts'
import { type SignedRequest, download, httpSigner, openRemote, upload } from '../../../../packages/client/src/index.ts'
import type { BenchCase, CaseResult, RawReply, RawRequest } from '../protocol.ts'

const INPUT = 'bench-input.bin'
/** Part URLs per signParts call, as upload() asks for them. */
const SIGN_BATCH = 20
const signer = httpSigner('/api/s3')
const kek = generateAesKwKey()

async function post(path: string, value: unknown): Promise<Response> {
  return fetch(path, { method: 'POST', body: typeof value === 'string' ? value : JSON.stringify(value), cache: 'no-store' })
}

function log(message: string): void {
  const pre = document.querySelector('#log')
  if (pre !== null) pre.textContent += `${message}\n`
  void post('/bench/log', message)
}

const mark = async (id: string, phase: 'start' | 'end'): Promise<void> => void (await post('/bench/mark', { id, phase }))

/** Runs `work(i)` for i = 0 … count−1 on `lanes` lanes, each taking the next index when free. */
async function inLanes(count: number, lanes: number, work: (index: number, lane: number) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async (id: number): Promise<void> => {
    for (let i = next++; i < count; i = next++) await work(i, id)
  }
  await Promise.all(Array.from({ length: Math.max(1, lanes) }, (_, id) => lane(id)))
}

async function inputFile(): Promise<File> {
  return (await (await navigator.storage.getDirectory()).getFileHandle(INPUT)).getFile()
}

async function inputBlob(size: number): Promise<Blob> {
  const file = await inputFile()
  if (file.size < size) throw new Error(`the input file has ${file.size} bytes, the case needs ${size}`)
  return size === file.size ? file : file.slice(0, size)
}

async function prepare(size: number): Promise<Record<string, number>> {
  const worker = new Worker(new URL('./file-worker.ts', import.meta.url), { type: 'module' })
  try {
    const reply = await new Promise<{ ms: number; error: string | null }>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ ms: number; error: string | null }>) => resolve(e.data)
      worker.onerror = (e) => reject(new Error(`file worker: ${e.message}`))
      worker.postMessage({ name: INPUT, size })
    })
    if (reply.error !== null) throw new Error(`writing the input file: ${reply.error}`)
    return { writeMs: reply.ms }
  } finally {
    worker.terminate()
  }
}

/** Presigned part URLs in batches of 20, as upload() asks for them. */
function partUrls(key: string, uploadId: string, partCount: number): (n: number) => Promise<SignedRequest> {
  const batches = new Map<number, Promise<ReadonlyMap<number, SignedRequest>>>()
  return async (n) => {
    const batch = Math.floor((n - 1) / SIGN_BATCH)
    let signed = batches.get(batch)
    if (signed === undefined) {
      const first = batch * SIGN_BATCH + 1
      signed = signer.signParts(key, uploadId, Array.from({ length: Math.min(SIGN_BATCH, partCount - first + 1) }, (_, i) => first + i))
      batches.set(batch, signed)
    }
    const request = (await signed).get(n)
    if (request === undefined) throw new Error(`no URL for part ${n}`)
    return request
  }
}

/** A multipart upload of `partCount` parts, each sent by `sendPart`; completes it. */
async function multipart(key: string, partCount: number, concurrency: number, sendPart: (n: number, request: SignedRequest, lane: number) => Promise<string>): Promise<void> {
  const uploadId = await signer.createMultipart(key, {}, 'application/octet-stream')
  const url = partUrls(key, uploadId, partCount)
  const parts: Array<{ partNumber: number; etag: string }> = []
  try {
    await inLanes(partCount, concurrency, async (i, lane) => {
      const partNumber = i + 1
      parts.push({ partNumber, etag: await sendPart(partNumber, await url(partNumber), lane) })
    })
  } catch (e) {
    await signer.abort(key, uploadId).catch(() => undefined)
    throw e
  }
  parts.sort((a, b) => a.partNumber - b.partNumber)
  await signer.complete(key, uploadId, parts)
}

/** The plain uploader: the same multipart upload, one fetch PUT per File slice, no sealing. */
async function plainUpload(blob: Blob, key: string, partSize: number, concurrency: number): Promise<void> {
  await multipart(key, Math.max(1, Math.ceil(blob.size / partSize)), concurrency, async (n, { url, headers }) => {
    const response = await fetch(url, { method: 'PUT', body: blob.slice((n - 1) * partSize, n * partSize), ...(headers === undefined ? {} : { headers }) })
    await response.arrayBuffer()
    const etag = response.headers.get('etag')
    if (!response.ok || etag === null) throw new Error(`plain PUT of part ${n}: HTTP ${response.status}`)
    return etag
  })
}

/** `count` of raw-worker.ts, each with one request at a time. */
async function rawWorkers(count: number, file: Blob, chunkSize: number): Promise<{ call(i: number, m: Exclude<RawRequest, { type: 'init' }>): Promise<RawReply>; close(): void }> {
  const workers = Array.from({ length: count }, () => new Worker(new URL('./raw-worker.ts', import.meta.url), { type: 'module' }))
  const waiting = new Map<number, (r: RawReply) => void>()
  for (const w of workers) w.onmessage = (e: MessageEvent<RawReply>) => waiting.get(e.data.seq)?.(e.data)
  const ask = (w: Worker | undefined, m: RawRequest, seq: number): Promise<RawReply> =>
    new Promise((resolve, reject) => {
      if (w === undefined) return reject(new Error('no such worker'))
      waiting.set(seq, (r) => {
        waiting.delete(seq)
        if (r.error === null) resolve(r)
        else reject(new Error(r.error))
      })
      w.postMessage(m)
    })
  // One at a time: every init is answered with seq −1.
  for (const w of workers) await ask(w, { type: 'init', file, chunkSize }, -1)
  return { call: (i, m) => ask(workers[i], m, m.seq), close: () => workers.forEach((w) => w.terminate()) }
}

async function run(c: Exclude<BenchCase, { kind: 'done' }>): Promise<CaseResult> {
  if (c.kind === 'prepare') {
    const detail = await prepare(c.size)
    return { id: c.id, error: null, ms: detail.writeMs ?? 0, bytes: c.size, detail }
  }
  if (c.kind === 'upload') {
    const blob = await inputBlob(c.size)
    const recipients = [await kek]
    await mark(c.id, 'start')
    const t = performance.now()
    if (c.mode === 'sealed') {
      await upload(blob, { signer, recipients, objectKey: c.key, resumeKey: c.key, partSize: c.partSize, concurrency: c.concurrency }).done
    } else {
      await plainUpload(blob, c.key, c.partSize, c.concurrency)
    }
    const ms = performance.now() - t
    await mark(c.id, 'end')
    return { id: c.id, error: null, ms, bytes: blob.size }
  }
  if (c.kind === 'download') {
    const keys = await kek
    await mark(c.id, 'start')
    const t = performance.now()
    let bytes: number
    if (c.mode === 'sealed') {
      const { object, stream } = await download(c.key, { signer, keys, concurrency: c.concurrency, rangeSize: c.rangeSize })
      let received = 0
      const reader = stream.getReader()
      for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.length
      if (received !== object.size) throw new Error(`download() gave ${received} of ${object.size} bytes`)
      bytes = object.size
    } else {
      // The same stored bytes, in ranges of as many chunks as download() asks for, as many at a time.
      const remote = await openRemote(c.key, { signer, keys })
      const { chunkSize } = remote.layout
      const step = (Math.max(chunkSize, Math.floor(c.rangeSize / chunkSize) * chunkSize) / chunkSize) * (chunkSize + TAG_LENGTH)
      const { url, headers } = await signer.signGet(c.key)
      let received = 0
      await inLanes(Math.ceil(remote.storedSize / step), c.concurrency, async (i) => {
        const end = Math.min(remote.storedSize, (i + 1) * step)
        const response = await fetch(url, { headers: { ...headers, range: `bytes=${i * step}-${end - 1}` }, cache: 'no-store' })
        const got = (await response.arrayBuffer()).byteLength
        if (response.status !== 206 || got !== end - i * step) throw new Error(`plain GET of range ${i}: HTTP ${response.status}, ${got} of ${end - i * step} bytes`)
        received += got
      })
      if (received !== remote.storedSize) throw new Error(`plain GETs gave ${received} of ${remote.storedSize} bytes`)
      bytes = remote.size
    }
    const ms = performance.now() - t
    await mark(c.id, 'end')
    return { id: c.id, error: null, ms, bytes }
  }
  const blob = await inputBlob(c.size)
  const workers = await rawWorkers(c.concurrency, blob, c.chunkSize)
  const parts = Math.ceil(blob.size / c.partSize)
  const range = (i: number): { start: number; end: number } => ({ start: i * c.partSize, end: Math.min(blob.size, (i + 1) * c.partSize) })
  let seq = 0
  try {
    if (c.kind === 'raw') {
      // Untimed: the Workers' first calls (module, JIT, WebCrypto's first key use).
      await inLanes(2 * c.concurrency, c.concurrency, async (i, lane) => void (await workers.call(lane, { type: c.op, seq: seq++, ...range(i) })))
      await mark(c.id, 'start')
      const t = performance.now()
      await inLanes(parts, c.concurrency, async (i, lane) => void (await workers.call(lane, { type: c.op, seq: seq++, ...range(i) })))
      const ms = performance.now() - t
      await mark(c.id, 'end')
      return { id: c.id, error: null, ms, bytes: blob.size }
    }
    await mark(c.id, 'start')
    const t = performance.now()
    await multipart(c.key, parts, c.concurrency, async (n, request, lane) => {
      const reply = await workers.call(lane, { type: 'body', seq: seq++, body: c.body, url: request.url, headers: request.headers ?? {}, ...range(n - 1) })
      if (reply.etag === null) throw new Error(`part ${n}: no ETag`)
      return reply.etag
    })
    const ms = performance.now() - t
    await mark(c.id, 'end')
    return { id: c.id, error: null, ms, bytes: blob.size }
  } finally {
    workers.close()
  }
}

async function loop(): Promise<void> {
  let result: CaseResult | null = null
  for (;;) {
    const next = (await (await post('/bench/next', result ?? '')).json()) as BenchCase
    if (next.kind === 'done') break
    try {
      result = await run(next)
    } catch (e) {
      const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
      log(`${next.id} failed: ${message}`)
      result = { id: next.id, error: message, ms: 0, bytes: 0 }
      await mark(next.id, 'end')
    }
  }
  log('done')
}

window.addEventListener('error', (e) => log(`uncaught: ${e.message}`))
window.addEventListener('unhandledrejection', (e) => log(`unhandled rejection: ${e.reason instanceof Error ? e.reason.message : String(e.reason)}`))
loop().catch((e: unknown) => void post('/bench/fail', e instanceof Error ? (e.stack ?? e.message) : String(e)))
