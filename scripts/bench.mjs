#!/usr/bin/env node
// `pnpm bench`: measures @bucketseal/core in headless Chromium against WebCrypto's raw AES-GCM.
//
// Serves scripts/bench/ (index.html + bench.ts, which imports packages/core/src directly) with a
// Vite dev server on a random port, opens it in Debian's Chromium through playwright-core, runs
// window.bucketsealBench.run(config) in the page, prints a table and writes .bench/core.json.
//
// Options (argv or env):
//   --size=N          plaintext MiB (BENCH_SIZE, default 64)
//   --quick           smoke run: 8 MiB, chunk sizes 16 KiB, 64 KiB, 1 MiB (BENCH_QUICK=1)
//   --runs=N          runs per cell, median reported (BENCH_RUNS, default 3)
//   --chunks=16,64    chunk sizes in KiB (BENCH_CHUNKS; default 16 KiB .. 4 MiB)
//   --concurrency=N   `concurrency` for the streaming/Blob APIs (BENCH_CONCURRENCY; default: library's)
//   --out=PATH        JSON output (BENCH_OUT, default .bench/core.json)
// CHROMIUM_PATH overrides /usr/bin/chromium.
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { createServer, runnerImport } from 'vite'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PAGE_DIR = join(ROOT, 'scripts', 'bench')
const KiB = 1024
const MiB = 1024 * KiB
const DEFAULT_CHUNKS = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096].map((k) => k * KiB)
const QUICK_CHUNKS = [16, 64, 1024].map((k) => k * KiB)

const COLUMNS = [
  ['rawEncSeq', 'raw enc seq'],
  ['rawEncPar', 'raw enc ×4'],
  ['rawDecSeq', 'raw dec seq'],
  ['streamEnc', 'encryptStream'],
  ['streamDec', 'decryptStream'],
  ['oneshotEnc', 'encrypt'],
  ['oneshotDec', 'decrypt'],
  ['blobEnc', 'encryptBlob'],
]

class UsageError extends Error {}

function parseOptions(argv, env) {
  const args = new Map()
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (m === null) throw new UsageError(`unknown argument ${arg} (see the top of scripts/bench.mjs)`)
    args.set(m[1], m[2] ?? 'true')
  }
  const known = new Set(['size', 'quick', 'runs', 'chunks', 'concurrency', 'out'])
  for (const key of args.keys()) if (!known.has(key)) throw new UsageError(`unknown option --${key}`)
  const pick = (name, envName) => args.get(name) ?? env[envName]
  const quick = ['1', 'true', 'yes'].includes(String(pick('quick', 'BENCH_QUICK') ?? '').toLowerCase())
  const positive = (name, value, max) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be an integer from 1 to ${max}, got ${value}`)
    return n
  }
  const sizeArg = pick('size', 'BENCH_SIZE')
  const size = positive('size', sizeArg ?? (quick ? 8 : 64), 1024) * MiB
  const runs = positive('runs', pick('runs', 'BENCH_RUNS') ?? 3, 99)
  const chunksArg = pick('chunks', 'BENCH_CHUNKS')
  const chunkSizes =
    chunksArg === undefined
      ? quick
        ? QUICK_CHUNKS
        : DEFAULT_CHUNKS
      : chunksArg.split(',').map((k) => {
          const bytes = positive('chunks', k.trim(), 16 * 1024) * KiB
          if ((bytes & (bytes - 1)) !== 0) throw new UsageError(`--chunks: ${k} KiB is not a power of two`)
          return bytes
        })
  const concurrencyArg = pick('concurrency', 'BENCH_CONCURRENCY')
  const concurrency = concurrencyArg === undefined ? null : positive('concurrency', concurrencyArg, 64)
  const out = resolve(ROOT, pick('out', 'BENCH_OUT') ?? '.bench/core.json')
  return { quick, out, config: { size, chunkSizes, runs, pieceSize: 1 * MiB, rawDepth: 4, concurrency } }
}

function label(bytes) {
  return bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`
}

function table(result) {
  const header = ['chunk', ...COLUMNS.map(([, name]) => name)]
  const body = result.rows.map((row) => [label(row.chunkSize), ...COLUMNS.map(([id]) => row.cells[id].median.toFixed(0))])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)))
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`
  return [line(header), rule, ...body.map(line)].join('\n')
}

function summaryLine(summary) {
  if (summary === null) return 'summary: the default chunk size was not measured.'
  const pct = (summary.ratio * 100).toFixed(1)
  const best = `${summary.bestRaw.column === 'rawEncPar' ? 'raw enc ×4' : 'raw enc seq'} @ ${label(summary.bestRaw.chunkSize)}`
  return (
    `summary: encryptStream @ ${label(summary.defaultChunkSize)} (default) = ${summary.streamEncrypt.toFixed(0)} MB/s = ` +
    `${pct}% of the best raw encrypt (${best}, ${summary.bestRaw.mbps.toFixed(0)} MB/s); ` +
    `target ≥ ${summary.target * 100}%: ${summary.met ? 'MET' : 'NOT MET'}\n` +
    `(for reference: ${(summary.ratioSameChunk * 100).toFixed(1)}% of the best raw encrypt at the same chunk size, ` +
    `${summary.rawAtDefault.toFixed(0)} MB/s)`
  )
}

function gitCommit() {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages/core/src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== ''
    return { sha, coreSourceModified: dirty }
  } catch {
    return null
  }
}

async function main() {
  const { quick, out, config } = parseOptions(process.argv.slice(2), process.env)
  // The Chromium binary and flags the tests use, from one place.
  const { chromiumArgs, chromiumPath } = (await runnerImport(join(ROOT, 'vite.config.ts'), { configFile: false, logLevel: 'warn' })).module
  const loadBefore = os.loadavg()
  let server = null
  let browser = null
  try {
    server = await createServer({
      configFile: false,
      root: PAGE_DIR,
      logLevel: 'warn',
      clearScreen: false,
      appType: 'mpa',
      optimizeDeps: { noDiscovery: true, include: [] },
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, fs: { strict: true, allow: [ROOT] } },
    })
    await server.listen()
    const address = server.httpServer?.address()
    if (address === null || typeof address !== 'object') throw new Error('Vite did not report a port')
    const url = `http://127.0.0.1:${address.port}/index.html`

    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
    const page = await browser.newPage()
    page.on('console', (msg) => {
      const text = msg.text()
      if (text.startsWith('[bench]') || msg.type() === 'error' || msg.type() === 'warning') process.stderr.write(`${text}\n`)
    })
    let pageError = null
    page.on('pageerror', (e) => {
      pageError = e
      process.stderr.write(`page error: ${e.stack ?? e.message}\n`)
    })
    await page.goto(url)
    await page.waitForFunction(() => window.bucketsealBench !== undefined, undefined, { timeout: 60_000 }).catch((e) => {
      throw pageError ?? e
    })

    const chromiumVersion = browser.version()
    process.stderr.write(
      `bench: Chromium ${chromiumVersion}, ${os.cpus().length} CPUs, ${label(config.size)}, ` +
        `chunks ${config.chunkSizes.map(label).join(' ')}, ${config.runs} runs${quick ? ' (quick)' : ''}\n`,
    )
    const result = await page.evaluate((c) => window.bucketsealBench.run(c), config)
    const loadAfter = os.loadavg()

    const heading =
      `Throughput in MB/s (MB = 10^6 bytes of plaintext per second), median of ${config.runs} runs, ` +
      `${label(config.size)} random data, 1 AES-KW recipient, Chromium ${chromiumVersion}, ${os.cpus().length} CPUs` +
      (config.concurrency === null ? '' : `, concurrency ${config.concurrency}`)
    process.stdout.write(`\n${heading}\n\n${table(result)}\n\n${summaryLine(result.summary)}\n`)
    process.stdout.write(
      `load average (1 min) before/after: ${loadBefore[0].toFixed(2)} / ${loadAfter[0].toFixed(2)}; ${result.seconds.toFixed(0)} s in the page\n`,
    )

    const report = {
      date: new Date().toISOString(),
      unit: 'MB/s, MB = 1e6 bytes of plaintext; median of runs',
      columns: Object.fromEntries(COLUMNS),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? null,
        totalMemory: os.totalmem(),
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadAfter,
        node: process.version,
        chromium: chromiumVersion,
      },
      git: gitCommit(),
      quick,
      ...result,
    }
    await mkdir(dirname(out), { recursive: true })
    await writeFile(out, `${JSON.stringify(report, null, 2)}\n`)
    process.stdout.write(`wrote ${relative(process.cwd(), out) || out}\n`)
  } finally {
    await browser?.close().catch(() => undefined)
    await server?.close().catch(() => undefined)
  }
}

main().catch((e) => {
  process.stderr.write(e instanceof UsageError ? `bench: ${e.message}\n` : `bench failed: ${e?.stack ?? e}\n`)
  process.exitCode = 1
})
