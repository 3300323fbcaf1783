/// <reference lib="webworker" />
/**
 * The benchmark's own Worker, beside the library's pool Workers: the baselines upload() is compared
 * with. `read`: Blob.slice().arrayBuffer() of a range of the file (what any uploader pays);
 * `encrypt`: that read plus raw WebCrypto AES-GCM of every chunk, 4 in flight, outputs dropped (the
 * crypto the library cannot avoid); `body`: the read and raw AES-GCM, then the sealed chunks PUT from
 * one kind of request body (one assembled Uint8Array, a Blob of the chunks, or an OPFS file), so the
 * body the library sends from can be chosen from driverless numbers.
 */
import type { BodyKind, RawReply, RawRequest } from '../protocol.ts'

const DEPTH = 4
let file: Blob | null = null
let chunkSize = 256 * 1024
const key = crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt'])
let counter = 0

/** AES-GCM of every chunk of `plain` (a distinct IV each), in order. */
async function encryptChunks(plain: Uint8Array<ArrayBuffer>, keep: boolean): Promise<ArrayBuffer[]> {
  const k = await key
  const out: ArrayBuffer[] = []
  const inFlight: Array<Promise<ArrayBuffer>> = []
  for (let offset = 0; offset < plain.length; offset += chunkSize) {
    const iv = new Uint8Array(12)
    new DataView(iv.buffer).setUint32(8, counter++)
    if (inFlight.length >= DEPTH) {
      const ct = await inFlight.shift()
      if (keep && ct !== undefined) out.push(ct)
    }
    inFlight.push(crypto.subtle.encrypt({ name: 'AES-GCM', iv }, k, plain.subarray(offset, offset + chunkSize)))
  }
  for (const ct of await Promise.all(inFlight)) if (keep) out.push(ct)
  return out
}

async function read(start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
  if (file === null) throw new Error('raw-worker: no init message')
  return new Uint8Array(await file.slice(start, end).arrayBuffer())
}

interface SyncHandle {
  write(buffer: BufferSource, options: { at: number }): number
  flush(): void
  close(): void
}

async function makeBody(kind: BodyKind, chunks: ArrayBuffer[]): Promise<{ body: Blob | Uint8Array<ArrayBuffer>; release: () => Promise<void> }> {
  if (kind === 'blob' || kind === 'blob-fetch' || kind === 'blob-noprogress') return { body: new Blob(chunks), release: async () => undefined }
  if (kind === 'u8' || kind === 'u8-fetch') {
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
    let at = 0
    for (const c of chunks) {
      out.set(new Uint8Array(c), at)
      at += c.byteLength
    }
    return { body: out, release: async () => undefined }
  }
  const dir = await navigator.storage.getDirectory()
  const name = `body-${crypto.randomUUID()}.part`
  const handle = await dir.getFileHandle(name, { create: true })
  const access = await (handle as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle()
  let at = 0
  for (const c of chunks) at += access.write(c, { at })
  access.flush()
  access.close()
  return { body: await handle.getFile(), release: () => dir.removeEntry(name) }
}

async function put(url: string, headers: Readonly<Record<string, string>>, body: Blob | Uint8Array<ArrayBuffer>, kind: BodyKind): Promise<string | null> {
  if (kind.endsWith('-fetch')) {
    const response = await fetch(url, { method: 'PUT', body, headers })
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`PUT: HTTP ${response.status}`)
    return response.headers.get('etag')
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('PUT', url)
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v)
    if (kind !== 'blob-noprogress') xhr.upload.onprogress = () => undefined // as upload() listens, so the same events are raised
    xhr.onload = () => (xhr.status === 200 ? resolve(xhr.getResponseHeader('etag')) : reject(new Error(`PUT: HTTP ${xhr.status}`)))
    xhr.onerror = () => reject(new Error('PUT: network error'))
    xhr.send(body)
  })
}

async function handle(m: Exclude<RawRequest, { type: 'init' }>): Promise<RawReply> {
  const plain = await read(m.start, m.end)
  if (m.type === 'read') return { seq: m.seq, error: null, bytes: plain.length, etag: null }
  const chunks = await encryptChunks(plain, m.type === 'body')
  if (m.type === 'encrypt') return { seq: m.seq, error: null, bytes: plain.length, etag: null }
  const { body, release } = await makeBody(m.body, chunks)
  chunks.length = 0
  try {
    return { seq: m.seq, error: null, bytes: plain.length, etag: await put(m.url, m.headers, body, m.body) }
  } finally {
    await release()
  }
}

self.onmessage = (event: MessageEvent<RawRequest>): void => {
  const m = event.data
  if (m.type === 'init') {
    file = m.file
    chunkSize = m.chunkSize
    self.postMessage({ seq: -1, error: null, bytes: 0, etag: null } satisfies RawReply)
    return
  }
  handle(m).then(
    (reply) => self.postMessage(reply),
    (e: unknown) => self.postMessage({ seq: m.seq, error: e instanceof Error ? e.message : String(e), bytes: 0, etag: null } satisfies RawReply),
  )
}
