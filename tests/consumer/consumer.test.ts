/// <reference types="node" />
/**
 * The consumer-app suite: the packages as users get them (packed, installed with npm into a
 * scratch app, see scratch-app.ts), bundled by Vite (dev server and build), webpack 5 and esbuild
 * (bundlers.ts), and driven in Chromium against the Ceph RGW that scripts/test.sh starts. The page
 * (app/main.ts) reports what it saw; the assertions here are on those reports.
 *
 * Run alone: `eval "$(scripts/rgw.sh start)"` then `pnpm vitest run --project consumer`.
 */
import { randomBytes } from 'node:crypto'
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { chromiumArgs, chromiumPath } from '../../vite.config.ts'
import type { RunOptions } from './app/protocol.ts'
import { BUNDLINGS } from './bundlers.ts'
import { type ScratchApp, createScratchApp, typecheckApp } from './scratch-app.ts'
import type { Listener, Served } from './static-server.ts'

interface Store {
  readonly endpoint: string
  readonly region: string
  readonly bucket: string
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string }
}

/** The store from `S3_*`; without it the suite fails (never skips) and says how to get one. */
function storeFromEnv(): Store {
  const { S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY } = process.env
  if (!S3_ENDPOINT || !S3_BUCKET || !S3_ACCESS_KEY_ID || !S3_SECRET_ACCESS_KEY) {
    throw new Error(
      'The consumer-app tests need an S3 server: S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are not set. Run ./scripts/test.sh, or eval "$(scripts/rgw.sh start)" first.',
    )
  }
  return { endpoint: S3_ENDPOINT, region: S3_REGION ?? 'us-east-1', bucket: S3_BUCKET, credentials: { accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY } }
}

/** This run's objects in the shared bucket; the presigner allows nothing else, and afterAll empties it. */
const PREFIX = `consumer/${randomBytes(4).toString('hex')}/`

interface Suite {
  readonly store: Store
  readonly app: ScratchApp
  /** The presigner from the installed tarball, mounted as an app's backend would mount it. */
  readonly api: Listener
  readonly browser: Browser
}

/**
 * Starts `start` on first use and hands every caller its result or its error: each test that needs
 * the setup awaits it, so a failed setup fails every such test with its cause (a failing beforeAll
 * would only mark them skipped).
 */
function once<T>(start: () => Promise<T>): () => Promise<T> {
  let started: Promise<T> | null = null
  return () => (started ??= start())
}

/** What was set up so far, for afterAll to close even when the setup failed halfway. */
const opened: { app?: ScratchApp; browser?: Browser; store?: Store } = {}

const suite = once(async (): Promise<Suite> => {
  const store = storeFromEnv()
  opened.store = store
  const app = await createScratchApp()
  opened.app = app
  const { createPresignHandler, toNodeListener } = app.server
  const api = toNodeListener(createPresignHandler({ ...store, authorize: ({ key }) => key.startsWith(PREFIX) && key.length > PREFIX.length }))
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
  opened.browser = browser
  return { store, app, api, browser }
})

afterAll(async () => {
  await opened.browser?.close()
  const { app, store } = opened
  try {
    if (app !== undefined && store !== undefined) {
      // The store is shared and keeps its data in RAM: leave nothing behind.
      const s3 = new app.s3.S3Client(store)
      for (const { key, uploadId } of await s3.listMultipartUploads(PREFIX)) await s3.abortMultipartUpload(key, uploadId)
      for (const { key } of (await s3.listObjectsV2({ prefix: PREFIX })).objects) await s3.deleteObject(key)
    }
  } finally {
    await app?.close()
  }
})

/** Rewrites a stored object with byte `offset` flipped (metadata kept): an attacker with write access to the bucket. */
async function flipStoredByte(key: string, offset: number): Promise<void> {
  const { app, store } = await suite()
  const s3 = new app.s3.S3Client(store)
  const head = await s3.headObject(key)
  const got = await fetch(await s3.presignObject('GET', key, { expiresIn: 60 }))
  if (!got.ok) throw new Error(`GET ${key}: HTTP ${got.status}`)
  const body = new Uint8Array(await got.arrayBuffer())
  if (offset >= body.length) throw new Error(`${key} has ${body.length} bytes; cannot flip byte ${offset}`)
  body[offset] = (body[offset] ?? 0) ^ 0x01
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(head.metadata)) headers[`x-amz-meta-${k}`] = v
  const put = await fetch(await s3.presignObject('PUT', key, { expiresIn: 60, headers }), { method: 'PUT', body, headers })
  if (!put.ok) throw new Error(`PUT ${key}: HTTP ${put.status} ${await put.text()}`)
}

describe('the packed packages in a scratch app', () => {
  it('the app type-checks against the declarations the tarballs ship', async () => {
    await typecheckApp((await suite()).app)
  })
})

for (const bundling of BUNDLINGS) {
  describe(`bundled with ${bundling.name}`, () => {
    /** What the page logged: shown with a failing assertion. */
    const log: string[] = []
    const options: RunOptions = { prefix: `${PREFIX}${bundling.name.replace(/\W+/g, '-')}/`, workers: bundling.workers }
    /** For a failing assertion: the page's whole report, and what it logged. */
    const seen = (report?: unknown): string =>
      `${report === undefined ? '' : `report: ${JSON.stringify(report, null, 2)}\n`}page log (${bundling.name}):\n${log.slice(-40).join('\n') || '(empty)'}\n`
    const closing: { served?: Served; context?: BrowserContext } = {}

    /** The bundle, served, and open in a fresh browser context. */
    const open = once(async (): Promise<Page> => {
      const { app, api, browser } = await suite()
      const served = await bundling.serve(app.dir, api)
      closing.served = served
      const context = await browser.newContext()
      closing.context = context
      const page = await context.newPage()
      page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`))
      page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`))
      page.on('requestfailed', (r) => log.push(`[requestfailed] ${r.url()} ${r.failure()?.errorText ?? ''}`))
      page.on('response', (r) => {
        if (r.status() >= 400) log.push(`[HTTP ${r.status()}] ${r.request().method()} ${r.url()}`)
      })
      await page.goto(served.url)
      try {
        await page.waitForFunction(() => window.consumer !== undefined, undefined, { timeout: 30_000 })
      } catch (error) {
        throw new Error(`The app did not start (window.consumer never appeared): ${String(error)}\n${seen()}`)
      }
      return page
    })

    afterAll(async () => {
      await closing.context?.close()
      await closing.served?.close()
    })

    // The callbacks given to evaluate() run in the page: they can use only `window` and their argument.
    it('a. uploads 12 MiB in 5 MiB parts, paused at the first progress report and resumed, and downloads the same bytes', async () => {
      const report = await (await open()).evaluate((o) => window.consumer?.uploadRoundTrip(o) ?? Promise.reject(new Error('no window.consumer')), options)
      expect(report.done, seen(report)).toMatchObject({ status: 'resolved', value: { partCount: 3, plaintextSize: 12 * 1024 * 1024 } })
      expect(report.pausedAfterFirstReport, seen(report)).toBe(true)
      expect(report.resumed, seen(report)).toBe(true)
      expect(report.downloaded, seen(report)).toEqual({ status: 'resolved', value: { sha256: report.originalSha256, length: 12 * 1024 * 1024 } })
    })

    it('b. a tampered byte fails downloadRange in the Worker pool as TAMPERED, a TamperedError of the app\'s own @bucketseal/core', async () => {
      const stored = await (await open()).evaluate((o) => window.consumer?.uploadSmall(o) ?? Promise.reject(new Error('no window.consumer')), options)
      if (stored.status !== 'resolved') throw new Error(`uploading the object failed.\n${seen(stored)}`)
      // A byte of the first chunk's ciphertext, after the header.
      await flipStoredByte(stored.value.objectKey, stored.value.headerLength + 100)
      const report = await (await open()).evaluate((o) => window.consumer?.rangeAfterTamper(o) ?? Promise.reject(new Error('no window.consumer')), { ...options, objectKey: stored.value.objectKey })
      // The same error in the page's own realm: what the Worker's must look like once across.
      expect(report.inline, seen(report)).toMatchObject({ status: 'rejected', error: { code: 'TAMPERED', name: 'TamperedError', instanceOfTamperedError: true } })
      expect(report.pool, seen(report)).toMatchObject({
        status: 'rejected',
        error: { isError: true, code: 'TAMPERED', name: 'TamperedError', instanceOfBucketsealError: true, instanceOfTamperedError: true },
      })
    })

    it('c. the app\'s own comlink Worker still rejects with a real Error after the Bucketseal pool was used', async () => {
      const report = await (await open()).evaluate((o) => window.consumer?.ownWorkerError(o) ?? Promise.reject(new Error('no window.consumer')), options)
      expect(report.poolUpload, seen(report)).toMatchObject({ status: 'resolved' })
      expect(report.ping, seen(report)).toEqual({ status: 'resolved', value: 'pong' })
      expect({ rejectedWithType: report.rejectedWithType, rejectedWithError: report.rejectedWithError, boom: report.boom }, seen(report)).toMatchObject({
        rejectedWithType: 'object',
        rejectedWithError: true,
        boom: { status: 'rejected', error: { isError: true, message: 'boom', name: 'Error' } },
      })
    })

    /** Scenario d runs once per page; its two tests read the same outcome. */
    const brokenWorker = once(async () =>
      (await open()).evaluate((o) => window.consumer?.brokenWorkerUpload(o) ?? Promise.reject(new Error('no window.consumer')), options),
    )

    it('d. a Worker that fails to load fails the upload with TransferError WORKER_FAILED, whose message gives the recipe', async () => {
      const report = await brokenWorker()
      expect(report, seen(report)).toMatchObject({
        status: 'rejected',
        error: { isError: true, code: 'WORKER_FAILED', name: 'TransferError', instanceOfTransferError: true, instanceOfBucketsealError: true },
      })
      if (report.status === 'rejected') expect(report.error.message, seen(report)).toContain('@bucketseal/client/worker')
    })

    it('e. files added to Uppy go up through the @bucketseal/uppy plugin with progress, and each downloads to the same bytes', async () => {
      const report = await (await open()).evaluate((o) => window.consumer?.uppyUpload(o) ?? Promise.reject(new Error('no window.consumer')), options)
      expect(report.uploaded, seen(report)).toEqual({ status: 'resolved', value: { successful: 2, failed: [] } })
      expect(report.progressEvents, seen(report)).toBeGreaterThan(0)
      expect(report.files, seen(report)).toHaveLength(2)
      for (const f of report.files) {
        expect(f.downloaded, seen(report)).toMatchObject({ status: 'resolved', value: { sha256: f.originalSha256 } })
      }
    })

    it('d. the WORKER_FAILED message names the script that failed to load', async () => {
      // The Worker comes from the app's own createWorker(): the pool sees a Worker object, which does
      // not expose its URL, and Chromium's load-failure event carries no filename.
      const report = await brokenWorker()
      expect(report.status, seen(report)).toBe('rejected')
      if (report.status === 'rejected') expect(report.error.message, seen(report)).toContain('/does-not-exist.js')
    })
  })
}
