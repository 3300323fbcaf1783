/**
 * The in-page half of `pnpm bench` (scripts/bench.mjs serves this file with Vite and calls
 * `window.bucketsealBench.run(config)` from headless Chromium). Measures WebCrypto's raw AES-GCM
 * throughput next to Bucketseal's one-shot, streaming and Blob APIs at several chunk sizes.
 *
 * Throughput is plaintext bytes / wall time, in MB/s with MB = 1e6 bytes; each number is the
 * median of `runs` runs. Runs are interleaved (round 1 of every column, then round 2, …) so that a
 * burst of load from elsewhere on the machine spreads over columns instead of hitting one; one
 * untimed round of every column comes first.
 */
import {
  DEFAULT_CHUNK_SIZE,
  decrypt,
  decryptStream,
  encrypt,
  encryptBlob,
  encryptStream,
  generateAesKwKey,
} from '../../packages/core/src/index.ts'

/** What the page measures, sent by scripts/bench.mjs. */
export interface BenchConfig {
  /** Plaintext bytes. */
  readonly size: number
  /** Chunk sizes to measure (powers of two, 1 KiB to 16 MiB). */
  readonly chunkSizes: readonly number[]
  /** Runs per cell; the median is reported. */
  readonly runs: number
  /** Bytes per piece fed into encryptStream/decryptStream. */
  readonly pieceSize: number
  /** Calls in flight for the "raw, parallel" ceiling. */
  readonly rawDepth: number
  /** Passed as `concurrency` to the streaming and Blob APIs; null = the library default. */
  readonly concurrency: number | null
}

export const COLUMNS = [
  'rawEncSeq',
  'rawEncPar',
  'rawEncCopy',
  'rawDecSeq',
  'rawDecPar',
  'streamEnc',
  'streamDec',
  'oneshotEnc',
  'oneshotDec',
  'blobEnc',
] as const
export type Column = (typeof COLUMNS)[number]

function byColumn<T>(f: (column: Column) => T): Record<Column, T> {
  return {
    rawEncSeq: f('rawEncSeq'),
    rawEncPar: f('rawEncPar'),
    rawEncCopy: f('rawEncCopy'),
    rawDecSeq: f('rawDecSeq'),
    rawDecPar: f('rawDecPar'),
    streamEnc: f('streamEnc'),
    streamDec: f('streamDec'),
    oneshotEnc: f('oneshotEnc'),
    oneshotDec: f('oneshotDec'),
    blobEnc: f('blobEnc'),
  }
}

/** The raw-encrypt columns: the ceiling the summary compares against. */
export const RAW_ENCRYPT_COLUMNS: readonly Column[] = ['rawEncSeq', 'rawEncPar']
/** The raw-decrypt columns, the ceiling for the decrypting APIs. */
export const RAW_DECRYPT_COLUMNS: readonly Column[] = ['rawDecSeq', 'rawDecPar']

export interface Cell {
  /** MB/s (1e6 bytes per second) of each run, in run order. */
  readonly runs: readonly number[]
  readonly median: number
}

export interface Row {
  readonly chunkSize: number
  readonly cells: Readonly<Record<Column, Cell>>
}

/** One library column against the best raw cell of its direction. */
export interface Ratio {
  readonly column: Column
  /** The library column's MB/s at the default chunk size. */
  readonly mbps: number
  /** The fastest raw cell of this direction over every chunk size measured, and the share of it. */
  readonly bestRaw: { readonly column: Column; readonly chunkSize: number; readonly mbps: number }
  readonly ratio: number
  /** The faster raw cell of this direction at the default chunk size, and the share of it. */
  readonly rawAtDefault: number
  readonly ratioSameChunk: number
  /** The share of the best raw cell the issue asks for (null: none set for this column). */
  readonly target: number | null
}

export interface Summary {
  readonly defaultChunkSize: number
  /** encryptStream MB/s at the default chunk size. */
  readonly streamEncrypt: number
  /** The fastest raw-encrypt cell of this run. */
  readonly bestRaw: { readonly column: Column; readonly chunkSize: number; readonly mbps: number }
  /** streamEncrypt / bestRaw.mbps: the number the target applies to. */
  readonly ratio: number
  /** The faster raw-encrypt cell at the default chunk size, and streamEncrypt as a share of it. */
  readonly rawAtDefault: number
  readonly ratioSameChunk: number
  readonly target: number
  readonly met: boolean
  /** encryptStream, encrypt, decryptStream and decrypt, each against its direction's raw cells. */
  readonly ratios: readonly Ratio[]
}

export interface BenchResult {
  readonly config: BenchConfig
  readonly userAgent: string
  readonly hardwareConcurrency: number
  readonly defaultChunkSize: number
  readonly rows: readonly Row[]
  /** Null when the default chunk size was not measured. */
  readonly summary: Summary | null
  readonly seconds: number
}

const TARGET = 0.9
const MAX_RANDOM = 65536 // crypto.getRandomValues fills at most 64 KiB per call
const TAG = 16

function log(message: string): void {
  console.log(`[bench] ${message}`)
}

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000)
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const hi = sorted[mid] ?? Number.NaN
  if (sorted.length % 2 === 1) return hi
  return ((sorted[mid - 1] ?? Number.NaN) + hi) / 2
}

function label(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : `${bytes / 1024} KiB`
}

function randomBuffer(size: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(size)
  for (let offset = 0; offset < size; offset += MAX_RANDOM) {
    crypto.getRandomValues(data.subarray(offset, Math.min(offset + MAX_RANDOM, size)))
  }
  return data
}

/** A distinct 96-bit IV per call, as Bucketseal does (a counter; the raw rows never decrypt with another). */
function iv(counter: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(12)
  new DataView(bytes.buffer).setUint32(8, counter)
  return bytes
}

function gcm(counter: number): AesGcmParams {
  return { name: 'AES-GCM', iv: iv(counter), tagLength: 128 }
}

/** Raw ceiling A: one `subtle.encrypt` per chunk, each awaited before the next. Keeps the ciphertexts. */
async function rawEncryptSequential(key: CryptoKey, data: Uint8Array<ArrayBuffer>, chunkSize: number): Promise<ArrayBuffer[]> {
  const out: ArrayBuffer[] = []
  for (let offset = 0, i = 0; offset < data.length; offset += chunkSize, i++) {
    out.push(await crypto.subtle.encrypt(gcm(i), key, data.subarray(offset, offset + chunkSize)))
  }
  return out
}

/** Raw ceiling B: `depth` calls in flight; results are taken in order and dropped. */
async function rawEncryptParallel(key: CryptoKey, data: Uint8Array<ArrayBuffer>, chunkSize: number, depth: number): Promise<void> {
  const inFlight: Promise<ArrayBuffer>[] = []
  for (let offset = 0, i = 0; offset < data.length; offset += chunkSize, i++) {
    if (inFlight.length >= depth) await inFlight.shift()
    inFlight.push(crypto.subtle.encrypt(gcm(i), key, data.subarray(offset, offset + chunkSize)))
  }
  while (inFlight.length > 0) await inFlight.shift()
}

/**
 * Raw ceiling for a one-shot encrypt: as A, but each ciphertext copied into one new buffer of the
 * whole object's size, which a one-shot API must return. Its gap to A is the cost of that buffer
 * (first touch of fresh pages, and the copy), which no chunk pipeline can avoid.
 */
async function rawEncryptIntoOne(key: CryptoKey, data: Uint8Array<ArrayBuffer>, chunkSize: number): Promise<Uint8Array> {
  const count = Math.max(1, Math.ceil(data.length / chunkSize))
  const out = new Uint8Array(data.length + count * TAG)
  for (let offset = 0, i = 0, at = 0; offset < data.length; offset += chunkSize, i++) {
    const sealed = new Uint8Array(await crypto.subtle.encrypt(gcm(i), key, data.subarray(offset, offset + chunkSize)))
    out.set(sealed, at)
    at += sealed.length
  }
  return out
}

/** Raw decrypt with `depth` calls in flight, of raw ceiling A's output; results taken in order. */
async function rawDecryptParallel(key: CryptoKey, chunks: readonly ArrayBuffer[], depth: number): Promise<number> {
  let total = 0
  const inFlight: Promise<ArrayBuffer>[] = []
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]
    if (chunk === undefined) throw new Error('missing chunk')
    if (inFlight.length >= depth) total += (await inFlight.shift())?.byteLength ?? 0
    inFlight.push(crypto.subtle.decrypt(gcm(i), key, chunk))
  }
  while (inFlight.length > 0) total += (await inFlight.shift())?.byteLength ?? 0
  return total
}

/** Raw decrypt, sequential, of raw ceiling A's output. */
async function rawDecryptSequential(key: CryptoKey, chunks: readonly ArrayBuffer[]): Promise<number> {
  let total = 0
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]
    if (chunk === undefined) throw new Error('missing chunk')
    total += (await crypto.subtle.decrypt(gcm(i), key, chunk)).byteLength
  }
  return total
}

/** A stream of `data` in `piece`-byte views (no copies), like a network body or file stream. */
function piecesOf(data: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let offset = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) {
        controller.close()
        return
      }
      controller.enqueue(data.subarray(offset, offset + piece))
      offset += piece
    },
  })
}

/** Consumes a stream, drops its bytes, returns how many there were. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let total = 0
  await stream.pipeTo(
    new WritableStream<Uint8Array>({
      write(chunk) {
        total += chunk.length
      },
    }),
  )
  return total
}

/** Consumes a stream into one buffer (untimed: builds the input of the decryptStream rows). */
async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let total = 0
  await stream.pipeTo(
    new WritableStream<Uint8Array>({
      write(chunk) {
        parts.push(chunk)
        total += chunk.length
      },
    }),
  )
  const out = new Uint8Array(total)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function expect(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: got ${actual} bytes, expected ${expected}`)
}

async function time(run: () => Promise<void>): Promise<number> {
  const start = performance.now()
  await run()
  return performance.now() - start
}

/** Runs the benchmark described by `config` and returns every run's throughput. */
export async function run(config: BenchConfig): Promise<BenchResult> {
  const started = performance.now()
  const { size, pieceSize, rawDepth } = config
  const streamOptions = config.concurrency === null ? {} : { concurrency: config.concurrency }
  log(`filling ${label(size)} with random bytes`)
  const data = randomBuffer(size)
  const blob = new Blob([data])
  const kek = await generateAesKwKey()
  const rawKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
  const recipients = [kek]

  const rows: Row[] = []
  for (const chunkSize of config.chunkSizes) {
    const chunks = Math.max(1, Math.ceil(size / chunkSize))
    // Untimed inputs for the decrypt columns, checked once so a broken build cannot post numbers.
    const streamSealed = await collect(piecesOf(data, pieceSize).pipeThrough(encryptStream({ recipients, chunkSize, ...streamOptions })))
    const oneshotSealed = await encrypt(data, { recipients, chunkSize })
    if (!equal(await decrypt(oneshotSealed, kek), data)) throw new Error(`round trip failed at ${label(chunkSize)}`)
    const streamHeader = streamSealed.length - size - chunks * TAG
    const blobLength = oneshotSealed.length

    let rawSealed: ArrayBuffer[] = []
    const cases: Record<Column, () => Promise<void>> = {
      rawEncSeq: async () => {
        rawSealed = await rawEncryptSequential(rawKey, data, chunkSize)
      },
      rawEncPar: () => rawEncryptParallel(rawKey, data, chunkSize, rawDepth),
      rawEncCopy: async () => expect('raw encrypt into one buffer', (await rawEncryptIntoOne(rawKey, data, chunkSize)).length, size + chunks * TAG),
      rawDecSeq: async () => expect('raw decrypt', await rawDecryptSequential(rawKey, rawSealed), size),
      rawDecPar: async () => expect('raw decrypt ×N', await rawDecryptParallel(rawKey, rawSealed, rawDepth), size),
      streamEnc: async () =>
        expect(
          'encryptStream',
          await drain(piecesOf(data, pieceSize).pipeThrough(encryptStream({ recipients, chunkSize, ...streamOptions }))),
          streamHeader + size + chunks * TAG,
        ),
      streamDec: async () =>
        expect('decryptStream', await drain(piecesOf(streamSealed, pieceSize).pipeThrough(decryptStream(kek, streamOptions))), size),
      oneshotEnc: async () => {
        await encrypt(data, { recipients, chunkSize })
      },
      oneshotDec: async () => expect('decrypt', (await decrypt(oneshotSealed, kek)).length, size),
      blobEnc: async () => expect('encryptBlob', await drain(encryptBlob(blob, { recipients, chunkSize, ...streamOptions })), blobLength),
    }

    const samples = byColumn((): number[] => [])
    // One untimed round before the first chunk size: JIT, heap growth and first-use costs.
    const warmup = rows.length === 0 ? 1 : 0
    for (let round = -warmup; round < config.runs; round++) {
      for (const column of COLUMNS) {
        const ms = await time(cases[column])
        if (round >= 0) samples[column].push(mbps(size, ms))
      }
    }
    rawSealed = []
    const cells = byColumn((c): Cell => ({ runs: samples[c], median: median(samples[c]) }))
    rows.push({ chunkSize, cells })
    log(`${label(chunkSize)}: ${COLUMNS.map((c) => `${c} ${cells[c].median.toFixed(0)}`).join(', ')}`)
  }

  return {
    config,
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    defaultChunkSize: DEFAULT_CHUNK_SIZE,
    rows,
    summary: summarize(rows),
    seconds: (performance.now() - started) / 1000,
  }
}

/** The fastest cell of `columns` over every row, and the faster of them at `at`. */
function bestOf(rows: readonly Row[], columns: readonly Column[], at: Row): { best: Ratio['bestRaw']; atDefault: number } | null {
  let best: Ratio['bestRaw'] | null = null
  for (const row of rows) {
    for (const column of columns) {
      const value = row.cells[column].median
      if (best === null || value > best.mbps) best = { column, chunkSize: row.chunkSize, mbps: value }
    }
  }
  if (best === null) return null
  return { best, atDefault: Math.max(...columns.map((c) => at.cells[c].median)) }
}

const TARGETS: Partial<Record<Column, number>> = { streamEnc: TARGET, oneshotEnc: 0.75 }

function summarize(rows: readonly Row[]): Summary | null {
  const atDefault = rows.find((r) => r.chunkSize === DEFAULT_CHUNK_SIZE)
  if (atDefault === undefined) return null
  const enc = bestOf(rows, RAW_ENCRYPT_COLUMNS, atDefault)
  const dec = bestOf(rows, RAW_DECRYPT_COLUMNS, atDefault)
  if (enc === null || dec === null) return null
  const ratios = (['streamEnc', 'oneshotEnc', 'streamDec', 'oneshotDec'] as const).map((column): Ratio => {
    const raw = column.endsWith('Enc') ? enc : dec
    const mbpsAt = atDefault.cells[column].median
    return {
      column,
      mbps: mbpsAt,
      bestRaw: raw.best,
      ratio: mbpsAt / raw.best.mbps,
      rawAtDefault: raw.atDefault,
      ratioSameChunk: mbpsAt / raw.atDefault,
      target: TARGETS[column] ?? null,
    }
  })
  const streamEncrypt = atDefault.cells.streamEnc.median
  const ratio = streamEncrypt / enc.best.mbps
  return {
    defaultChunkSize: DEFAULT_CHUNK_SIZE,
    streamEncrypt,
    bestRaw: enc.best,
    ratio,
    rawAtDefault: enc.atDefault,
    ratioSameChunk: streamEncrypt / enc.atDefault,
    target: TARGET,
    met: ratio >= TARGET,
    ratios,
  }
}

declare global {
  interface Window {
    bucketsealBench?: { readonly run: (config: BenchConfig) => Promise<BenchResult> }
  }
}

window.bucketsealBench = { run }

/**
 * Driverless mode (`pnpm bench`, the default): Chromium is started on `index.html?auto` with nothing
 * attached, and the page fetches its config from the bench server and posts its result back.
 */
if (new URLSearchParams(location.search).has('auto')) {
  const post = (path: string, body: string): Promise<Response> => fetch(path, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })
  const log = console.log.bind(console)
  console.log = (...args: unknown[]) => {
    log(...args)
    void post('/__bench/log', args.map(String).join(' '))
  }
  void (async () => {
    try {
      const config = (await (await fetch('/__bench/config')).json()) as BenchConfig
      const result = await run(config)
      await post('/__bench/result', JSON.stringify(result))
    } catch (e) {
      await post('/__bench/error', e instanceof Error ? (e.stack ?? e.message) : String(e))
    }
  })()
}
