#!/usr/bin/env node
// `pnpm bench`: measures @bucketseal/core in headless Chromium against WebCrypto's raw AES-GCM.
//
// Serves scripts/bench/ (index.html + bench.ts, which imports packages/core/src directly) with a
// Vite dev server on a random port and starts Debian's headless Chromium on it as a plain process,
// with nothing attached (no DevTools protocol, as users run it): the page fetches its config from
// the server, runs the measurements and posts the result back. `--playwright` drives the page
// through playwright-core instead, as the script did before. Prints a table and writes
// .bench/core.json.
//
// Options (argv or env):
//   --size=N          plaintext MiB (BENCH_SIZE, default 64)
//   --quick           smoke run: 8 MiB, chunk sizes 16 KiB, 64 KiB, 1 MiB (BENCH_QUICK=1)
//   --runs=N          runs per cell, median reported (BENCH_RUNS, default 3)
//   --chunks=16,64    chunk sizes in KiB (BENCH_CHUNKS; default 16 KiB .. 4 MiB)
//   --concurrency=N   `concurrency` for the streaming/Blob APIs (BENCH_CONCURRENCY; default: library's)
//   --out=PATH        JSON output (BENCH_OUT, default .bench/core.json)
//   --playwright      drive the page through playwright-core instead of running it driverless
//   --core=DIR        measure another copy of packages/core/src (e.g. a saved "before" copy), for
//                     before/after runs in one session (BENCH_CORE)
// CHROMIUM_PATH overrides /usr/bin/chromium.
import { execFileSync, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
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
  ['rawEncPar', 'raw enc ×N'],
  ['rawEncCopy', 'raw enc→1 buf'],
  ['rawDecSeq', 'raw dec seq'],
  ['rawDecPar', 'raw dec ×N'],
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
  const known = new Set(['size', 'quick', 'runs', 'chunks', 'concurrency', 'out', 'playwright', 'core'])
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
  const playwright = args.has('playwright')
  const coreArg = pick('core', 'BENCH_CORE')
  const core = coreArg === undefined ? null : resolve(coreArg)
  // The raw ×N ceilings keep as many calls in flight as the library's window (its default is 4).
  const rawDepth = concurrency ?? 4
  return { quick, out, playwright, core, config: { size, chunkSizes, runs, pieceSize: 1 * MiB, rawDepth, concurrency } }
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

const NAMES = Object.fromEntries(COLUMNS)

function summaryLine(summary) {
  if (summary === null) return 'summary: the default chunk size was not measured.'
  return summary.ratios
    .map((r) => {
      const target = r.target === null ? '' : `; target ≥ ${r.target * 100}%: ${r.ratio >= r.target ? 'MET' : 'NOT MET'}`
      return (
        `${NAMES[r.column]} @ ${label(summary.defaultChunkSize)} = ${r.mbps.toFixed(0)} MB/s = ${(r.ratio * 100).toFixed(1)}% of the best raw cell ` +
        `(${NAMES[r.bestRaw.column]} @ ${label(r.bestRaw.chunkSize)}, ${r.bestRaw.mbps.toFixed(0)})${target}; ` +
        `${(r.ratioSameChunk * 100).toFixed(1)}% of raw at the same chunk size (${r.rawAtDefault.toFixed(0)})`
      )
    })
    .join('\n')
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

/**
 * The bench server's side of the driverless protocol: the page GETs its config and POSTs its log
 * lines, then its result or error. `--core=DIR` redirects the page's import of packages/core/src.
 */
function benchPlugin(config, core, events) {
  const coreSrc = join(ROOT, 'packages', 'core', 'src')
  const readBody = (req) =>
    new Promise((resolveBody, rejectBody) => {
      const parts = []
      req.on('data', (c) => parts.push(c))
      req.on('end', () => resolveBody(Buffer.concat(parts).toString('utf8')))
      req.on('error', rejectBody)
    })
  return {
    name: 'bucketseal-core-bench',
    async resolveId(source, importer, options) {
      if (core === null || importer === undefined) return null
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true })
      if (resolved === null || !resolved.id.startsWith(`${coreSrc}/`)) return null
      return join(core, relative(coreSrc, resolved.id))
    },
    configureServer(server) {
      server.middlewares.use(async (req, res, next) => {
        if (req.url === '/__bench/config' && req.method === 'GET') {
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify(config))
          return
        }
        const kind = { '/__bench/log': 'log', '/__bench/result': 'result', '/__bench/error': 'error' }[req.url ?? '']
        if (kind === undefined || req.method !== 'POST') return next()
        const body = await readBody(req)
        res.statusCode = 204
        res.end()
        events[kind](body)
      })
    },
  }
}

/** Runs the page in Chromium started as a plain process on `url`; resolves with its result. */
async function runDriverless(chromiumPath, chromiumArgs, url, result) {
  const profile = await mkdtemp(join(os.tmpdir(), 'bucketseal-bench-chromium-'))
  const child = spawn(chromiumPath, [...chromiumArgs, `--user-data-dir=${profile}`, url], { detached: true, stdio: 'ignore' })
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit))
  try {
    return await Promise.race([
      result,
      exited.then((code) => Promise.reject(new Error(`Chromium exited (${code}) before the page reported`))),
    ])
  } finally {
    // Chromium's own process group (detached): the browser and the helpers it started, nothing else.
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {}
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
    }
    await rm(profile, { recursive: true, force: true }).catch(() => undefined)
  }
}

function chromiumVersionOf(chromiumPath) {
  try {
    return /[\d.]+/.exec(execFileSync(chromiumPath, ['--version'], { encoding: 'utf8' }))?.[0] ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

async function main() {
  const { quick, out, playwright, core, config } = parseOptions(process.argv.slice(2), process.env)
  // The Chromium binary and flags the tests use, from one place.
  const { chromiumArgs, chromiumPath } = (await runnerImport(join(ROOT, 'vite.config.ts'), { configFile: false, logLevel: 'warn' })).module
  const loadBefore = os.loadavg()
  let server = null
  let browser = null
  let settle = { result: () => undefined, error: () => undefined }
  const reported = new Promise((resolveResult, rejectResult) => {
    settle = { result: resolveResult, error: rejectResult }
  })
  reported.catch(() => undefined)
  const events = {
    log: (text) => process.stderr.write(`${text}\n`),
    result: (body) => settle.result(JSON.parse(body)),
    error: (body) => settle.error(new Error(`page error: ${body}`)),
  }
  try {
    server = await createServer({
      configFile: false,
      root: PAGE_DIR,
      logLevel: 'warn',
      clearScreen: false,
      appType: 'mpa',
      plugins: [benchPlugin(config, core, events)],
      optimizeDeps: { noDiscovery: true, include: [] },
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, fs: { strict: true, allow: [ROOT, ...(core === null ? [] : [core])] } },
    })
    await server.listen()
    const address = server.httpServer?.address()
    if (address === null || typeof address !== 'object') throw new Error('Vite did not report a port')
    const url = `http://127.0.0.1:${address.port}/index.html`
    const describe = (version) =>
      process.stderr.write(
        `bench: Chromium ${version} (${playwright ? 'driven by playwright-core' : 'driverless'}), ${os.cpus().length} CPUs, ${label(config.size)}, ` +
          `chunks ${config.chunkSizes.map(label).join(' ')}, ${config.runs} runs${quick ? ' (quick)' : ''}` +
          `${core === null ? '' : `, core from ${core}`}\n`,
      )

    let result
    let chromiumVersion
    if (!playwright) {
      chromiumVersion = chromiumVersionOf(chromiumPath)
      describe(chromiumVersion)
      result = await runDriverless(chromiumPath, chromiumArgs, `${url}?auto`, reported)
    } else {
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
      chromiumVersion = browser.version()
      describe(chromiumVersion)
      result = await page.evaluate((c) => window.bucketsealBench.run(c), config)
    }
    const loadAfter = os.loadavg()

    const heading =
      `Throughput in MB/s (MB = 10^6 bytes of plaintext per second), median of ${config.runs} runs, ` +
      `${label(config.size)} random data, 1 AES-KW recipient, Chromium ${chromiumVersion}, ${os.cpus().length} CPUs` +
      (config.concurrency === null ? '' : `, concurrency ${config.concurrency}`) +
      (playwright ? ', driven by playwright-core' : ', driverless')
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
      driver: playwright ? 'playwright-core' : 'none',
      core: core ?? 'packages/core/src',
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
