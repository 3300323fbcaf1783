/// <reference types="node" />
/**
 * A small HTTP proxy between the browser and the S3 server, for tests: it forwards every request
 * unchanged (the Host header too, so SigV4 signatures made for the proxy's address still verify at
 * the store) and injects the faults a test asks for: 500s, connections dropped mid-request, a 403
 * as from an expired URL, a response without its ETag. It also counts the bytes the store sent.
 */
import { createHash } from 'node:crypto'
import { type IncomingMessage, type ServerResponse, createServer, request } from 'node:http'

/**
 * `stall`: a PUT's body is read and never answered; a GET gets its status, headers and the first
 * 64 KiB of the body, then nothing more (the connection stays open), as a stuck link would.
 * `ignore-range`: the Range header is dropped, so the store answers 200 with the whole object.
 * `no-cors`: the answer loses its CORS headers, as from a bucket whose CORS rules omit the origin.
 * `redirect`: a 307 to `/__redirected` on the proxy, which stands for another server: it accepts
 * anything (200 with an ETag), so a client that followed the redirect would believe it succeeded.
 */
export type FaultAction = 'status-500' | 'status-503' | 'drop' | 'expired' | 'strip-etag' | 'stall' | 'ignore-range' | 'no-cors' | 'redirect'

export interface FaultRule {
  /** HTTP method to match (default any). */
  readonly method?: string
  /** A substring of the path and query to match (e.g. `partNumber=2`). */
  readonly match?: string
  readonly action: FaultAction
  /** How many matching requests get the fault (default 1). */
  readonly times?: number
}

export interface ProxyStats {
  /** Requests seen, by method. */
  readonly requests: Record<string, number>
  /** Response body bytes sent to clients for GET requests. */
  readonly bytesSent: number
  /** Request body bytes received from clients for PUT requests. */
  readonly bytesReceived: number
  /** Faults injected so far. */
  readonly faults: number
}

/** The SHA-256 of a PUT body that reached the store, by part: no part may get two different bodies. */
export interface PutDigest {
  /** The path and query, without the signature (so re-signed resends compare equal). */
  readonly target: string
  readonly sha256: string
  /** True for a body the proxy took and never answered (a `stall` fault). */
  readonly stalled?: boolean
}

/** A request body the proxy kept (only with `recordBodies`). */
export interface RecordedBody {
  readonly method: string
  readonly path: string
  readonly body: Buffer
}

export interface FaultProxyOptions {
  /**
   * Keep every request body that goes through (in memory): a browser cannot show the test the body
   * of a request sent from a file (the uploader's parts), but the proxy sees every byte on the wire.
   */
  readonly recordBodies?: boolean
}

export interface FaultProxy {
  readonly url: string
  /** Bodies seen so far, when started with `recordBodies`. */
  bodies(): readonly RecordedBody[]
  /** Digests of every PUT body forwarded to the store since the start (faulted requests excluded). */
  putDigests(): readonly PutDigest[]
  /** Requests that reached the `redirect` fault's target (a client that followed the redirect). */
  redirectsFollowed(): number
  setFaults(rules: readonly FaultRule[]): void
  stats(): ProxyStats
  resetStats(): void
  close(): Promise<void>
}

/** A request target without its SigV4 query parameters. */
function unsigned(target: string): string {
  const url = new URL(target, 'http://proxy')
  for (const name of [...url.searchParams.keys()]) if (name.toLowerCase().startsWith('x-amz-')) url.searchParams.delete(name)
  return `${url.pathname}?${url.searchParams.toString()}`
}

export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const to = new URL(target)
  const recorded: RecordedBody[] = []
  const digests: PutDigest[] = []
  let redirectedTo = 0
  let rules: Array<FaultRule & { left: number }> = []
  const empty = (): { requests: Record<string, number>; bytesSent: number; bytesReceived: number; faults: number } => ({
    requests: {},
    bytesSent: 0,
    bytesReceived: 0,
    faults: 0,
  })
  let stats = empty()
  const take = (req: IncomingMessage): FaultAction | null => {
    if (req.method === 'OPTIONS') return null
    for (const r of rules) {
      if (r.left <= 0) continue
      if (r.method !== undefined && r.method !== req.method) continue
      if (r.match !== undefined && !(req.url ?? '').includes(r.match)) continue
      r.left--
      stats.faults++
      return r.action
    }
    return null
  }
  const cors = (req: IncomingMessage, res: ServerResponse): void => {
    const origin = req.headers.origin
    if (origin !== undefined) {
      res.setHeader('access-control-allow-origin', origin)
      res.setHeader('access-control-expose-headers', 'ETag')
    }
  }
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET'
    if ((req.url ?? '').startsWith('/__redirected')) {
      redirectedTo++
      cors(req, res)
      if (method === 'OPTIONS') {
        res.setHeader('access-control-allow-methods', 'GET, PUT, HEAD')
        res.setHeader('access-control-allow-headers', req.headers['access-control-request-headers'] ?? '*')
        res.statusCode = 204
        res.end()
        return
      }
      req.resume()
      req.on('end', () => {
        res.setHeader('etag', '"redirected"')
        res.end('ok')
      })
      return
    }
    stats.requests[method] = (stats.requests[method] ?? 0) + 1
    const fault = take(req)
    if (fault === 'status-500' || fault === 'status-503' || fault === 'expired') {
      req.resume()
      req.on('end', () => {
        cors(req, res)
        res.statusCode = fault === 'expired' ? 403 : fault === 'status-500' ? 500 : 503
        res.setHeader('content-type', 'application/xml')
        const code = fault === 'expired' ? 'AccessDenied' : 'InternalError'
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${fault === 'expired' ? 'Request has expired' : 'injected fault'}</Message></Error>`)
      })
      return
    }
    if (fault === 'stall' && method !== 'GET') {
      // Recorded like a forwarded body: a test checks that the resend carried the same bytes.
      const hash = createHash('sha256')
      req.on('data', (d: Buffer) => hash.update(d))
      req.on('end', () => digests.push({ target: unsigned(req.url ?? ''), sha256: hash.digest('hex'), stalled: true }))
      return
    }
    if (fault === 'redirect') {
      req.resume()
      req.on('end', () => {
        cors(req, res)
        res.statusCode = 307
        res.setHeader('location', `/__redirected${req.url ?? ''}`)
        res.end()
      })
      return
    }
    if (fault === 'drop') {
      // Let part of the body arrive, then cut the connection, as a flaky network would.
      let seen = 0
      req.on('data', (d: Buffer) => {
        seen += d.length
        if (seen > 64 * 1024 || method !== 'PUT') req.socket.destroy()
      })
      req.on('end', () => req.socket.destroy())
      return
    }
    const headers = { ...req.headers }
    if (fault === 'ignore-range') delete headers.range
    const upstream = request(
      { host: to.hostname, port: to.port, method, path: req.url, headers },
      (up) => {
        const headers = { ...up.headers }
        if (fault === 'strip-etag') {
          delete headers.etag
          delete headers['access-control-expose-headers']
        }
        if (fault === 'no-cors') for (const name of Object.keys(headers)) if (name.startsWith('access-control-')) delete headers[name]
        res.writeHead(up.statusCode ?? 502, headers)
        if (fault === 'stall') {
          let sent = 0
          up.on('data', (d: Buffer) => {
            if (sent >= 64 * 1024) return
            const piece = d.subarray(0, 64 * 1024 - sent)
            sent += piece.length
            stats.bytesSent += piece.length
            res.write(piece)
          })
          return
        }
        up.on('data', (d: Buffer) => {
          if (method === 'GET') stats.bytesSent += d.length
        })
        up.pipe(res)
      },
    )
    upstream.on('error', () => res.destroy())
    const pieces: Buffer[] = []
    const hash = createHash('sha256')
    req.on('data', (d: Buffer) => {
      if (method === 'PUT') {
        stats.bytesReceived += d.length
        hash.update(d)
      }
      if (options.recordBodies === true) pieces.push(d)
    })
    req.on('end', () => {
      if (options.recordBodies === true && pieces.length > 0) recorded.push({ method, path: req.url ?? '', body: Buffer.concat(pieces) })
      if (method === 'PUT') digests.push({ target: unsigned(req.url ?? ''), sha256: hash.digest('hex') })
    })
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('The fault proxy did not get a TCP port.')
  const { port } = address
  return {
    url: `http://127.0.0.1:${port}`,
    bodies: () => recorded,
    putDigests: () => [...digests],
    redirectsFollowed: () => redirectedTo,
    setFaults(next) {
      rules = next.map((r) => ({ ...r, left: r.times ?? 1 }))
    },
    stats: () => ({ ...stats, requests: { ...stats.requests } }),
    resetStats() {
      stats = empty()
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
