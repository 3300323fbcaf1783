/**
 * The downloader: opens a stored object's header with the user's key, then streams verified
 * plaintext by fetching chunk ranges in parallel (bounded) and opening them in the Worker pool;
 * or reads any plaintext range, fetching only the chunks that cover it.
 */
import {
  type Header,
  type IdentityInput,
  type Layout,
  type ObjectKey,
  type ObjectMetadata,
  TAG_LENGTH,
  TamperedError,
  TruncatedError,
  ciphertextSize,
  decryptChunk,
  type OpenedObject,
  type Stanza,
  WrongKeyError,
  metadataToHeader,
  openHeader,
  parseHeader,
  plaintextSize,
  readHeaderLength,
  withRecipients,
} from '@bucketseal/core'
import { TransferError, abortError } from './errors.js'
import { type GetOptions, type RangeJob, getBytes } from './fetch-range.js'
import { type Runner, defaultConcurrency, inlineRunner, workerPool } from './pool.js'
import { RangeQueue } from './range-queue.js'
import type { SignedRequest } from './http.js'
import type { Signer } from './signer.js'
import type { DownloadWorker } from './download-worker-client.js'

export interface DownloadOptions {
  readonly signer: Signer
  /** The key(s) to open the object with: a key pair, AES-KW key, passphrase, or the key store's identities. */
  readonly keys: IdentityInput | readonly IdentityInput[]
  /** Ranges in flight at once. Default min(cores, 4). */
  readonly concurrency?: number
  /** Plaintext bytes per ranged GET, rounded to whole chunks. Default 8 MiB. */
  readonly rangeSize?: number
  /** Where ranges are fetched and opened; default a Worker pool (streams) or inline (single ranges). */
  readonly runner?: Runner
  readonly signal?: AbortSignal
  readonly onProgress?: (progress: DownloadProgress) => void
  readonly retries?: number
  /** A ranged GET that receives nothing for this long is aborted and retried. Default 30,000 ms. */
  readonly stallTimeoutMs?: number
  /** Allows plain-http presigned URLs outside localhost. Never in production. */
  readonly dangerouslyAllowInsecureUrls?: boolean
}

export interface DownloadProgress {
  /** Verified plaintext bytes handed out so far. */
  readonly bytesDecrypted: number
  readonly totalBytes: number
}

/** A stored object, opened: its header, key and private metadata. Reuse it for many ranged reads. */
export interface RemoteObject {
  readonly objectKey: string
  /** Plaintext size. */
  readonly size: number
  /** Size on the store. */
  readonly storedSize: number
  /** The stored object's ETag when it was opened: changes to it are pinned to this version. */
  readonly etag: string
  readonly header: Header
  readonly metadata: ObjectMetadata | null
  readonly key: ObjectKey
  readonly layout: Layout
  /** Recipient entries shared through the metadata mirror (checked only under the body's commitment). */
  readonly mirrored: readonly Stanza[]
}

const DEFAULT_RANGE_SIZE = 8 * 1024 * 1024
const FIRST_READ = 4096

function getOptions(options: DownloadOptions): GetOptions {
  return {
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
    ...(options.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: options.dangerouslyAllowInsecureUrls }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  }
}

/** Caches the presigned GET URL; re-signs when asked for a fresh one (after a 403). */
export function urlSource(signer: Signer, objectKey: string): (fresh: boolean) => Promise<SignedRequest> {
  let url: Promise<SignedRequest> | null = null
  return (fresh) => {
    if (url === null || fresh) url = signer.signGet(objectKey)
    return url
  }
}

/**
 * Opens a stored object: HEAD for its size, a small ranged GET for its header (its length taken from
 * the metadata mirror when there is one), then the header is opened with `options.keys`.
 *
 * @throws {WrongKeyError} none of the keys is a recipient (the error lists the key ids needed).
 * @throws {BadHeaderError} not a Bucketseal object. {TamperedError} | {TruncatedError} | {CommitmentMismatchError}
 * @throws {TransferError} network or refusal.
 */
export async function openRemote(objectKey: string, options: DownloadOptions): Promise<RemoteObject> {
  const info = await options.signer.head(objectKey)
  const sign = urlSource(options.signer, objectKey)
  let hint = FIRST_READ
  let mirrored: readonly Stanza[] = []
  try {
    const mirror = metadataToHeader(info.metadata, { prefix: '' })
    if (mirror !== null) hint = mirror.headerLength
    mirrored = mirror?.header?.recipients ?? []
  } catch {
    // The mirror is a hint only; the body header is read and checked either way.
  }
  let head = await getBytes(sign, 0, Math.min(hint, info.size), getOptions(options))
  // Shorter than the prefix: readHeaderLength still says why (not ours, or cut short).
  const length = readHeaderLength(head)
  if (head.length < length) {
    if (info.size < length) throw new TruncatedError(`The object ends inside its header (${info.size} of ${length} bytes).`)
    const rest = await getBytes(sign, head.length, length, getOptions(options))
    const joined = new Uint8Array(head.length + rest.length)
    joined.set(head)
    joined.set(rest, head.length)
    head = joined
  }
  const header = parseHeader(head)
  let opened: OpenedObject
  try {
    opened = await openHeader(header, options.keys)
  } catch (e) {
    // Shared through metadata only: the mirror's recipient entries are tried under the body
    // header's commitment, so a forged entry is refused (COMMITMENT_MISMATCH) and cannot swap keys.
    if (!(e instanceof WrongKeyError) || mirrored.length === 0) throw e
    opened = await openHeader(withRecipients(header, mirrored), options.keys)
  }
  let size: number
  if (header.plaintextLength !== null) {
    size = header.plaintextLength
    const expected = ciphertextSize(size, header.chunkSize, header.length)
    if (info.size < expected) throw new TruncatedError(`The object is ${info.size} bytes but its header says ${expected}: it was cut short.`)
    if (info.size > expected) throw new TamperedError(`The object is ${info.size} bytes but its header says ${expected}: data was added.`)
  } else {
    const computed = plaintextSize(info.size, header.chunkSize, header.length)
    if (computed === null) throw new TruncatedError(`The object's size (${info.size} bytes) is impossible for its chunk size: it was cut short.`)
    size = computed
  }
  return {
    objectKey,
    size,
    storedSize: info.size,
    etag: info.etag,
    header,
    metadata: opened.metadata,
    key: opened.key,
    layout: { headerLength: header.length, chunkSize: header.chunkSize, plaintextLength: size },
    mirrored,
  }
}

export interface Download {
  readonly object: RemoteObject
  /** Verified plaintext, in order. Errors with a typed error on tampering, truncation or network failure. */
  readonly stream: ReadableStream<Uint8Array>
}

/**
 * Downloads and decrypts a whole object as a stream. Resolves once the header is open (so a wrong
 * key fails here, with the key ids needed), before any content is fetched. Memory stays at about
 * `concurrency × rangeSize`, whatever the object size.
 *
 * @example
 * const { object, stream } = await download(key, { signer, keys: myKeyPair })
 * await stream.pipeTo(writable)
 */
export async function download(objectKey: string, options: DownloadOptions): Promise<Download> {
  const object = await openRemote(objectKey, options)
  return { object, stream: rangeStream(object, options) }
}

function rangeStream(object: RemoteObject, options: DownloadOptions): ReadableStream<Uint8Array> {
  const { layout } = object
  const chunkSize = layout.chunkSize
  const rangeSize = Math.max(chunkSize, Math.floor((options.rangeSize ?? DEFAULT_RANGE_SIZE) / chunkSize) * chunkSize)
  const concurrency = Math.max(1, options.concurrency ?? defaultConcurrency())
  const sign = urlSource(options.signer, object.objectKey)
  let runner: Runner | null = null
  const ownRunner = options.runner === undefined
  // Ranges in order, every lane kept busy (range-queue.ts): at most 2 × concurrency ranges held.
  let queue: RangeQueue | null = null
  let delivered = 0
  const closeRunner = (): void => {
    queue?.close()
    queue = null
    if (ownRunner) runner?.close()
    runner = null
  }
  const onAbort = (): void => closeRunner()
  const job = (start: number, end: number): RangeJob => ({
    key: object.key,
    layout,
    start,
    end,
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
    ...(options.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: options.dangerouslyAllowInsecureUrls }),
  })
  return new ReadableStream<Uint8Array>(
    {
      async start() {
        if (options.signal?.aborted === true) throw abortError(options.signal)
        options.signal?.addEventListener('abort', onAbort, { once: true })
        if (layout.plaintextLength === 0) {
          // An empty object still has one chunk: verify it, so a forged or cut object fails.
          const ct = await getBytes(sign, layout.headerLength, layout.headerLength + TAG_LENGTH, getOptions(options))
          if (ct.length < TAG_LENGTH) throw new TruncatedError('The object ends before its only chunk.')
          await decryptChunk(object.key, 0, ct, true)
          return
        }
        const r = options.runner ?? workerPool(concurrency)
        runner = r
        queue = new RangeQueue({
          length: layout.plaintextLength,
          rangeSize,
          concurrency,
          fetch: (id, start, end) => r.downloadRange(id, job(start, end), { sign }),
          cancel: (id) => r.cancel(id),
        })
      },
      async pull(controller) {
        try {
          const plain = (await queue?.next()) ?? null
          if (plain === null) {
            closeRunner()
            options.signal?.removeEventListener('abort', onAbort)
            return controller.close()
          }
          delivered += plain.length
          controller.enqueue(plain)
          options.onProgress?.({ bytesDecrypted: delivered, totalBytes: layout.plaintextLength })
        } catch (e) {
          closeRunner()
          options.signal?.removeEventListener('abort', onAbort)
          throw options.signal?.aborted === true ? abortError(options.signal) : e
        }
      },
      cancel() {
        closeRunner()
        options.signal?.removeEventListener('abort', onAbort)
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * Reads plaintext bytes `[start, end)` of a stored object, fetching only the chunks that cover them;
 * every one of those chunks is authenticated before any byte is returned.
 *
 * @param object an object key, or a {@link RemoteObject} from {@link openRemote} to skip re-opening.
 * @throws {TransferError} INVALID_ARGUMENT for a range outside the object; network errors.
 * @throws core's TAMPERED / TRUNCATED / WRONG_KEY.
 * @example
 * const firstKiB = await downloadRange(key, 0, 1024, { signer, keys: myKeyPair })
 */
export async function downloadRange(object: string | RemoteObject, start: number, end: number, options: DownloadOptions): Promise<Uint8Array> {
  const remote = typeof object === 'string' ? await openRemote(object, options) : object
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > remote.size) {
    throw new TransferError('INVALID_ARGUMENT', `The range [${start}, ${end}) is outside the object (0 to ${remote.size} bytes).`)
  }
  const runner = options.runner ?? inlineRunner(1)
  try {
    return await runner.downloadRange(`range-${start}-${end}`, {
      key: remote.key,
      layout: remote.layout,
      start,
      end,
      ...(options.retries === undefined ? {} : { retries: options.retries }),
      ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
      ...(options.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: options.dangerouslyAllowInsecureUrls }),
    }, { sign: cachedSource(remote, options.signer) })
  } finally {
    if (options.runner === undefined) runner.close()
  }
}

/** One signed GET per opened object and signer, reused by its ranged reads (it re-signs on a 403). */
const sources = new WeakMap<RemoteObject, WeakMap<Signer, (fresh: boolean) => Promise<SignedRequest>>>()

function cachedSource(remote: RemoteObject, signer: Signer): (fresh: boolean) => Promise<SignedRequest> {
  let bySigner = sources.get(remote)
  if (bySigner === undefined) {
    bySigner = new WeakMap()
    sources.set(remote, bySigner)
  }
  let source = bySigner.get(signer)
  if (source === undefined) {
    source = urlSource(signer, remote.objectKey)
    bySigner.set(signer, source)
  }
  return source
}

/** Largest download {@link saveDownload} assembles in memory when it has no way to stream it to disk. */
export const DEFAULT_MAX_BLOB_SIZE = 512 * 1024 * 1024

export interface SaveOptions {
  /** File name offered in the save dialog; default the sealed name or the object key. */
  readonly suggestedName?: string
  /**
   * A file the app already opened, e.g. with `showSaveFilePicker` in its click handler: browsers
   * allow the picker only within a few seconds of the click, and `download()` may take longer.
   */
  readonly writable?: WritableStream<Uint8Array>
  /**
   * `false` skips `showSaveFilePicker` even where the browser has it, for the browser's own
   * download (through `downloadWorker`) instead of a save dialog. Default `true`.
   */
  readonly filePicker?: boolean
  /**
   * From `installDownloadWorker`: where there is no picker (Firefox, Safari), the decrypted
   * stream is served by this Service Worker and saved by the browser as it arrives, any size.
   */
  readonly downloadWorker?: DownloadWorker | null
  /** Limit for the in-memory fallback. Default 512 MiB. */
  readonly maxBlobSize?: number
}

/**
 * `file`: written to disk as it was decrypted; `via` says how (the caller's `writable`, the File
 * System Access `picker`, or the download `worker`). `blob`: assembled in memory.
 */
export type SaveResult = { readonly kind: 'file'; readonly via: 'writable' | 'picker' | 'worker' } | { readonly kind: 'blob'; readonly blob: Blob }

interface SaveFilePickerWindow {
  showSaveFilePicker(options: { suggestedName?: string }): Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>
}

function hasSavePicker(g: unknown): g is SaveFilePickerWindow {
  return typeof g === 'object' && g !== null && 'showSaveFilePicker' in g && typeof g.showSaveFilePicker === 'function'
}

/** The picker's refusal when the call is too far from a click: the next way to save is tried instead. */
function isActivationError(e: unknown): boolean {
  return e instanceof DOMException && (e.name === 'SecurityError' || e.name === 'NotAllowedError')
}

/**
 * Saves a download, trying in order:
 * 1. `options.writable`, the caller's own file;
 * 2. the File System Access API (`showSaveFilePicker`, Chromium): the file is committed only when
 *    the whole object verified, and on any error nothing is kept;
 * 3. `options.downloadWorker`: the browser downloads the stream from the Service Worker as it is
 *    decrypted. On tampering or a network failure mid-file the download fails in the browser's
 *    download list, but a partial file may stay on disk (browsers differ), unlike with (2);
 * 4. a `Blob` of at most `maxBlobSize` bytes, for the app to offer as a link.
 *
 * Only verified plaintext is written, by every way. Resolves when the last byte was written (or
 * handed to the browser's download).
 *
 * @throws {TransferError} INVALID_ARGUMENT when only the Blob is left and the object is larger than
 *   `maxBlobSize`; ABORTED when the user dismissed the save dialog or cancelled the browser's
 *   download; WORKER_FAILED when the download worker did not answer.
 * @throws the download's own errors (TAMPERED, TRUNCATED, NETWORK) when they happen mid-file.
 * @example
 * const dl = await download(key, { signer, keys })
 * const saved = await saveDownload(dl, { downloadWorker })
 * if (saved.kind === 'blob') offerLink(URL.createObjectURL(saved.blob))
 */
export async function saveDownload(dl: Download, options: SaveOptions = {}): Promise<SaveResult> {
  const name = options.suggestedName ?? dl.object.metadata?.name ?? dl.object.objectKey
  if (options.writable !== undefined) {
    await dl.stream.pipeTo(options.writable)
    return { kind: 'file', via: 'writable' }
  }
  const g: unknown = globalThis
  if (options.filePicker !== false && hasSavePicker(g)) {
    let handle: Awaited<ReturnType<SaveFilePickerWindow['showSaveFilePicker']>> | null = null
    try {
      handle = await g.showSaveFilePicker({ suggestedName: name })
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') {
        await dl.stream.cancel()
        throw new TransferError('ABORTED', 'The save dialog was dismissed.', { cause: e })
      }
      if (!isActivationError(e)) throw e
    }
    if (handle !== null) {
      await dl.stream.pipeTo(await handle.createWritable())
      return { kind: 'file', via: 'picker' }
    }
  }
  if (options.downloadWorker != null && typeof document !== 'undefined') {
    const served = await options.downloadWorker.serve(dl.stream, { name, size: dl.object.size })
    const frame = navigateHiddenFrame(served.url)
    try {
      await served.done
    } finally {
      frame.remove()
    }
    return { kind: 'file', via: 'worker' }
  }
  const limit = options.maxBlobSize ?? DEFAULT_MAX_BLOB_SIZE
  if (dl.object.size > limit) {
    await dl.stream.cancel()
    throw new TransferError(
      'INVALID_ARGUMENT',
      `The file is ${dl.object.size} bytes; without the File System Access API or a download worker (installDownloadWorker), downloads are limited to ${limit} bytes in memory.`,
    )
  }
  const parts: Uint8Array<ArrayBuffer>[] = []
  const reader = dl.stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    const b = value.buffer
    parts.push(b instanceof ArrayBuffer ? new Uint8Array(b, value.byteOffset, value.length) : new Uint8Array(value))
  }
  return { kind: 'blob', blob: new Blob(parts, { type: dl.object.metadata?.type ?? 'application/octet-stream' }) }
}

/**
 * Starts the browser's download of a worker URL. A hidden iframe rather than `<a download>`: a
 * download-attribute click skips the Service Worker in some engines, and an iframe's navigation to
 * an attachment leaves the page where it is. Removed once the download ended.
 */
function navigateHiddenFrame(url: string): HTMLIFrameElement {
  const frame = document.createElement('iframe')
  frame.hidden = true
  frame.src = url
  document.body.append(frame)
  return frame
}
