/**
 * What the benchmark's server and its page say to each other. The page asks `POST /bench/next`
 * (with the result of the case it just ran) and gets the next case; around the timed part of a
 * case it calls `POST /bench/mark` so the server can read the browser's CPU time and sample its
 * memory from /proc. Nothing drives the browser: it was started on the page's URL and runs the
 * plan on its own. Throughput is plaintext bytes over wall time, MB = 10^6 bytes.
 */

/** `sealed`: Bucketseal's upload()/download(). `plain`: the same transfer without encryption. */
export type Mode = 'sealed' | 'plain'

/**
 * Request bodies a sealed part can be sent from, for the part-body experiment: one assembled
 * Uint8Array, a Blob of the sealed chunks, or an OPFS file, PUT by XHR with an upload progress
 * listener (as the library sends); `-fetch`: the same body by fetch; `blob-noprogress`: XHR without
 * the progress listener.
 */
export type BodyKind = 'u8' | 'blob' | 'opfs' | 'u8-fetch' | 'blob-fetch' | 'blob-noprogress'

export type BenchCase =
  /** Writes the input file into the origin-private file system (skipped when it is there already). */
  | { readonly kind: 'prepare'; readonly id: string; readonly size: number }
  | {
      readonly kind: 'upload'
      readonly id: string
      readonly mode: Mode
      /** The first `size` bytes of the input file. */
      readonly size: number
      readonly concurrency: number
      readonly partSize: number
      readonly key: string
    }
  | { readonly kind: 'download'; readonly id: string; readonly mode: Mode; readonly key: string; readonly concurrency: number; readonly rangeSize: number }
  /** File → raw reads, or reads + raw AES-GCM per chunk, in `concurrency` Workers: the CPU baseline. */
  | { readonly kind: 'raw'; readonly id: string; readonly op: 'read' | 'encrypt'; readonly size: number; readonly concurrency: number; readonly partSize: number; readonly chunkSize: number }
  /** Raw AES-GCM parts PUT from one kind of body, from Workers: which body goes fastest driverless. */
  | { readonly kind: 'body'; readonly id: string; readonly body: BodyKind; readonly size: number; readonly concurrency: number; readonly partSize: number; readonly chunkSize: number; readonly key: string }
  | { readonly kind: 'done' }

export interface CaseResult {
  readonly id: string
  readonly error: string | null
  /** Wall time of the timed part, ms (between the two marks). */
  readonly ms: number
  /** Plaintext bytes moved. */
  readonly bytes: number
  readonly detail?: Readonly<Record<string, number | string>>
}

export interface MarkRequest {
  readonly id: string
  readonly phase: 'start' | 'end'
}

/** Messages from the page to its bench Workers (raw-worker.ts) and their answers. */
export type RawRequest =
  | { readonly type: 'init'; readonly file: Blob; readonly chunkSize: number }
  | { readonly type: 'read'; readonly seq: number; readonly start: number; readonly end: number }
  | { readonly type: 'encrypt'; readonly seq: number; readonly start: number; readonly end: number }
  | {
      readonly type: 'body'
      readonly seq: number
      readonly start: number
      readonly end: number
      readonly body: BodyKind
      readonly url: string
      readonly headers: Readonly<Record<string, string>>
    }

export interface RawReply {
  readonly seq: number
  readonly error: string | null
  readonly bytes: number
  readonly etag: string | null
}
