/**
 * The demo's one server: the page (Vite, in middleware mode), the presigning backend of
 * `@bucketseal/server` at `/api/s3`, and two small JSON routes. The browser encrypts; this process
 * holds the store's credentials and hands out short-lived presigned URLs, never seeing a key or a
 * byte of plaintext.
 *
 *   GET  /api/config    which store is in use (no secrets)
 *   GET  /api/objects   the demo's objects with their header mirror and SSE mode (server/objects.ts)
 *   POST /api/s3/<action>  createMultipart, signParts, …, head, replaceMetadata and copyParts (sharing), …
 *
 * Run it with ./scripts/demo.sh (which starts a local Ceph RGW), or `node demo/start.mjs` with the
 * `S3_*` variables of any S3-compatible store set.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { createPresignHandler, toNodeListener } from '@bucketseal/server'
import { S3Client } from '@bucketseal/server/s3'
import { createServer as createViteServer } from 'vite'
import { allowedHosts, checkRequest } from './server/hosts.js'
import { objectsRoute } from './server/objects.js'
import { type StoreConfig, storeFromEnv, storeInfo } from './server/store.js'

/** Every object the demo writes lives under this prefix, with an opaque random name. */
export const OBJECT_PREFIX = 'demo/'

export interface DemoOptions {
  readonly store: StoreConfig
  /** Default 5173; 0 picks a free port. */
  readonly port?: number
  /** Default 127.0.0.1: the demo has no login, so it listens on loopback only. */
  readonly host?: string
  /** Where the page may read and write objects; default {@link OBJECT_PREFIX}. */
  readonly prefix?: string
  /**
   * Reload the page when its source changes (default `true`). Tests turn it off: another engineer
   * saving a file must not reload the page under them.
   */
  readonly watch?: boolean
  /**
   * More Host names to answer to besides localhost, 127.0.0.1 and [::1] on the demo's port
   * (`DEMO_ALLOWED_HOSTS`, comma-separated `name` or `name:port`). Every other Host is refused, so
   * that a page elsewhere cannot reach the presigner through DNS rebinding.
   */
  readonly allowedHosts?: string
}

export interface Demo {
  /** The page's address, such as `http://localhost:5173/`. */
  readonly url: string
  close(): Promise<void>
}

const VITE_CONFIG = fileURLToPath(new URL('./vite.config.ts', import.meta.url))

/**
 * Starts the demo server.
 * @throws {Error} the port is taken, or the store settings are malformed.
 * @example
 * const demo = await startDemo({ store: storeFromEnv(process.env), port: 0 })
 */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const { store } = options
  const location = {
    endpoint: store.endpoint,
    region: store.region,
    bucket: store.bucket,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    ...(store.forcePathStyle === undefined ? {} : { forcePathStyle: store.forcePathStyle }),
    // Off unless S3_SSE asks: the store then encrypts the (already encrypted) objects at rest too.
    ...(store.serverSideEncryption === undefined ? {} : { serverSideEncryption: store.serverSideEncryption }),
  }
  const prefix = options.prefix ?? OBJECT_PREFIX
  const presign = createPresignHandler({
    ...location,
    // The place where an app enforces its own rules: may this request touch this object key? A real
    // app reads the user's session from `request` (a cookie, a bearer token) and allows only that
    // user's prefix, say `users/<id>/`. The demo has no users: it allows its own prefix and nothing
    // else in the bucket, so the page cannot have a request presigned for any other object.
    authorize: ({ key }) => key.startsWith(prefix) && key.length > prefix.length,
  })
  const objects = objectsRoute(new S3Client(location), prefix)
  const config = { store: storeInfo(store), prefix }
  const api = toNodeListener(async (request) => {
    const path = new URL(request.url).pathname
    if (path.startsWith('/api/s3/')) return presign(request)
    if (path === '/api/objects') return objects(request)
    if (path === '/api/config') return Response.json(config)
    return Response.json({ error: { code: 'NOT_FOUND', message: `No route ${path}.` } }, { status: 404 })
  })
  const server = createServer()
  // Vite serves the page in middleware mode, its live-reload socket on this same server and port.
  const vite = await createViteServer({
    configFile: VITE_CONFIG,
    server: { middlewareMode: true, hmr: { server }, ...(options.watch === false ? { watch: null } : {}) },
  })
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 5173
  // Known once the server listens (port 0 picks one); nothing is served before that.
  let allowed: ReadonlySet<string> = new Set()
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const refusal = checkRequest(allowed, { host: req.headers.host, origin: req.headers.origin, path: req.url ?? '/' })
    if (refusal !== null) {
      res.writeHead(refusal.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
      res.end(JSON.stringify({ error: { code: refusal.code, message: refusal.message } }))
      return
    }
    if (req.url?.startsWith('/api/') === true) api(req, res)
    else vite.middlewares(req, res)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
  } catch (error) {
    await vite.close()
    const taken = error instanceof Error && 'code' in error && error.code === 'EADDRINUSE'
    throw taken ? new Error(`Port ${port} on ${host} is taken: set PORT to another one.`) : error
  }
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('The demo server has no TCP port.')
  try {
    allowed = allowedHosts(address.port, host, options.allowedHosts)
  } catch (error) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await vite.close()
    throw error
  }
  return {
    // `localhost` for loopback: the bucket's CORS rules name it (scripts/rgw/bucket.mjs).
    url: `http://${host === '127.0.0.1' ? 'localhost' : host}:${address.port}/`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await vite.close()
    },
  }
}

/** The command line (demo/start.mjs): settings from the environment (`PORT`, `HOST`, `DEMO_ALLOWED_HOSTS`, `S3_*`), stop on Ctrl-C. */
export async function main(): Promise<void> {
  const store = storeFromEnv(process.env)
  const { PORT, HOST, DEMO_ALLOWED_HOSTS } = process.env
  const demo = await startDemo({
    store,
    ...(PORT ? { port: Number(PORT) } : {}),
    ...(HOST ? { host: HOST } : {}),
    ...(DEMO_ALLOWED_HOSTS ? { allowedHosts: DEMO_ALLOWED_HOSTS } : {}),
  })
  const sse = store.serverSideEncryption === undefined ? '' : `, server-side encryption ${store.serverSideEncryption.mode}`
  console.log(`\n  Bucketseal demo: ${demo.url}\n  store: ${store.label} (${store.endpoint}, bucket ${store.bucket}${sse})\n  Ctrl-C stops it.\n`)
  const stop = (): void => void demo.close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
