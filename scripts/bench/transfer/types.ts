/**
 * What scripts/bench-transfer.mjs asks of the page (`window.bucketsealTransfer`) and what the page
 * answers, plus the messages between the page and its sealing Workers (seal-worker.ts).
 *
 * Throughput everywhere is plaintext bytes / wall time in MB/s, with MB = 10^6 bytes.
 */
import type { ObjectKey } from '../../../packages/core/src/index.ts'
import type { PartPlan } from '../../../packages/upload/src/index.ts'

/** Which file input: the 1 GiB file of the throughput runs, or the large file of the memory run. */
export type Input = 'main' | 'memory'

/** `sealed`: Bucketseal's `upload()`/`download()`. `plain`: the same transfer without encryption. */
export type Mode = 'sealed' | 'plain'

export interface UploadRun {
  readonly mode: Mode
  readonly input: Input
  readonly key: string
  readonly concurrency: number
  readonly partSize: number
  /** Upload only the first `limit` bytes of the file (warm-up runs); null = all of it. */
  readonly limit: number | null
}

export interface UploadResult {
  readonly key: string
  readonly ms: number
  readonly plaintextBytes: number
  readonly storedBytes: number
  readonly partCount: number
}

export interface DownloadRun {
  readonly mode: Mode
  readonly key: string
  readonly concurrency: number
  /** Plaintext bytes per ranged GET (the plain run GETs the ciphertext of as many chunks). */
  readonly rangeSize: number
}

export interface DownloadResult {
  readonly ms: number
  /** Plaintext bytes of the object (the plain run moves the same stored bytes). */
  readonly plaintextBytes: number
  /** Bytes the page received: plaintext for `sealed`, stored (ciphertext) bytes for `plain`. */
  readonly bytesReceived: number
}

export interface FirstByteRun {
  readonly key: string
  readonly samples: number
  /** Plaintext bytes per read (whole chunks, chunk-aligned offsets). */
  readonly size: number
}

/** Milliseconds per sample, in sample order. */
export interface FirstByteResult {
  /** `downloadRange` on a RemoteObject opened beforehand. */
  readonly rangeOpened: readonly number[]
  /** `openRemote` then `downloadRange`. */
  readonly rangeWithOpen: readonly number[]
  /** One ranged GET of as many stored bytes through a presigned URL made beforehand, body read. */
  readonly plain: readonly number[]
  /** The same, including the `signGet` round trip to the presigning handler. */
  readonly plainWithSign: readonly number[]
  /** Until the plain GET's response headers arrived. */
  readonly plainHeaders: readonly number[]
}

/** What one sealing Worker does with each part. */
export type SealOp = 'read' | 'digest' | 'encrypt' | 'seal'

export interface SealRun {
  readonly concurrency: number
  readonly partSize: number
  readonly runs: number
}

export interface SealResult {
  readonly partCount: number
  readonly plaintextBytes: number
  /** MB/s of each run, in run order, by operation. */
  readonly mbps: Readonly<Record<SealOp, readonly number[]>>
}

export interface PoolIdle {
  readonly workers: number
}

export interface TransferApi {
  readonly fileSize: (input: Input) => number
  readonly uploadRun: (run: UploadRun) => Promise<UploadResult>
  readonly downloadRun: (run: DownloadRun) => Promise<DownloadResult>
  readonly firstByteRun: (run: FirstByteRun) => Promise<FirstByteResult>
  readonly sealRun: (run: SealRun) => Promise<SealResult>
  /** Starts an idle Worker pool of the library's (`open`) or ends it (`close`), for the memory run. */
  readonly idlePool: (action: 'open' | 'close', pool: PoolIdle) => Promise<void>
}

/** Page → Worker: the file and the object key, once. */
export interface SealInit {
  readonly type: 'init'
  readonly file: Blob
  readonly plan: PartPlan
  readonly key: ObjectKey
  readonly header: Uint8Array<ArrayBuffer>
}

/** Page → Worker: one part. */
export interface SealTask {
  readonly type: 'part'
  readonly id: number
  readonly op: SealOp
  readonly number: number
}

export type SealRequest = SealInit | SealTask

/** Worker → page: a part done (`bytes` produced), the init acknowledged (id −1), or a failure. */
export interface SealReply {
  readonly id: number
  readonly bytes: number
  readonly error: string | null
}
