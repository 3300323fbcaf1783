/**
 * The page side of the download Service Worker (`download-worker.ts`): registers it on an explicit
 * call, and hands it a decrypted stream to answer one navigation with, so the browser saves a file
 * of any size as it arrives. The stream is transferred to the worker where the browser can transfer
 * a ReadableStream (Chromium, Firefox); elsewhere (WebKit) it goes chunk by chunk over a
 * MessageChannel, one chunk per pull of the worker, so decryption runs no further ahead than the disk.
 *
 * The message shapes are written out again in `download-worker.ts` (a classic script, it cannot
 * import them); `PROTOCOL` is checked on both sides and the two files change together.
 */
import { TransferError } from './errors.js'

const PROTOCOL = 'bucketseal-download/1'
/**
 * The worker's scope, beside its script. Download URLs are `<scope><32 hex digits>`, and nothing
 * else lives there: so the worker controls no page or Worker of the app, and no request of theirs
 * (an upload's parts, say) ever passes through it.
 */
const SCOPE_PATH = 'bucketseal-download/'
const DEFAULT_START_TIMEOUT_MS = 30_000
/** Each message event restarts the browser's idle timer of the worker (about 30 s). */
const KEEPALIVE_MS = 10_000

export interface DownloadWorkerOptions {
  /**
   * The worker script: `@bucketseal/client/download-worker` (`dist/download-worker.js`), a classic
   * script with no imports, served from your origin (copy it to `public/`, or in Vite
   * `import url from '@bucketseal/client/download-worker?worker&url'`).
   */
  readonly url: string | URL
  /** `'module'` where a dev server serves the script as a module (Vite dev, `?worker&url`). Default `'classic'`. */
  readonly type?: WorkerType
  /**
   * `'messages'` sends chunks over a MessageChannel even where streams can be transferred: what
   * WebKit gets, for testing that path in other engines. Default `'auto'`.
   */
  readonly mode?: 'auto' | 'messages'
  /** How long a handed-over stream waits for the worker to answer or the browser to fetch it. Default 30,000 ms. */
  readonly startTimeoutMs?: number
}

/** A file to serve: the name the browser saves it under, and its exact size (sent as `Content-Length`). */
export interface ServedFile {
  readonly name: string
  readonly size: number
}

export interface ServedDownload {
  /** Answers one GET, from a navigation (or a fetch by a page the worker controls); then 404. */
  readonly url: string
  /**
   * Settles when the download ends: resolves once the browser took the last byte; rejects with the
   * stream's own error (TAMPERED, NETWORK, …), with `ABORTED` when the browser cancelled (the user
   * cancelled the download), or with `WORKER_FAILED` when nobody fetched `url` in time.
   */
  readonly done: Promise<void>
}

/** A registered download worker, from {@link installDownloadWorker}; pass it to `saveDownload`. */
export interface DownloadWorker {
  /** The registration's scope: `bucketseal-download/` beside the script, as an absolute URL. */
  readonly scope: string
  /**
   * Hands `stream` to the worker under a fresh random id; resolves with the URL that answers it.
   * The stream is consumed only when that URL is fetched; on any failure it is cancelled.
   *
   * @throws {TransferError} WORKER_FAILED when the worker is gone or does not answer;
   *   INVALID_ARGUMENT for a bad size.
   */
  serve(stream: ReadableStream<Uint8Array>, file: ServedFile): Promise<ServedDownload>
}

/**
 * Registers the download Service Worker and waits until it is active. Call it once, early (say at
 * start-up): registration is explicit, never a side effect of an import. Resolves with `null` where
 * the browser has no Service Workers (an insecure context, Firefox's private windows); `saveDownload`
 * then assembles downloads in memory.
 *
 * The worker is registered with the scope `bucketseal-download/` beside its script (for
 * `/download-worker.js`, `/bucketseal-download/`), which holds only its download URLs: it controls
 * no page or Worker of the app, so no other request ever goes through it, and it sits beside any
 * Service Worker the app has of its own.
 *
 * @throws {TransferError} WORKER_FAILED when the script cannot be registered (a 404, a wrong MIME
 *   type) or fails to install.
 * @example
 * import workerUrl from '@bucketseal/client/download-worker?worker&url' // Vite; or copy dist/download-worker.js
 * const downloadWorker = await installDownloadWorker({ url: workerUrl }).catch(() => null)
 * // later, in a click handler:
 * await saveDownload(await download(key, { signer, keys }), { downloadWorker })
 */
export async function installDownloadWorker(options: DownloadWorkerOptions): Promise<DownloadWorker | null> {
  const container = typeof navigator === 'undefined' ? undefined : navigator.serviceWorker
  if (container === undefined || container === null) return null
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
  if (!Number.isFinite(startTimeoutMs) || startTimeoutMs <= 0) throw new TransferError('INVALID_ARGUMENT', `startTimeoutMs must be a positive number of milliseconds, not ${startTimeoutMs}.`)
  let registration: ServiceWorkerRegistration
  try {
    // Never the default scope (the script's directory, `/` for a script in `public/`): that would
    // put every page and Worker of the app under this worker (see SCOPE_PATH).
    const scope = new URL(SCOPE_PATH, new URL(options.url, location.href)).href
    registration = await container.register(options.url, { scope, type: options.type ?? 'classic', updateViaCache: 'none' })
  } catch (e) {
    throw new TransferError('WORKER_FAILED', `The download worker could not be registered from ${String(options.url)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
  }
  await activated(registration)
  const transfer = options.mode !== 'messages' && canTransferStreams()
  return {
    scope: registration.scope,
    serve: (stream, file) => serve(registration, transfer, startTimeoutMs, stream, file),
  }
}

function activated(registration: ServiceWorkerRegistration): Promise<void> {
  const worker = registration.installing ?? registration.waiting ?? registration.active
  if (worker === null) return Promise.reject(new TransferError('WORKER_FAILED', 'The download worker registration has no worker.'))
  if (worker.state === 'activated') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (worker.state === 'activated') {
        worker.removeEventListener('statechange', check)
        resolve()
      } else if (worker.state === 'redundant') {
        worker.removeEventListener('statechange', check)
        reject(new TransferError('WORKER_FAILED', 'The download worker failed to install (see the browser console for its error).'))
      }
    }
    worker.addEventListener('statechange', check)
    check()
  })
}

let transferable: boolean | undefined
/** Whether this browser can post a ReadableStream (Chromium 87, Firefox 103; not WebKit). */
function canTransferStreams(): boolean {
  if (transferable !== undefined) return transferable
  const { port1, port2 } = new MessageChannel()
  try {
    const probe = new ReadableStream()
    port1.postMessage(probe, [probe])
    transferable = true
  } catch {
    transferable = false
  } finally {
    port1.close()
    port2.close()
  }
  return transferable
}

function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Worker → page, over the download's port. */
type WorkerMessage = { readonly kind: 'ready' | 'started' | 'pull' | 'cancel' }

function isWorkerMessage(v: unknown): v is WorkerMessage {
  return typeof v === 'object' && v !== null && 'kind' in v && (v.kind === 'ready' || v.kind === 'started' || v.kind === 'pull' || v.kind === 'cancel')
}

/** A chunk as it crosses to the worker: its own buffer is transferred, a view into a larger one copied first. */
function ownBuffer(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
  const b = chunk.buffer
  return b instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === b.byteLength ? new Uint8Array(b) : chunk.slice()
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e)
}

async function serve(registration: ServiceWorkerRegistration, transfer: boolean, startTimeoutMs: number, stream: ReadableStream<Uint8Array>, file: ServedFile): Promise<ServedDownload> {
  if (!Number.isSafeInteger(file.size) || file.size < 0) {
    await stream.cancel()
    throw new TransferError('INVALID_ARGUMENT', `file.size must be a whole number of bytes, not ${file.size}.`)
  }
  const worker = registration.active
  if (worker === null) {
    await stream.cancel()
    throw new TransferError('WORKER_FAILED', 'The download worker is not active any more (was it unregistered?).')
  }
  const id = randomId()
  const url = new URL(id, registration.scope).href
  const { port1: port, port2 } = new MessageChannel()
  const reader = stream.getReader()

  let settle!: (error: unknown) => void
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error))
  })
  done.catch(() => undefined)
  let settled = false
  let ready = false
  let started = false
  const finish = (error?: unknown): void => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    clearInterval(keepalive)
    port.close()
    if (error !== undefined) void reader.cancel(error).catch(() => undefined)
    settle(error)
  }
  const timer = setTimeout(() => {
    if (started) return
    port.postMessage({ kind: 'abandon' })
    finish(new TransferError('WORKER_FAILED', `The download worker did not ${ready ? 'receive a request for' : 'answer'} ${url} within ${startTimeoutMs} ms.`))
  }, startTimeoutMs)
  const keepalive = setInterval(() => worker.postMessage({ protocol: PROTOCOL, kind: 'keepalive' }), KEEPALIVE_MS)
  const cancelled = (): TransferError => new TransferError('ABORTED', 'The browser cancelled the download (the user cancelled it, or the page went away).')

  /** One chunk for the worker, or null at the end (the caller passes the end on, then finishes). */
  const next = async (): Promise<Uint8Array<ArrayBuffer> | null> => {
    const { done: end, value } = await reader.read()
    return end ? null : ownBuffer(value)
  }

  const readyOrFailed = new Promise<void>((resolve, reject) => {
    done.catch(reject)
    port.onmessage = (event) => {
      const msg: unknown = event.data
      if (!isWorkerMessage(msg) || settled) return
      switch (msg.kind) {
        case 'ready':
          ready = true
          resolve()
          break
        case 'started':
          started = true
          break
        case 'pull':
          next().then(
            (chunk) => {
              if (chunk !== null) return port.postMessage({ kind: 'chunk', chunk }, [chunk.buffer])
              port.postMessage({ kind: 'end' })
              finish()
            },
            (e: unknown) => {
              port.postMessage({ kind: 'error', message: describe(e) })
              finish(e)
            },
          )
          break
        case 'cancel':
          finish(cancelled())
          break
      }
    }
  })

  let body: ReadableStream<Uint8Array> | null = null
  if (transfer) {
    body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          let chunk: Uint8Array<ArrayBuffer> | null
          try {
            chunk = await next()
          } catch (e) {
            finish(e)
            throw e
          }
          if (chunk !== null) return controller.enqueue(chunk)
          controller.close()
          finish()
        },
        cancel() {
          finish(cancelled())
        },
      },
      { highWaterMark: 0 },
    )
  }
  try {
    worker.postMessage({ protocol: PROTOCOL, kind: 'serve', id, name: file.name, size: file.size, stream: body }, body === null ? [port2] : [port2, body])
  } catch (e) {
    finish(new TransferError('WORKER_FAILED', `The stream could not be handed to the download worker: ${describe(e)}`, { cause: e }))
  }
  await readyOrFailed
  return { url, done }
}
