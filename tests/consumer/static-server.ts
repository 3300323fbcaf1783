/// <reference types="node" />
/**
 * The app's backend for the built bundles: a tiny static file server for one output folder, with
 * the presigning handler of the installed `@bucketseal/server` at `/api/s3`, as an app's own
 * server would mount it. Loopback only; the page is opened as `http://localhost:<port>/`, an origin
 * the test bucket's CORS rules allow (scripts/rgw/bucket.mjs).
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'

export type Listener = (req: IncomingMessage, res: ServerResponse) => void

export interface Served {
  /** The page's address, `http://localhost:<port>/`. */
  readonly url: string
  close(): Promise<void>
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  // Module Workers and module scripts need a JavaScript MIME type.
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
}

async function serveFile(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
  const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path))
  const found = file.startsWith(root + sep) && (await stat(file).catch(() => null))?.isFile() === true
  if (!found || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`Not found: ${path}`)
    return
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
  if (req.method === 'HEAD') res.end()
  else createReadStream(file).pipe(res)
}

/** Starts the server on a free loopback port. */
export async function serveStatic(root: string, api: Listener): Promise<Served> {
  const rootDir = normalize(root)
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/s3/') === true) api(req, res)
    else
      serveFile(rootDir, req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error))
      })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('The static server has no TCP port.')
  return {
    url: `http://localhost:${address.port}/`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
