/// <reference types="node" />
/**
 * Chromium for the journey: Debian's `chromium` through playwright-core, one persistent profile
 * folder per person (see driver.ts for what a driver supplies).
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type ElementHandle, type Page as PlaywrightPage, chromium } from 'playwright-core'
import { chromiumArgs, chromiumPath } from '../../vite.config.js'
import type { FilePayload, PageDriver, SavedDownload } from './driver.js'
import { type QueryRequest, type QueryResult, type Step, runQuery } from './query.js'

export interface LaunchOptions {
  /** The profile folder (new or used). */
  readonly profileDir: string
  /** Where downloads are saved before the test reads them. */
  readonly downloadsDir: string
  readonly viewport: { readonly width: number; readonly height: number }
  /** Runs in every page before its own scripts. */
  readonly initScript: { readonly fn: (arg: string) => void; readonly arg: string }
}

/** `fn(arg)` as source text: the page runs what the test wrote, with a JSON argument, in every engine alike. */
export function expression<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): string {
  return `(${fn.toString()})(${JSON.stringify(arg) ?? 'undefined'})`
}

/** The element a query names, as a handle for trusted input. */
async function target(page: PlaywrightPage, steps: readonly Step[]): Promise<ElementHandle> {
  const request: QueryRequest = { steps, op: 'target' }
  const found = await page.evaluate<QueryResult>(expression(runQuery, request))
  if (found.count !== 1) throw new Error(`${JSON.stringify(steps)} matches ${found.count} elements; one was expected.`)
  const element = (await page.evaluateHandle(() => Reflect.get(window, '__e2eTarget'))).asElement()
  if (element === null) throw new Error('the query left no element')
  return element
}

export async function launchChromium(options: LaunchOptions): Promise<PageDriver> {
  const context = await chromium.launchPersistentContext(options.profileDir, {
    executablePath: chromiumPath,
    args: chromiumArgs,
    headless: true,
    acceptDownloads: true,
    viewport: { ...options.viewport },
  })
  await context.addInitScript(options.initScript.fn, options.initScript.arg)
  const page = context.pages()[0] ?? (await context.newPage())
  page.setDefaultTimeout(60_000)
  return {
    engine: 'chromium',
    evaluate: (fn, arg) => page.evaluate(expression(fn, arg)),
    async click(steps) {
      await (await target(page, steps)).click()
    },
    async setInputFiles(steps, files) {
      const element = await target(page, steps)
      const paths = files.filter((f): f is string => typeof f === 'string')
      const payloads = files.filter((f): f is FilePayload => typeof f !== 'string').map((f) => ({ name: f.name, mimeType: f.mimeType, buffer: f.buffer }))
      await element.setInputFiles(payloads.length > 0 ? payloads : paths)
    },
    press: (key) => page.keyboard.press(key),
    async goto(url) {
      await page.goto(url)
    },
    async reload() {
      await page.reload()
    },
    setViewportSize: (size) => page.setViewportSize({ ...size }),
    async screenshot(path, fullPage) {
      await page.screenshot({ path, fullPage })
    },
    async download(trigger, timeoutMs): Promise<SavedDownload> {
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: timeoutMs }), trigger()])
      const path = join(options.downloadsDir, randomBytes(4).toString('hex'))
      await download.saveAs(path)
      return { name: download.suggestedFilename(), bytes: await readFile(path) }
    },
    close: () => context.close(),
  }
}
