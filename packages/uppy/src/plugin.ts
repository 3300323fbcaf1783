/**
 * The Uppy uploader: each file is encrypted in the browser by `@bucketseal/client` and sent as an
 * S3 (multipart) upload through the app's presigner. Uppy's parts hooks (`signPart`,
 * `uploadPartBytes`) cannot be reused: the parts are ciphertext, sealed in Workers, so this plugin
 * hands the whole file to Bucketseal and translates its task into Uppy's state and events.
 *
 * Resuming rests on Bucketseal's own resume, keyed by Uppy's file id (stable across reloads, and
 * the same when the user adds the same file again): after a reload, with Golden Retriever, or after
 * Uppy's retry, only the parts the store does not have are sent, once the file is checked to be the
 * same (size, time, then each finished part's digest).
 */
import type { RecipientInput } from '@bucketseal/core'
import {
  type PendingUpload,
  type Runner,
  type Signer,
  TransferError,
  type UploadOptions,
  type UploadResult,
  defaultConcurrency,
  discardUpload,
  pendingUploads,
  upload,
  uploadStore,
  workerPool,
} from '@bucketseal/client'
import { BasePlugin, type Body, type DefinePluginOpts, EventManager, type Meta, type PluginOpts, type Uppy, type UppyFile } from '@uppy/core'
import { filterFilesToEmitUploadStarted, filterFilesToUpload } from '@uppy/core/utils'
import { FileUpload } from './file-upload.js'
import { type SharedPool, Slots, sharedPool } from './pool.js'

/**
 * The response body of a file Bucketseal stored (`file.response.body`, `upload-success`). Give it
 * as Uppy's body type: `new Uppy<Meta, BucketsealBody>()`.
 */
export type BucketsealBody = {
  /** The object key on the store (opaque: the real name is sealed inside the object). */
  key: string
  /** Object size on the store: ciphertext, header included. */
  size: number
  /** The file's size. */
  plaintextSize: number
  /** The store's ETag of the object. */
  etag: string
  partCount: number
  /** Parts this page sent (fewer than `partCount` after a resume). */
  partsSent: number
}

/**
 * Who can decrypt: the same recipients for every file, or chosen per file (from its meta, say).
 * The function also gets the unfinished upload the file would resume, if there is one (after a
 * reload or a failure): its `recipientKeyIds` are the keys it was started for, which a resume
 * must give again.
 */
export type BucketsealRecipients<M extends Meta> =
  | readonly RecipientInput[]
  | ((file: UppyFile<M, BucketsealBody>, unfinished: PendingUpload | undefined) => readonly RecipientInput[] | Promise<readonly RecipientInput[]>)

export interface BucketsealOptions<M extends Meta> extends PluginOpts {
  /** The presigning backend (`httpSigner('/api/s3')` from `@bucketseal/client`). */
  signer: Signer
  /**
   * Who can decrypt each file. A resumed upload keeps the recipients it was started with: a
   * function must give the same ones for the same file, or the file fails with RESUME_MISMATCH.
   */
  recipients: BucketsealRecipients<M>
  /** Put in front of each object's random key, e.g. `users/42/`, to match the server's `authorize`. */
  keyPrefix?: string
  /** Files uploading at once (Uppy's `limit`). Default 3. */
  limit?: number
  /**
   * Parts in flight across all files: the size of the one Worker pool the files share, and with
   * the part size what bounds memory (concurrency × part size). Default min(cores, 4).
   */
  concurrency?: number
  /** Parts of one file in flight at once (within `concurrency`). Default `concurrency`. */
  partsPerFile?: number
  /** Retries per request after the first attempt. Default 5. */
  retries?: number
  /** Plaintext bytes per part; raised to ≥ 5 MiB. Default 8 MiB. */
  partSize?: number
  /** A request that makes no progress for this long is aborted and retried. Default 30,000 ms. */
  stallTimeoutMs?: number
  /**
   * The Worker script, for bundlers without `new Worker(new URL(…, import.meta.url))` (esbuild) or
   * strict CSP: see `workerPool` in `@bucketseal/client`.
   */
  worker?: string | URL | (() => Worker)
  /** Runs parts instead of a Worker pool (`inlineRunner()` where module Workers are missing). */
  runner?: Runner
  /** Where resumable state lives; default the `bucketseal-uploads` IndexedDB database. */
  store?: UploadOptions['store']
  /** Allows plain-http presigned URLs outside localhost. Never in production. */
  dangerouslyAllowInsecureUrls?: boolean
}

const defaultOptions = { limit: 3 } satisfies Partial<BucketsealOptions<Meta>>

type Opts<M extends Meta> = DefinePluginOpts<BucketsealOptions<M>, keyof typeof defaultOptions>

declare module '@uppy/core' {
  export interface PluginTypeRegistry<M extends Meta, B extends Body> {
    Bucketseal: Bucketseal<M>
  }
}

function positive(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
    throw new TransferError('INVALID_ARGUMENT', `Bucketseal's ${name} must be a positive integer, got ${String(value)}.`)
  }
}

/** Scales the store's byte counts (ciphertext) to the file's, so Uppy's bars match its sizes. */
function plaintextBytes(uploaded: number, total: number, fileSize: number): number {
  return total === 0 ? 0 : Math.min(fileSize, Math.floor((uploaded / total) * fileSize))
}

/**
 * Uppy uploader that encrypts every file before it leaves the browser.
 *
 * @throws {TransferError} INVALID_ARGUMENT from the constructor for a missing signer or recipients
 *   or a bad limit. Per file, through `upload-error` (the error itself, with its `code`):
 *   REQUEST_REJECTED, NETWORK, FILE_CHANGED, RESUME_MISMATCH, UPLOAD_IN_PROGRESS, WORKER_FAILED,
 *   INVALID_ARGUMENT (a remote file, which the browser cannot read to encrypt), and the rest of
 *   `@bucketseal/client`'s codes.
 * @example
 * import Uppy, { type Meta } from '@uppy/core'
 * import Dashboard from '@uppy/dashboard'
 * import { httpSigner } from '@bucketseal/client'
 * import { Bucketseal, type BucketsealBody } from '@bucketseal/uppy'
 *
 * const uppy = new Uppy<Meta, BucketsealBody>()
 *   .use(Dashboard, { inline: true, target: '#uppy' })
 *   .use(Bucketseal, { signer: httpSigner('/api/s3'), recipients: [teamPublicKey], keyPrefix: 'users/42/' })
 * uppy.on('upload-success', (file, { body }) => console.log(file?.name, 'stored as', body?.key))
 */
export class Bucketseal<M extends Meta> extends BasePlugin<Opts<M>, M, BucketsealBody> {
  static VERSION = '0.1.0'

  readonly #files: Slots
  readonly #pool: SharedPool
  /** Uploads running or waiting for a slot, by Uppy file id. */
  readonly #active = new Map<string, FileUpload>()
  /** Batches running: the pool's Workers are ended when the last one finishes. */
  #batches = 0

  constructor(uppy: Uppy<M, BucketsealBody>, opts: BucketsealOptions<M>) {
    super(uppy, { ...defaultOptions, ...opts })
    this.type = 'uploader'
    this.id = this.opts.id ?? 'Bucketseal'
    const { signer, recipients } = this.opts
    if (typeof signer !== 'object' || signer === null || typeof signer.signParts !== 'function') {
      throw new TransferError('INVALID_ARGUMENT', "Bucketseal needs a signer: { signer: httpSigner('/api/s3') }.")
    }
    if (typeof recipients !== 'function' && (!Array.isArray(recipients) || recipients.length === 0)) {
      throw new TransferError('INVALID_ARGUMENT', 'Bucketseal needs recipients: the keys that can decrypt the files, or a function of the file that gives them.')
    }
    positive(this.opts.limit, 'limit')
    positive(this.opts.concurrency, 'concurrency')
    positive(this.opts.partsPerFile, 'partsPerFile')
    this.#files = new Slots(this.opts.limit)
    const concurrency = this.opts.concurrency ?? defaultConcurrency()
    const { runner, worker } = this.opts
    this.#pool = sharedPool(concurrency, () => runner ?? workerPool(concurrency, worker), runner === undefined)
  }

  /** The key under which Bucketseal keeps a file's resumable state. */
  #resumeKey(file: UppyFile<M, BucketsealBody>): string {
    return `uppy/${this.uppy.getID()}/${file.id}`
  }

  #handleUpload = async (fileIDs: string[]): Promise<void> => {
    if (fileIDs.length === 0) return
    const files: UppyFile<M, BucketsealBody>[] = filterFilesToUpload(this.uppy.getFilesByIds(fileIDs))
    this.uppy.emit('upload-start', filterFilesToEmitUploadStarted(files))
    this.#batches++
    try {
      await Promise.allSettled(files.map((file) => this.#uploadFile(file)))
    } finally {
      if (--this.#batches === 0) this.#pool.close()
    }
  }

  async #uploadFile(file: UppyFile<M, BucketsealBody>): Promise<void> {
    if (file.isRemote || file.data === undefined) {
      const error = new TransferError(
        'INVALID_ARGUMENT',
        file.isRemote
          ? `"${file.name}" comes from a remote provider (Companion): Bucketseal encrypts in the browser, so it can upload only local files.`
          : `"${file.name}" has no data (a file restored without its contents): add the file again.`,
      )
      this.uppy.emit('upload-error', file, error)
      return
    }
    const data = file.data
    const id = file.id
    const events = new EventManager(this.uppy)
    const job = new FileUpload(this.#files, () => this.#start(file, data), file.isPaused === true)
    this.#active.set(id, job)
    events.onFilePause(id, (isPaused) => (isPaused ? job.pause() : job.resume()))
    events.onPauseAll(id, () => job.pause())
    events.onResumeAll(id, () => job.resume())
    events.onCancelAll(id, () => void job.cancel())
    events.onFileRemove(id, () => void job.cancel())
    try {
      const result = await job.run()
      this.uppy.emit('upload-success', this.uppy.getFile(id), this.#response(result))
    } catch (e) {
      // A cancelled file is gone from Uppy's state: there is no one to tell.
      if (job.cancelled) return
      // Uppy logs it and shows its message on the file; the error keeps its `code` for the app.
      const error = e instanceof Error ? e : new TransferError('NETWORK', String(e))
      this.uppy.emit('upload-error', this.uppy.getFile(id), error)
    } finally {
      events.remove()
      if (this.#active.get(id) === job) this.#active.delete(id)
    }
  }

  async #start(file: UppyFile<M, BucketsealBody>, data: Blob): Promise<ReturnType<typeof upload>> {
    const o = this.opts
    const recipients = typeof o.recipients === 'function' ? await o.recipients(this.uppy.getFile(file.id) ?? file, await this.#unfinished(file)) : o.recipients
    const uploadStarted = file.progress.uploadStarted ?? Date.now()
    const size = data.size
    const lanes = Math.min(o.partsPerFile ?? this.#pool.size, this.#pool.size)
    return upload(data, {
      signer: o.signer,
      recipients,
      ...(o.keyPrefix === undefined ? {} : { keyPrefix: o.keyPrefix }),
      // What the user sees in Uppy (a renamed file keeps its new name), sealed inside the object.
      metadata: { name: file.meta.name, type: file.type, ...(data instanceof File ? { lastModified: data.lastModified } : {}) },
      resumeKey: this.#resumeKey(file),
      runner: this.#pool.forFile(file.id, lanes),
      ...(o.store === undefined ? {} : { store: o.store }),
      ...(o.partSize === undefined ? {} : { partSize: o.partSize }),
      ...(o.retries === undefined ? {} : { retries: o.retries }),
      ...(o.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: o.stallTimeoutMs }),
      ...(o.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: o.dangerouslyAllowInsecureUrls }),
      onProgress: (p) => {
        this.uppy.emit('upload-progress', this.uppy.getFile(file.id), {
          uploadStarted,
          bytesUploaded: plaintextBytes(p.bytesUploaded, p.totalBytes, size),
          bytesTotal: size,
        })
      },
    })
  }

  async #unfinished(file: UppyFile<M, BucketsealBody>): Promise<PendingUpload | undefined> {
    const key = this.#resumeKey(file)
    return (await pendingUploads(this.opts.store ?? uploadStore())).find((p) => p.resumeKey === key)
  }

  #response(result: UploadResult): NonNullable<UppyFile<M, BucketsealBody>['response']> {
    // No `uploadURL`: the store's URL serves ciphertext and needs signing; the key is what an app
    // downloads with (`download(key, { signer, keys })`).
    return {
      status: 200,
      bytesUploaded: result.plaintextSize,
      body: {
        key: result.objectKey,
        size: result.size,
        plaintextSize: result.plaintextSize,
        etag: result.etag,
        partCount: result.partCount,
        partsSent: result.partsSent,
      },
    }
  }

  /** A file removed while not uploading (failed, paused before a reload, a ghost): forget its upload on the store too. */
  #onFileRemoved = (file: UppyFile<M, BucketsealBody>): void => {
    if (this.#active.has(file.id)) return
    discardUpload(this.#resumeKey(file), this.opts.signer, this.opts.store ?? uploadStore()).catch((e: unknown) => {
      this.uppy.log(`[Bucketseal] Could not discard the unfinished upload of ${file.name}: ${e instanceof Error ? e.message : String(e)}`, 'warning')
    })
  }

  override install(): void {
    const { capabilities } = this.uppy.getState()
    this.uppy.setState({ capabilities: { ...capabilities, resumableUploads: true, individualCancellation: true } })
    this.uppy.addUploader(this.#handleUpload)
    this.uppy.on('file-removed', this.#onFileRemoved)
  }

  override uninstall(): void {
    const { capabilities } = this.uppy.getState()
    this.uppy.setState({ capabilities: { ...capabilities, resumableUploads: false } })
    this.uppy.removeUploader(this.#handleUpload)
    this.uppy.off('file-removed', this.#onFileRemoved)
    // Uploads stop where they are and stay resumable (a new Uppy with this plugin picks them up).
    for (const job of this.#active.values()) job.pause()
    this.#active.clear()
    this.#pool.close()
  }
}
