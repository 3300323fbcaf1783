/**
 * Node's `http` (and Express, which builds on it) speaks `(req, res)`, not `fetch`. This adapter turns
 * a fetch-style handler into a request listener. It names Node's types only structurally, so this
 * package needs neither `@types/node` nor a `node:` import, and still bundles for Workers.
 */

/** The part of Node's `http.IncomingMessage` the adapter reads. */
export interface NodeRequest extends AsyncIterable<Uint8Array | string> {
  readonly method?: string | undefined
  readonly url?: string | undefined
  /** Express keeps the full path here after a mount point (`app.use('/api/s3', …)`) trimmed `url`. */
  readonly originalUrl?: string | undefined
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** A TLS socket has `encrypted: true`; the URL handed to the handler then says `https:`. */
  readonly socket?: object | null | undefined
}

/** The part of Node's `http.ServerResponse` the adapter writes. */
export interface NodeResponse {
  statusCode: number
  setHeader(name: string, value: string | readonly string[]): unknown
  write(chunk: Uint8Array): boolean
  end(): unknown
  once(event: 'drain' | 'close', listener: () => void): unknown
  readonly headersSent?: boolean
  readonly destroyed?: boolean
}

/**
 * Wraps a fetch-style handler as a Node request listener. The request body is streamed to the
 * handler, not buffered here; mount it before any body parser that would consume it.
 *
 * @param handler e.g. the result of {@link createPresignHandler}.
 * @returns a `(req, res) => void` for `http.createServer` or `app.use`.
 * @example
 * import { createServer } from 'node:http'
 * createServer(toNodeListener(createPresignHandler(options))).listen(8787)
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>): (req: NodeRequest, res: NodeResponse) => void {
  return (req, res) => {
    void serve(handler, req, res)
  }
}

async function serve(handler: (request: Request) => Promise<Response>, req: NodeRequest, res: NodeResponse): Promise<void> {
  let response: Response
  try {
    response = await handler(toRequest(req))
  } catch {
    // The presign handler answers its own errors; this is for handlers that throw.
    response = new Response(JSON.stringify({ error: { code: 'INTERNAL', message: 'The server failed to handle this request.' } }), {
      status: 500,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
  }
  res.statusCode = response.status
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value)
  }
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
  if (response.body !== null) {
    const reader = response.body.getReader()
    let closed = false
    res.once('close', () => {
      closed = true
    })
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (closed) {
        await reader.cancel()
        return
      }
      // Respect back-pressure: wait for the socket to drain before writing more.
      if (!res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve))
    }
  }
  res.end()
}

function toRequest(req: NodeRequest): Request {
  const host = first(req.headers['host']) ?? 'localhost'
  const socket = req.socket
  const scheme = typeof socket === 'object' && socket !== null && 'encrypted' in socket && socket.encrypted === true ? 'https' : 'http'
  const url = new URL(req.originalUrl ?? req.url ?? '/', `${scheme}://${host}`)
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue
    if (typeof value === 'string') headers.set(name, value)
    else for (const v of value) headers.append(name, v)
  }
  const method = req.method ?? 'GET'
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers })
  const iterator = req[Symbol.asyncIterator]()
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iterator.next()
      if (done === true) controller.close()
      else controller.enqueue(typeof value === 'string' ? new TextEncoder().encode(value) : value)
    },
    async cancel() {
      await iterator.return?.()
    },
  })
  // `duplex` is required by Node's fetch for a streamed body, and not yet in the DOM typings.
  const init: RequestInit & { duplex: 'half' } = { method, headers, body, duplex: 'half' }
  return new Request(url, init)
}

function first(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0]
}
