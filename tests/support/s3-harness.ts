/// <reference types="node" />
/**
 * The S3 side of the browser tests, running in the Vitest (Node) process: the presigning handler
 * of `@bucketseal/server` mounted on the test page's own origin at `/api/s3`, in front of the real
 * Ceph RGW that scripts/test.sh starts, with the fault proxy between the browser and the store; and
 * browser commands with which a test injects faults, reads the proxy's counters and tampers with
 * stored objects as an attacker with write access to the bucket would.
 */
// By path, not by package name: Vite bundles the config with its relative imports, but would
// leave a workspace package to Node, which cannot load its TypeScript source.
import { createPresignHandler, toNodeListener } from '../../packages/server/src/index.ts'
import { S3Client } from '../../packages/server/src/subpath-s3.ts'
import type { Plugin } from 'vite'
import type { BrowserCommand } from 'vitest/node'
import { type FaultProxy, type FaultRule, type ProxyStats, type PutDigest, startFaultProxy } from './fault-proxy.ts'

/** A fixed SSE-C customer key for the tests (a store-side key; it never protects real data). */
const SSE_C_TEST_KEY = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 255)

/** Object keys the test hook allows; anything else is denied (to test the authorization hook). */
export const ALLOWED_PREFIX = 'test/'

interface Env {
  readonly endpoint: string
  readonly region: string
  readonly bucket: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

function env(): Env | null {
  const e = process.env
  if (!e.S3_ENDPOINT || !e.S3_BUCKET || !e.S3_ACCESS_KEY_ID || !e.S3_SECRET_ACCESS_KEY) return null
  return {
    endpoint: e.S3_ENDPOINT,
    region: e.S3_REGION ?? 'us-east-1',
    bucket: e.S3_BUCKET,
    accessKeyId: e.S3_ACCESS_KEY_ID,
    secretAccessKey: e.S3_SECRET_ACCESS_KEY,
  }
}

const MISSING = 'No S3 server: S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are not set. Run the tests with ./scripts/test.sh, which starts Ceph RGW.'

let proxy: Promise<FaultProxy> | null = null
function getProxy(): Promise<FaultProxy> {
  const e = env()
  if (e === null) return Promise.reject(new Error(MISSING))
  proxy ??= startFaultProxy(e.endpoint)
  return proxy
}

function s3(): S3Client {
  const e = env()
  if (e === null) throw new Error(MISSING)
  return new S3Client({ endpoint: e.endpoint, region: e.region, bucket: e.bucket, credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey } })
}

/** Vite plugin: `/api/s3` on the test server, presigning URLs that go through the fault proxy. */
export function s3HarnessPlugin(): Plugin {
  return {
    name: 'bucketseal-s3-harness',
    async configureServer(server) {
      const e = env()
      if (e === null) {
        server.middlewares.use('/api/s3', (_req, res) => {
          res.statusCode = 503
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify({ error: { code: 'NO_S3', message: MISSING } }))
        })
        return
      }
      const p = await getProxy()
      const common = {
        endpoint: p.url,
        region: e.region,
        bucket: e.bucket,
        credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
        authorize: ({ key }: { key: string }) => key.startsWith(ALLOWED_PREFIX),
      }
      const listener = toNodeListener(createPresignHandler({ ...common, basePath: '/api/s3' }))
      // The same store with SSE-C as a second layer: the server's customer key is signed into every
      // part, GET and HEAD the browser makes.
      const ssec = toNodeListener(
        createPresignHandler({ ...common, basePath: '/api/s3-ssec', serverSideEncryption: { mode: 'SSE-C', key: SSE_C_TEST_KEY } }),
      )
      server.middlewares.use((req, res, next) => {
        if (req.url?.startsWith('/api/s3/') === true) listener(req, res)
        else if (req.url?.startsWith('/api/s3-ssec/') === true) ssec(req, res)
        else next()
      })
      server.httpServer?.once('close', () => void p.close())
    },
  }
}

async function getObject(key: string): Promise<Uint8Array<ArrayBuffer>> {
  const url = await s3().presignObject('GET', key, { expiresIn: 60 })
  const res = await fetch(url)
  if (!res.ok) throw new Error(`GET ${key}: HTTP ${res.status}`)
  return new Uint8Array(await res.arrayBuffer())
}

async function putObject(key: string, body: Uint8Array<ArrayBuffer>, metadata: Readonly<Record<string, string>>): Promise<void> {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(metadata)) headers[`x-amz-meta-${k}`] = v
  const url = await s3().presignObject('PUT', key, { expiresIn: 60, headers })
  const res = await fetch(url, { method: 'PUT', body, headers })
  if (!res.ok) throw new Error(`PUT ${key}: HTTP ${res.status} ${await res.text()}`)
}

const setFaults: BrowserCommand<[rules: FaultRule[]]> = async (_ctx, rules) => {
  ;(await getProxy()).setFaults(rules)
}
const proxyStats: BrowserCommand<[]> = async (): Promise<ProxyStats> => (await getProxy()).stats()
const resetProxyStats: BrowserCommand<[]> = async () => {
  ;(await getProxy()).resetStats()
}
const proxyPutDigests: BrowserCommand<[]> = async (): Promise<readonly PutDigest[]> => (await getProxy()).putDigests()
const redirectsFollowed: BrowserCommand<[]> = async (): Promise<number> => (await getProxy()).redirectsFollowed()
const pendingMultipartUploads: BrowserCommand<[prefix: string]> = async (_ctx, prefix) => (await s3().listMultipartUploads(prefix)).length
/** Rewrites a stored object with byte `offset` flipped (metadata kept): an attacker with bucket write access. */
const flipStoredByte: BrowserCommand<[key: string, offset: number]> = async (_ctx, key, offset) => {
  const head = await s3().headObject(key)
  const body = await getObject(key)
  body[offset] = (body[offset] ?? 0) ^ 0x01
  await putObject(key, body, head.metadata)
}
/** Rewrites a stored object cut to `length` bytes (metadata kept). */
const truncateStored: BrowserCommand<[key: string, length: number]> = async (_ctx, key, length) => {
  const head = await s3().headObject(key)
  const body = await getObject(key)
  await putObject(key, body.subarray(0, length), head.metadata)
}
/** Stores raw bytes (already encrypted by the test) with the given user metadata. */
const putStored: BrowserCommand<[key: string, base64: string, metadata: Record<string, string>]> = async (_ctx, key, base64, metadata) => {
  await putObject(key, new Uint8Array(Buffer.from(base64, 'base64')), metadata)
}

/** Replaces a stored object's user metadata (body kept): an attacker who can write metadata. */
const setStoredMetadata: BrowserCommand<[key: string, metadata: Record<string, string>]> = async (_ctx, key, metadata) => {
  await putObject(key, await getObject(key), metadata)
}
/** The stored object's bytes, base64: to check what a rewrite kept. */
const getStored: BrowserCommand<[key: string]> = async (_ctx, key) => Buffer.from(await getObject(key)).toString('base64')

export const s3HarnessCommands = {
  setFaults,
  proxyStats,
  resetProxyStats,
  proxyPutDigests,
  redirectsFollowed,
  pendingMultipartUploads,
  flipStoredByte,
  truncateStored,
  putStored,
  setStoredMetadata,
  getStored,
}
