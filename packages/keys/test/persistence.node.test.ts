/// <reference types="node" />
// A stored key survives a reload: not a reload of one page, but a new browser on the same profile.
// Vitest's browser mode cannot close and reopen its browser, so this test drives Chromium itself with
// Playwright against a Vite dev server that serves test/fixture/ (a page using the keys package).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, type Page, chromium } from 'playwright-core'
import { type ViteDevServer, createServer } from 'vite'
import { afterAll, beforeAll, expect, it } from 'vitest'
// The same binary and flags as the browser test project (see the comments there).
import { chromiumArgs as args, chromiumPath as executablePath } from '../../../vite.config.js'

let server: ViteDevServer
let url: string
let scratch: string

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bucketseal-keys-'))
  server = await createServer({
    configFile: false,
    root: fileURLToPath(new URL('./fixture/', import.meta.url)),
    cacheDir: join(scratch, 'vite'),
    logLevel: 'error',
    // Dependencies are served as they are (idb-keyval is plain ESM): no optimizer run that could
    // reload the page halfway through the test.
    optimizeDeps: { noDiscovery: true, include: [] },
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  })
  await server.listen()
  const address = server.httpServer?.address()
  if (address === null || address === undefined || typeof address === 'string') throw new Error('the Vite server has no port')
  url = `http://127.0.0.1:${address.port}/`
})

afterAll(async () => {
  await server?.close()
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true })
})

async function openPage(profile: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(profile, { executablePath, args, headless: true })
  const page = await context.newPage()
  await page.goto(url)
  await page.waitForFunction(() => window.bucketsealFixture !== undefined)
  return { context, page }
}

it('a stored key survives closing the browser, still decrypts an older object, and still cannot be exported', async () => {
  const profile = join(scratch, 'profile')

  const first = await openPage(profile)
  const created = await first.page.evaluate(() => {
    if (window.bucketsealFixture === undefined) throw new Error('the fixture page did not load')
    return window.bucketsealFixture.create('encrypted before the reload')
  })
  expect(created.id).toMatch(/^[0-9a-f]{32}$/)
  expect(created.extractable).toBe(false)
  await first.context.close() // the whole browser: nothing survives but the profile on disk

  const second = await openPage(profile)
  try {
    const opened = await second.page.evaluate((sealed) => {
      if (window.bucketsealFixture === undefined) throw new Error('the fixture page did not load')
      return window.bucketsealFixture.open(sealed)
    }, created.sealed)
    expect(opened.plaintext).toBe('encrypted before the reload')
    expect(opened.listed).toEqual([created.id])
    expect(opened.extractable).toBe(false)
    expect(opened.exportErrors).toEqual(['pkcs8: InvalidAccessError', 'jwk: InvalidAccessError'])
  } finally {
    await second.context.close()
  }
})
