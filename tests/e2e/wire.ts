/// <reference types="node" />
/**
 * What the browsers sent, as it went over the wire: a forwarding HTTP proxy that keeps every
 * request's method, URL, headers and body. The journey puts one in front of the demo server (the
 * page, its API) and one in front of the store, so it sees every request of a page and of its
 * Workers, in every engine alike: a browser's own network events show neither the bodies of
 * requests sent from a file (the uploader's parts) nor, over WebDriver BiDi, any request body.
 */
import { type IncomingMessage, createServer, request } from 'node:http'
import { connect } from 'node:net'
import type { RecordedRequest } from './recorder.js'

export interface WireRecorder {
  /** `http://127.0.0.1:<port>`: what the browser is pointed at instead of the target. */
  readonly url: string
  readonly port: number
  /** Where requests go; set before the first one arrives. */
  forwardTo(target: string): void
  close(): Promise<void>
}

/**
 * Starts a recorder that appends what it forwards to `log` (shared by several recorders, so the
 * log is in the order requests arrived), each URL prefixed with `label`. The Host header is passed
 * on unchanged, so presigned URLs made for the recorder's address still verify at the store.
 * WebSocket upgrades (Vite's live-reload socket) are piped through, unrecorded.
 */
export async function startWireRecorder(log: RecordedRequest[], label: string): Promise<WireRecorder> {
  let to: URL | null = null
  const headersOf = (req: IncomingMessage): Record<string, string> => {
    const out: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
    return out
  }
  const server = createServer((req, res) => {
    if (to === null) {
      res.writeHead(503).end('no target yet')
      return
    }
    const pieces: Buffer[] = []
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.on('data', (d: Buffer) => pieces.push(d))
    req.on('end', () => log.push({ method: req.method ?? 'GET', url: `${label}${req.url ?? ''}`, headers: headersOf(req), body: Buffer.concat(pieces) }))
    req.pipe(upstream)
  })
  server.on('upgrade', (req, socket, head) => {
    if (to === null) return socket.destroy()
    const upstream = connect(Number(to.port), to.hostname, () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      upstream.write(head)
      socket.pipe(upstream).pipe(socket)
    })
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('The wire recorder did not get a TCP port.')
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    forwardTo(target) {
      to = new URL(target)
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
