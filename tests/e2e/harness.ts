/// <reference types="node" />
/**
 * What the end-to-end tests drive: the demo server (demo/server.ts) on a free port, in front of the
 * real Ceph RGW that scripts/test.sh starts, with the fault proxy (tests/support/fault-proxy.ts)
 * between the browser and the store; and Debian's Chromium through playwright-core, one persistent
 * profile per "person", so a profile can be closed and a fresh one opened.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { S3Client } from '@bucketseal/server'
import { type BrowserContext, type Page, chromium } from 'playwright-core'
import { type Demo, startDemo } from '../../demo/server.js'
import { storeFromEnv } from '../../demo/server/store.js'
import { chromiumArgs, chromiumPath } from '../../vite.config.js'
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js'
import { type RecordedRequest, recordRequests } from './recorder.js'

/** Screenshots of each screen, kept as test artifacts (git-ignored). */
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url))

export interface Harness {
  readonly demo: Demo
  /** Between the browser and the store: inject 503s, expired links, a missing ETag. */
  readonly proxy: FaultProxy
  /** Straight to the store, with the server's credentials: what an attacker with bucket access could do. */
  readonly s3: S3Client
  /** A temporary folder for files, downloads and browser profiles. */
  readonly scratch: string
  /** This run's object prefix in the shared bucket (`demo/e2e-<random>/`), emptied by `close`. */
  readonly prefix: string
  close(): Promise<void>
}

/**
 * Starts the demo against the store in `S3_*` (never skips: without a store the tests fail and say why).
 * @throws {Error} the S3 variables are missing.
 */
export async function startHarness(): Promise<Harness> {
  const store = (() => {
    try {
      return storeFromEnv(process.env)
    } catch (error) {
      throw new Error(`The end-to-end tests need the S3 server that ./scripts/test.sh starts. ${error instanceof Error ? error.message : ''}`)
    }
  })()
  const credentials = { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey }
  const s3 = new S3Client({ endpoint: store.endpoint, region: store.region, bucket: store.bucket, credentials })
  const proxy = await startFaultProxy(store.endpoint, { recordBodies: true })
  // The browser reaches the store through the proxy: presigned URLs are made for its address.
  const prefix = `demo/e2e-${randomBytes(4).toString('hex')}/`
  const label = 'Ceph RGW (tests, through the fault proxy)'
  const demo = await startDemo({ store: { ...store, endpoint: proxy.url, label }, port: 0, watch: false, prefix })
  const scratch = await mkdtemp(join(tmpdir(), 'bucketseal-e2e-'))
  await mkdir(SCREENSHOTS, { recursive: true })
  return {
    demo,
    proxy,
    s3,
    scratch,
    prefix,
    async close() {
      await demo.close()
      await proxy.close()
      await rm(scratch, { recursive: true, force: true })
      // The store keeps its data in RAM and is shared: leave nothing behind.
      for (const { key, uploadId } of await s3.listMultipartUploads(prefix)) await s3.abortMultipartUpload(key, uploadId)
      const { objects } = await s3.listObjectsV2({ prefix })
      for (const { key } of objects) await s3.deleteObject(key)
    },
  }
}

export interface Profile {
  readonly context: BrowserContext
  readonly page: Page
  /** Every request this profile made, from its first page load on. */
  readonly requests: RecordedRequest[]
}

/**
 * How the page saves downloads. `blob`: as a browser without the File System Access API (the file
 * comes out as an ordinary download the test can catch). `opfs`: through `showSaveFilePicker`, the
 * demo's path in Chromium, with the picker answered by a file in the origin-private file system (a
 * headless browser cannot show the real dialog).
 */
export type SaveMode = 'blob' | 'opfs'

/** Opens Chromium on the profile folder `dir` (new or used), at the demo's page. */
export async function openProfile(h: Harness, dir: string, save: SaveMode): Promise<Profile> {
  const context = await chromium.launchPersistentContext(join(h.scratch, dir), {
    executablePath: chromiumPath,
    args: chromiumArgs,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1100, height: 900 },
  })
  await context.addInitScript((mode) => {
    if (mode === 'blob') {
      Reflect.deleteProperty(window, 'showSaveFilePicker')
      return
    }
    Reflect.set(window, 'showSaveFilePicker', async (options: { suggestedName?: string }) => {
      const root = await navigator.storage.getDirectory()
      return root.getFileHandle(options.suggestedName ?? 'download', { create: true })
    })
  }, save)
  const requests = recordRequests(context)
  const page = context.pages()[0] ?? (await context.newPage())
  await page.goto(h.demo.url)
  await page.waitForSelector('body[data-ready]')
  return { context, page, requests }
}

/** Goes to a screen (`keys`, `upload`, `objects`, `download?key=…`) and waits for its heading. */
export async function go(page: Page, screen: string): Promise<void> {
  await page.evaluate((hash) => (location.hash = hash), screen)
  const id = screen.split('?')[0]
  await page.locator(`#${id}-heading`).waitFor({ state: 'visible' })
}

/** Saves a screenshot (the full page unless `fullPage` is false) as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage })
}
