/// <reference types="node" />
/**
 * What the end-to-end tests drive: the demo server (demo/server.ts) on a free port, in front of the
 * real Ceph RGW that scripts/test.sh starts, with the fault proxy (tests/support/fault-proxy.ts)
 * between the browser and the store, and a wire recorder (wire.ts) in front of each; and a browser
 * (driver.ts: Chromium through playwright-core, Firefox through puppeteer-core), one persistent
 * profile per "person", so a profile can be closed and a fresh one opened.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { S3Client } from '@bucketseal/server/s3'
import { type Demo, startDemo } from '../../demo/server.js'
import { storeFromEnv } from '../../demo/server/store.js'
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js'
import { type Engine, Page, type PageDriver } from './driver.js'
import { launchChromium } from './driver-playwright.js'
import { launchFirefox } from './driver-puppeteer.js'
import type { RecordedRequest } from './recorder.js'
import { startWireRecorder } from './wire.js'

/** Screenshots of each screen, kept as test artifacts (git-ignored). */
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url))

export interface Harness {
  readonly engine: Engine
  readonly demo: Demo
  /** The page's address, through the recorder in front of the demo server. */
  readonly url: string
  /**
   * Every request the browsers sent to the demo server (`demo:/api/…`) and to the store
   * (`store:/bucket/…`), pages and Workers alike, with headers and bodies, as they went over the wire.
   */
  readonly wire: readonly RecordedRequest[]
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
export async function startHarness(engine: Engine): Promise<Harness> {
  const store = (() => {
    try {
      return storeFromEnv(process.env)
    } catch (error) {
      throw new Error(`The end-to-end tests need the S3 server that ./scripts/test.sh starts. ${error instanceof Error ? error.message : ''}`)
    }
  })()
  const credentials = { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey }
  const s3 = new S3Client({ endpoint: store.endpoint, region: store.region, bucket: store.bucket, credentials })
  const wire: RecordedRequest[] = []
  const proxy = await startFaultProxy(store.endpoint)
  // The browser reaches the store through the recorder and the proxy: presigned URLs are made for
  // the recorder's address, and both pass the Host header on unchanged.
  const storeWire = await startWireRecorder(wire, 'store:')
  storeWire.forwardTo(proxy.url)
  // The page too is reached through a recorder, whose port the demo must accept in Host and Origin.
  const pageWire = await startWireRecorder(wire, 'demo:')
  const prefix = `demo/e2e-${engine}-${randomBytes(4).toString('hex')}/`
  const label = 'Ceph RGW (tests, through the fault proxy)'
  const demo = await startDemo({ store: { ...store, endpoint: storeWire.url, label }, port: 0, watch: false, prefix, allowedHosts: `localhost:${pageWire.port}` })
  pageWire.forwardTo(demo.url)
  const scratch = await mkdtemp(join(tmpdir(), `bucketseal-e2e-${engine}-`))
  await mkdir(SCREENSHOTS, { recursive: true })
  return {
    engine,
    demo,
    url: `http://localhost:${pageWire.port}/`,
    wire,
    proxy,
    s3,
    scratch,
    prefix,
    async close() {
      await pageWire.close()
      await demo.close()
      await storeWire.close()
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
  readonly page: Page
  close(): Promise<void>
}

/**
 * How the page saves downloads. `blob`: as a browser without the File System Access API (the file
 * comes out as an ordinary download the test can catch). `opfs`: through `showSaveFilePicker`, the
 * demo's path in Chromium, with the picker answered by a file in the origin-private file system (a
 * headless browser cannot show the real dialog).
 */
export type SaveMode = 'blob' | 'opfs'

/** Runs in every page before its own scripts: sets up the save path `mode` asks for. */
function saveMode(mode: string): void {
  if (mode === 'blob') {
    Reflect.deleteProperty(window, 'showSaveFilePicker')
    return
  }
  Reflect.set(window, 'showSaveFilePicker', async (options: { suggestedName?: string }) => {
    const root = await navigator.storage.getDirectory()
    return root.getFileHandle(options.suggestedName ?? 'download', { create: true })
  })
}

/** Opens the harness's engine on the profile folder `dir` (new or used), at the demo's page. */
export async function openProfile(h: Harness, dir: string, save: SaveMode): Promise<Profile> {
  const options = {
    profileDir: join(h.scratch, dir),
    downloadsDir: join(h.scratch, `${dir}-downloads`),
    viewport: { width: 1100, height: 900 },
    initScript: { fn: saveMode, arg: save },
  }
  await mkdir(options.downloadsDir, { recursive: true })
  const driver: PageDriver = h.engine === 'chromium' ? await launchChromium(options) : await launchFirefox(options)
  const page = new Page(driver)
  await driver.goto(h.url)
  await page.waitForSelector('body[data-ready]', { timeout: 60_000 })
  return { page, close: () => driver.close() }
}

/** Goes to a screen (`keys`, `upload`, `objects`, `download?key=…`) and waits for its heading. */
export async function go(page: Page, screen: string): Promise<void> {
  await page.evaluate((hash) => {
    location.hash = hash
  }, screen)
  const id = screen.split('?')[0]
  await page.locator(`#${id}-heading`).waitFor({ state: 'visible' })
}

/**
 * Saves a screenshot (the full page unless `fullPage` is false) as
 * test-results/screenshots/<name>.png in Chromium, and <engine>-<name>.png in other engines.
 */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot(join(SCREENSHOTS, `${page.engine === 'chromium' ? '' : `${page.engine}-`}${name}.png`), fullPage)
}
