/// <reference lib="webworker" />
/**
 * The download Service Worker (the package's `./download-worker` entry): answers a navigation to
 * `<scope><id>` with the decrypted stream the page handed it under that id, as an attachment, so
 * the browser writes it to disk as it arrives; no whole file is ever held in memory. The page side
 * is `download-worker-client.ts` (`installDownloadWorker`, `saveDownload`), which registers it with
 * the scope `bucketseal-download/` beside the script: a scope that holds only download URLs, so the
 * worker controls no page or Worker of the app (a Service Worker sees every request of the clients
 * it controls, and a broad one would sit in the path of every upload).
 *
 * A classic script with no import or export: Firefox before 147 cannot start a module Service
 * Worker, and a bundler or a copy to `public/` must be able to ship this file as it is. So the
 * protocol's types are written out here and again in `download-worker-client.ts`; `PROTOCOL` is
 * checked on every message, and both files change together.
 *
 * It only passes bytes on: the page puts nothing but verified plaintext into the stream, and an
 * error there (TAMPERED, a network failure) errors the response, so the browser marks the download
 * failed. Any request that is not `<scope><32 hex digits>` goes to the network untouched (no
 * `respondWith`).
 */
;(() => {
  const PROTOCOL = 'bucketseal-download/1'
  const ID = /^[0-9a-f]{32}$/

  /** Page → worker, on the worker itself, with a MessagePort for the rest. */
  interface ServeMessage {
    readonly protocol: typeof PROTOCOL
    readonly kind: 'serve'
    readonly id: string
    readonly name: string
    readonly size: number
    /** Transferred where the browser can (Chromium, Firefox); else chunks come over the port. */
    readonly stream: ReadableStream<Uint8Array> | null
  }
  /** Page → worker over the port, answering a `pull` (the MessageChannel mode). */
  type PortMessage =
    | { readonly kind: 'chunk'; readonly chunk: Uint8Array }
    | { readonly kind: 'end' }
    | { readonly kind: 'error'; readonly message: string }
    | { readonly kind: 'abandon' }

  interface Entry {
    readonly name: string
    readonly size: number
    readonly port: MessagePort
    readonly stream: ReadableStream<Uint8Array> | null
  }

  // Loaded anywhere else (a test runner importing every entry, say), it does nothing.
  const global: unknown = globalThis
  if (typeof ServiceWorkerGlobalScope === 'undefined' || !(global instanceof ServiceWorkerGlobalScope)) return
  const scope = global
  const entries = new Map<string, Entry>()

  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null

  function isServeMessage(v: unknown): v is ServeMessage {
    return (
      isRecord(v) &&
      v.protocol === PROTOCOL &&
      v.kind === 'serve' &&
      typeof v.id === 'string' &&
      ID.test(v.id) &&
      typeof v.name === 'string' &&
      typeof v.size === 'number' &&
      Number.isSafeInteger(v.size) &&
      v.size >= 0 &&
      (v.stream === null || v.stream instanceof ReadableStream)
    )
  }

  function isPortMessage(v: unknown): v is PortMessage {
    if (!isRecord(v)) return false
    switch (v.kind) {
      case 'chunk':
        return v.chunk instanceof Uint8Array
      case 'error':
        return typeof v.message === 'string'
      case 'end':
      case 'abandon':
        return true
      default:
        return false
    }
  }

  // A new version takes over at once; an old one's downloads in flight end with it (the page sees
  // them fail), which only an app update can cause.
  scope.addEventListener('install', () => {
    void scope.skipWaiting()
  })
  scope.addEventListener('activate', (event) => {
    event.waitUntil(scope.clients.claim())
  })

  scope.addEventListener('message', (event) => {
    const data: unknown = event.data
    // Keep-alive pings (every few seconds while a download runs) need nothing but their arrival:
    // each message event restarts the browser's idle timer for this worker.
    if (!isServeMessage(data)) return
    const port = event.ports[0]
    if (port === undefined) return
    entries.set(data.id, { name: data.name, size: data.size, port, stream: data.stream })
    port.onmessage = (e) => {
      if (isPortMessage(e.data) && e.data.kind === 'abandon') {
        entries.delete(data.id)
        port.close()
      }
    }
    port.postMessage({ kind: 'ready' })
  })

  scope.addEventListener('fetch', (event) => {
    const id = downloadId(event.request.url)
    // Not a download URL: returning without respondWith leaves the request to the network, as if
    // there were no worker. (The scope holds only download URLs, but a page could still name others.)
    if (id === null) return
    const entry = entries.get(id)
    // One fetch per id: a reload or a second tab gets a 404, not a second (empty) copy.
    if (entry === undefined || event.request.method !== 'GET') {
      event.respondWith(new Response('This download is no longer available; start it again from the page.', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } }))
      return
    }
    entries.delete(id)
    entry.port.postMessage({ kind: 'started' })
    event.respondWith(
      new Response(entry.stream ?? portStream(entry.port), {
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Disposition': contentDisposition(entry.name),
          'Content-Length': String(entry.size),
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': 'no-store',
        },
      }),
    )
  })

  /** The id of a download URL (`<scope><32 hex digits>`, no query or fragment), else null. */
  function downloadId(href: string): string | null {
    const base = scope.registration.scope
    if (!href.startsWith(base)) return null
    const id = href.slice(base.length)
    return ID.test(id) ? id : null
  }

  /**
   * The MessageChannel mode (WebKit cannot transfer a ReadableStream): one `pull` message per chunk
   * the browser asks for, so the page decrypts no further ahead than the disk writes.
   */
  function portStream(port: MessagePort): ReadableStream<Uint8Array> {
    let waiting: { controller: ReadableStreamDefaultController<Uint8Array>; resolve: () => void } | null = null
    port.onmessage = (e) => {
      const w = waiting
      const msg: unknown = e.data
      if (w === null || !isPortMessage(msg)) return
      waiting = null
      if (msg.kind === 'chunk') w.controller.enqueue(msg.chunk)
      else if (msg.kind === 'end') {
        w.controller.close()
        port.close()
      } else {
        w.controller.error(new Error(msg.kind === 'error' ? msg.message : 'The page abandoned the download.'))
        port.close()
      }
      w.resolve()
    }
    return new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          return new Promise<void>((resolve) => {
            waiting = { controller, resolve }
            port.postMessage({ kind: 'pull' })
          })
        },
        cancel() {
          // The user cancelled the download, or the tab went away.
          port.postMessage({ kind: 'cancel' })
          port.close()
        },
      },
      { highWaterMark: 1 },
    )
  }

  /** RFC 6266 with RFC 8187's UTF-8 form, and a plain ASCII fallback for old clients. */
  function contentDisposition(name: string): string {
    const clean = name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim() || 'download'
    const ascii = clean.replace(/[^\u0020-\u007e]/g, '_').replace(/["%]/g, '_')
    const utf8 = encodeURIComponent(clean).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`
  }
})()
