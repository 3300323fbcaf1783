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
import type { SignedRequest } from './http.js'
import type { Signer } from './signer.js'

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
  const pending: Array<{ id: string; result: Promise<Uint8Array> }> = []
  let next = 0
  let sequence = 0
  let delivered = 0
  const closeRunner = (): void => {
    for (const p of pending) runner?.cancel(p.id)
    if (ownRunner) runner?.close()
    runner = null
  }
  const onAbort = (): void => closeRunner()
  const launch = (): void => {
    while (pending.length < concurrency && next < layout.plaintextLength && runner !== null) {
      const start = next
      const end = Math.min(start + rangeSize, layout.plaintextLength)
      next = end
      const id = `range-${sequence++}`
      const job: RangeJob = {
        key: object.key,
        layout,
        start,
        end,
        ...(options.retries === undefined ? {} : { retries: options.retries }),
        ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
        ...(options.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: options.dangerouslyAllowInsecureUrls }),
      }
      const result = runner.downloadRange(id, job, { sign })
      result.catch(() => undefined)
      pending.push({ id, result })
    }
  }
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
        runner = options.runner ?? workerPool(concurrency)
        launch()
      },
      async pull(controller) {
        const head = pending.shift()
        if (head === undefined) {
          closeRunner()
          options.signal?.removeEventListener('abort', onAbort)
          return controller.close()
        }
        try {
          const plain = await head.result
          delivered += plain.length
          launch()
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

/** Largest download {@link saveDownload} assembles in memory when the browser cannot write to disk. */
export const DEFAULT_MAX_BLOB_SIZE = 512 * 1024 * 1024

export interface SaveOptions {
  /** File name offered in the save dialog; default the sealed name or the object key. */
  readonly suggestedName?: string
  /**
   * A file the app already opened, e.g. with `showSaveFilePicker` in its click handler: browsers
   * allow the picker only within a few seconds of the click, and `download()` may take longer.
   */
  readonly writable?: WritableStream<Uint8Array>
  /** Limit for the in-memory fallback. Default 512 MiB. */
  readonly maxBlobSize?: number
}

export type SaveResult = { readonly kind: 'file' } | { readonly kind: 'blob'; readonly blob: Blob }

interface SaveFilePickerWindow {
  showSaveFilePicker(options: { suggestedName?: string }): Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>
}

function hasSavePicker(g: unknown): g is SaveFilePickerWindow {
  return typeof g === 'object' && g !== null && 'showSaveFilePicker' in g && typeof g.showSaveFilePicker === 'function'
}

/**
 * Saves a download: straight to disk through the File System Access API where the browser has it
 * (the file is committed only when the whole object verified; on any error nothing is kept), else
 * into a `Blob` of at most `maxBlobSize` bytes for the app to offer as a link.
 * @throws {TransferError} INVALID_ARGUMENT when the object is larger than `maxBlobSize` and there is no picker.
 */
export async function saveDownload(dl: Download, options: SaveOptions = {}): Promise<SaveResult> {
  const name = options.suggestedName ?? dl.object.metadata?.name ?? dl.object.objectKey
  if (options.writable !== undefined) {
    await dl.stream.pipeTo(options.writable)
    return { kind: 'file' }
  }
  const g: unknown = globalThis
  if (hasSavePicker(g)) {
    const handle = await g.showSaveFilePicker({ suggestedName: name })
    await dl.stream.pipeTo(await handle.createWritable())
    return { kind: 'file' }
  }
  const limit = options.maxBlobSize ?? DEFAULT_MAX_BLOB_SIZE
  if (dl.object.size > limit) {
    await dl.stream.cancel()
    throw new TransferError('INVALID_ARGUMENT', `The file is ${dl.object.size} bytes; without the File System Access API downloads are limited to ${limit} bytes in memory.`)
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
