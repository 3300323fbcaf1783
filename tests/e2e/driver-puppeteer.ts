/// <reference types="node" />
/**
 * Firefox for the journey: Debian's `firefox-esr` through puppeteer-core over WebDriver BiDi (there
 * is no geckodriver here), one persistent profile folder per person (see driver.ts for what a
 * driver supplies). Firefox saves downloads into a folder set by prefs, which this driver watches:
 * BiDi tells nothing of a download's bytes.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import puppeteer, { type Page as PuppeteerPage } from 'puppeteer-core'
import { FIREFOX_TEST_PREFS, firefoxPath } from '../support/firefox-provider.js'
import type { FilePayload, PageDriver, SavedDownload } from './driver.js'
import { type LaunchOptions, expression } from './driver-playwright.js'
import { type QueryRequest, type QueryResult, type Step, runQuery } from './query.js'

/** Downloads go straight into `dir`, with no dialog and no panel. */
function downloadPrefs(dir: string): Record<string, boolean | number | string> {
  return {
    'browser.download.folderList': 2,
    'browser.download.dir': dir,
    'browser.download.useDownloadDir': true,
    'browser.download.always_ask_before_handling_new_types': false,
    'browser.download.start_downloads_in_tmp_dir': false,
    'browser.download.alwaysOpenPanel': false,
    'browser.download.manager.showWhenStarting': false,
    'browser.helperApps.neverAsk.saveToDisk': 'application/octet-stream,text/plain',
  }
}

async function check(page: PuppeteerPage, steps: readonly Step[]): Promise<void> {
  const request: QueryRequest = { steps, op: 'target' }
  const found = await page.evaluate<[], () => QueryResult>(expression(runQuery, request))
  if (found.count !== 1) throw new Error(`${JSON.stringify(steps)} matches ${found.count} elements; one was expected.`)
}

/** Files in `dir` that are whole: not Firefox's `.part` files, and none while one is being written. */
async function finished(dir: string): Promise<Map<string, number> | null> {
  const names = await readdir(dir)
  if (names.some((n) => n.endsWith('.part'))) return null
  const sizes = new Map<string, number>()
  for (const n of names) sizes.set(n, (await stat(join(dir, n))).size)
  return sizes
}

export async function launchFirefox(options: LaunchOptions): Promise<PageDriver> {
  await mkdir(options.downloadsDir, { recursive: true })
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath,
    protocol: 'webDriverBiDi',
    headless: true,
    userDataDir: options.profileDir,
    defaultViewport: { ...options.viewport },
    extraPrefsFirefox: { ...FIREFOX_TEST_PREFS, ...downloadPrefs(options.downloadsDir) },
  })
  const page = (await browser.pages())[0] ?? (await browser.newPage())
  page.setDefaultTimeout(60_000)
  page.setDefaultNavigationTimeout(60_000)
  await page.evaluateOnNewDocument(options.initScript.fn, options.initScript.arg)
  const files = join(options.downloadsDir, '..', `files-${randomBytes(4).toString('hex')}`)
  return {
    engine: 'firefox',
    async evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
      return await page.evaluate<[], () => R>(expression(fn, arg))
    },
    async click(steps) {
      await check(page, steps)
      const element = await page.evaluateHandle(() => {
        const e: unknown = Reflect.get(window, '__e2eTarget')
        if (!(e instanceof Element)) throw new Error('the query left no element')
        return e
      })
      await element.click()
    },
    async setInputFiles(steps, chosen) {
      await check(page, steps)
      const input = await page.evaluateHandle(() => {
        const e: unknown = Reflect.get(window, '__e2eTarget')
        if (!(e instanceof HTMLInputElement)) throw new Error('setInputFiles: not an <input>')
        return e
      })
      // A file chosen by its bytes is written out under its name: the page sees that name, and the
      // type Firefox gives its extension (.txt: text/plain, .bin: application/octet-stream).
      const paths: string[] = []
      for (const f of chosen) {
        if (typeof f === 'string') {
          paths.push(f)
          continue
        }
        const dir = join(files, randomBytes(4).toString('hex'))
        await mkdir(dir, { recursive: true })
        await writeFile(join(dir, f.name), f.buffer)
        paths.push(join(dir, f.name))
      }
      await input.uploadFile(...paths)
    },
    press: (key) => page.keyboard.press(key),
    async goto(url) {
      await page.goto(url)
    },
    async reload() {
      await page.reload()
    },
    setViewportSize: (size) => page.setViewport({ ...size }),
    async screenshot(path, fullPage) {
      await page.screenshot({ path, fullPage })
    },
    async download(trigger, timeoutMs): Promise<SavedDownload> {
      const before = new Set(await readdir(options.downloadsDir))
      await trigger()
      const deadline = Date.now() + timeoutMs
      let last = new Map<string, number>()
      for (;;) {
        const now = await finished(options.downloadsDir)
        // Done when a new file is there, no part file is, and its size held still for one poll.
        const fresh = now === null ? [] : [...now].filter(([name]) => !before.has(name))
        const [name, size] = fresh[0] ?? []
        if (fresh.length > 1) throw new Error(`more than one download appeared: ${fresh.map(([n]) => n).join(', ')}`)
        if (name !== undefined && size !== undefined && last.get(name) === size) {
          return { name, bytes: await readFile(join(options.downloadsDir, name)) }
        }
        if (Date.now() > deadline) throw new Error(`No download finished in ${options.downloadsDir} within ${timeoutMs} ms.`)
        last = now ?? new Map()
        await sleep(250)
      }
    },
    close: () => browser.close(),
  }
}

