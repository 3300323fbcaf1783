/**
 * What the scratch app's page (main.ts) hands back to the Node-side test through `page.evaluate`:
 * plain, structured-cloneable reports, so a failing test shows everything the page saw.
 */

/** How a thrown value looked on the page: its class as the app's own imports see it. */
export interface ErrorReport {
  readonly isError: boolean
  readonly name: string
  readonly message: string
  readonly code: string | null
  readonly constructorName: string
  readonly instanceOfBucketsealError: boolean
  readonly instanceOfTamperedError: boolean
  readonly instanceOfTransferError: boolean
}

/** A promise's outcome, or `timeout` when it had not settled after the page's guard delay. */
export type Settled<T> =
  | { readonly status: 'resolved'; readonly value: T }
  | { readonly status: 'rejected'; readonly error: ErrorReport }
  | { readonly status: 'timeout'; readonly afterMs: number }

/**
 * Worker scripts to use instead of the bundler's own Worker URLs: for bundlers without
 * `new Worker(new URL(…, import.meta.url))` support (esbuild), which build them as extra entries.
 */
export interface WorkerUrls {
  /** The Bucketseal pool Worker, built from `@bucketseal/client/worker`. */
  readonly pool: string
  /** The app's own comlink Worker (own-worker.ts). */
  readonly own: string
}

export interface RunOptions {
  /** Object keys start with it; the presigner allows nothing else. */
  readonly prefix: string
  readonly workers: WorkerUrls | null
}

export interface RoundTripReport {
  readonly progressReports: number
  /** `task.paused` right after pause() in the first progress report. */
  readonly pausedAfterFirstReport: boolean | null
  readonly resumed: boolean
  readonly done: Settled<{ readonly objectKey: string; readonly partCount: number; readonly plaintextSize: number }>
  readonly originalSha256: string
  /** Null when `done` did not resolve. */
  readonly downloaded: Settled<{ readonly sha256: string; readonly length: number }> | null
}

export interface StoredObject {
  readonly objectKey: string
  /** Where the first chunk's ciphertext starts in the stored object. */
  readonly headerLength: number
}

export interface TamperReport {
  /** `downloadRange` with a Worker pool as its runner: the error crossed the Worker boundary. */
  readonly pool: Settled<number>
  /** `downloadRange` with its default (inline) runner: the error was thrown on the page itself. */
  readonly inline: Settled<number>
}

export interface OwnWorkerReport {
  /** A small upload through the Bucketseal pool, first, so that its comlink setup is in place. */
  readonly poolUpload: Settled<string>
  readonly ping: Settled<string>
  readonly boom: Settled<string>
  /** `typeof` of what `boom()` rejected with, and whether it was an `Error` of this realm. */
  readonly rejectedWithType: string | null
  readonly rejectedWithError: boolean | null
}

/** Scenario e: files through Uppy with the @bucketseal/uppy plugin, each read back. */
export interface UppyReport {
  /** `upload-progress` events Uppy emitted. */
  readonly progressEvents: number
  /** What `uppy.upload()` gave: the files that succeeded and those that failed. */
  readonly uploaded: Settled<{ readonly successful: number; readonly failed: readonly string[] }>
  readonly files: ReadonlyArray<{
    readonly name: string
    readonly originalSha256: string
    /** Null when the file has no object key in its response. */
    readonly downloaded: Settled<{ readonly sha256: string; readonly length: number }> | null
  }>
}

/** The test functions the page puts on `window.consumer`. */
export interface ConsumerApi {
  uploadRoundTrip(options: RunOptions): Promise<RoundTripReport>
  uploadSmall(options: RunOptions): Promise<Settled<StoredObject>>
  rangeAfterTamper(options: RunOptions & { readonly objectKey: string }): Promise<TamperReport>
  ownWorkerError(options: RunOptions): Promise<OwnWorkerReport>
  brokenWorkerUpload(options: RunOptions): Promise<Settled<string>>
  uppyUpload(options: RunOptions): Promise<UppyReport>
}

declare global {
  interface Window {
    consumer?: ConsumerApi
  }
}
