#!/usr/bin/env node
// PBKDF2-SHA-256 speed through WebCrypto, in Node and (when Chromium is installed) in headless
// Chromium: the figures behind MAX_PBKDF2_ITERATIONS and MAX_PASSPHRASE_WORK in src/recipients.ts.
// Prints a table and writes pbkdf2-bench.json in the working directory.
//
//   node packages/core/scripts/bench-pbkdf2.mjs            (CHROMIUM_PATH, default /usr/bin/chromium)
import { existsSync, writeFileSync } from 'node:fs'

const ITERATIONS = 1_000_000
const RUNS = 5

/** Median iterations per second of RUNS derivations of ITERATIONS each. Runs in Node and in a page. */
async function bench(iterations, runs) {
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode('correct horse battery staple'), 'PBKDF2', false, ['deriveBits'])
  const salt = new Uint8Array(16)
  const rates = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, 256)
    rates.push(iterations / ((performance.now() - start) / 1000))
  }
  rates.sort((a, b) => a - b)
  return Math.round(rates[Math.floor(runs / 2)])
}

const results = [{ runtime: `Node ${process.version}`, iterationsPerSecond: await bench(ITERATIONS, RUNS) }]

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
if (existsSync(chromiumPath)) {
  const { chromium } = await import('playwright')
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu'] })
  try {
    const page = await browser.newPage()
    // crypto.subtle needs a secure context: a page on http://localhost is one, about:blank is not.
    await page.route('http://localhost/', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>pbkdf2</title>' }))
    await page.goto('http://localhost/')
    const rate = await page.evaluate(`(${bench.toString()})(${ITERATIONS}, ${RUNS})`)
    results.push({ runtime: `Chromium ${browser.version()}`, iterationsPerSecond: rate })
  } finally {
    await browser.close()
  }
} else {
  console.error(`No Chromium at ${chromiumPath}: measuring Node only.`)
}

const seconds = (iterations, rate) => (iterations / rate).toFixed(2)
console.log('| runtime | iterations/s | 600,000 | 2,000,000 (max per entry) | 4,800,000 (max per open) |')
console.log('|---|---|---|---|---|')
for (const r of results) {
  console.log(`| ${r.runtime} | ${r.iterationsPerSecond.toLocaleString('en')} | ${seconds(600_000, r.iterationsPerSecond)} s | ${seconds(2_000_000, r.iterationsPerSecond)} s | ${seconds(4_800_000, r.iterationsPerSecond)} s |`)
}
writeFileSync('pbkdf2-bench.json', JSON.stringify({ iterations: ITERATIONS, runs: RUNS, results }, null, 2) + '\n')
