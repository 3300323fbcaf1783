#!/usr/bin/env node
// `pnpm bench:transfer`: measures @bucketseal/upload end to end in headless Chromium against a local
// Ceph RGW, each figure next to the same transfer without encryption:
//
//   1. upload: `upload()` of a 1 GiB disk-backed File (8 MiB parts, concurrency 2 and 4) against a
//      plain multipart upload of the same File (fetch PUTs of Blob slices, same parts and lanes);
//   2. sealing without network: the library's `sealPart` in Workers (seal-worker.ts) against raw
//      `Blob.slice().arrayBuffer()` reads in the same Workers, same slices and concurrency;
//   3. memory: the summed VmRSS of every Chromium process of this run, sampled every 100 ms while
//      `upload()` sends a 4 GiB file (concurrency 4, 8 MiB parts), above an idle baseline;
//   4. download: `download()` of the 1 GiB object, stream drained, against plain ranged GETs of the
//      same stored bytes (same range size and concurrency); and the time to a verified 1 MiB range.
//
// Starts or reuses RGW (scripts/rgw.sh start), writes random files to /tmp, serves
// scripts/bench/transfer/ with Vite and the presigning handler of packages/server at /api/s3 (its
// presigned URLs go straight to RGW: no proxy between the browser and the store), prints tables
// and writes .bench/transfer.json. Objects go under bench/transfer-<run id>/ and are deleted.
//
// Options (argv or env):
//   --size=N         MiB of the throughput file (BENCH_TRANSFER_SIZE, default 1024)
//   --memory-size=N  MiB of the memory-run file, 0 to skip (BENCH_TRANSFER_MEMORY_SIZE, default 4096;
//                    halved while the measured upload rate says it would take over 4 minutes)
//   --runs=N         upload and download runs per cell, median reported (BENCH_TRANSFER_RUNS, default 1)
//   --seal-runs=N    runs per sealing cell (default 3)
//   --samples=N      reads per first-byte case (default 20)
//   --quick          smoke run: 64 MiB, 128 MiB memory run, 1 seal run, 5 samples
//   --keep-files     keep the random files in /tmp (reused by the next run when the size matches)
//   --out=PATH       JSON output (default .bench/transfer.json)
// CHROMIUM_PATH overrides /usr/bin/chromium; BUCKETSEAL_RGW_DIR as in scripts/rgw.sh.
import { execFileSync } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { mkdir, open, rm, rmdir, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { createServer, runnerImport } from 'vite'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PAGE_DIR = join(ROOT, 'scripts', 'bench', 'transfer')
const FILE_DIR = join(os.tmpdir(), 'bucketseal-bench-transfer')
const MiB = 1024 * 1024
const PART_SIZE = 8 * MiB
const RANGE_SIZE = 8 * MiB
const FIRST_BYTE_SIZE = 1 * MiB
const CONCURRENCIES = [2, 4]
const MEMORY_CONCURRENCY = 4
const MEMORY_SLACK = 32 * MiB
const MEMORY_TIME_LIMIT_S = 240
const TARGET = 0.9
const RUN_ID = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`
const PREFIX = `bench/transfer-${RUN_ID}/`

class UsageError extends Error {}

function parseOptions(argv, env) {
  const given = new Map()
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (m === null) throw new UsageError(`unknown argument ${arg} (see the top of scripts/bench-transfer.mjs)`)
    given.set(m[1], m[2] ?? 'true')
  }
  const known = ['size', 'memory-size', 'runs', 'seal-runs', 'samples', 'quick', 'keep-files', 'out']
  for (const key of given.keys()) if (!known.includes(key)) throw new UsageError(`unknown option --${key}`)
  const pick = (name) => given.get(name) ?? env[`BENCH_TRANSFER_${name.toUpperCase().replace('-', '_')}`]
  const flag = (name) => ['1', 'true', 'yes'].includes(String(pick(name) ?? '').toLowerCase())
  const int = (name, fallback, min, max) => {
    const n = Number(pick(name) ?? fallback)
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${pick(name)}`)
    return n
  }
  const quick = flag('quick')
  return {
    quick,
    keepFiles: flag('keep-files'),
    size: int('size', quick ? 64 : 1024, 16, 8192) * MiB,
    memorySize: int('memory-size', quick ? 128 : 4096, 0, 6144) * MiB,
    runs: int('runs', 1, 1, 9),
    sealRuns: int('seal-runs', quick ? 1 : 3, 1, 9),
    samples: int('samples', quick ? 5 : 20, 1, 200),
    out: resolve(ROOT, pick('out') ?? '.bench/transfer.json'),
  }
}

const say = (message) => process.stderr.write(`bench:transfer: ${message}\n`)
const median = (values) => {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000)
const mib = (bytes) => (bytes / MiB).toFixed(1)
const pct = (ratio) => `${(ratio * 100).toFixed(1)}%`
const verdict = (met) => (met ? 'MET' : 'NOT MET')

/** `eval "$(scripts/rgw.sh start)"`: starts or reuses RGW and puts its S3_* variables into process.env. */
function startRgw() {
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'rgw.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  for (const line of out.split('\n')) {
    const m = /^export (S3_[A-Z_]+)=(.*)$/.exec(line.trim())
    if (m !== null) process.env[m[1]] = m[2]
  }
  const { S3_ENDPOINT: endpoint, S3_REGION: region = 'us-east-1', S3_BUCKET: bucket, S3_ACCESS_KEY_ID: accessKeyId, S3_SECRET_ACCESS_KEY: secretAccessKey } = process.env
  if (!endpoint || !bucket || !accessKeyId || !secretAccessKey) throw new Error('scripts/rgw.sh start printed no S3_* variables')
  return { endpoint, region, bucket, credentials: { accessKeyId, secretAccessKey } }
}

/**
 * RGW keeps deleted data (in its RAM-backed OSD) until its garbage collector runs, a minute or
 * two later; the runs here write several GiB, so collect now. Best effort: only what is deleted.
 */
function collectGarbage() {
  const conf = join(process.env.BUCKETSEAL_RGW_DIR ?? '/tmp/bucketseal-rgw', 'ceph.conf')
  if (!existsSync(conf)) return
  try {
    execFileSync('radosgw-admin', ['-c', conf, 'gc', 'process', '--include-all'], { stdio: 'ignore', timeout: 60_000 })
  } catch (e) {
    say(`radosgw-admin gc process failed (${e.message.split('\n')[0]}); deleted objects stay in RGW's RAM until its own GC`)
  }
}

/** A file of `size` random bytes (8 MiB of crypto.randomFill at a time), or the one already there. */
async function randomFile(size) {
  const path = join(FILE_DIR, `random-${size / MiB}MiB.bin`)
  const existing = await stat(path).catch(() => null)
  if (existing?.size === size) {
    say(`reusing ${path}`)
    return path
  }
  await mkdir(FILE_DIR, { recursive: true })
  const started = Date.now()
  const handle = await open(path, 'w')
  try {
    const block = Buffer.allocUnsafe(8 * MiB)
    for (let written = 0; written < size; ) {
      const n = Math.min(block.length, size - written)
      randomFillSync(block, 0, n)
      written += (await handle.write(block, 0, n)).bytesWritten
    }
  } finally {
    await handle.close()
  }
  say(`wrote ${path} (${size / MiB} MiB of random bytes) in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return path
}

/** Mounts the presigning handler at /api/s3, presigning URLs to RGW itself; keys under PREFIX only. */
function presignPlugin(server, s3) {
  const listener = server.toNodeListener(
    server.createPresignHandler({ ...s3, basePath: '/api/s3', expiresIn: 3600, authorize: ({ key }) => key.startsWith(PREFIX) }),
  )
  return {
    name: 'bench-transfer-presign',
    configureServer: (vite) => void vite.middlewares.use((req, res, next) => (req.url?.startsWith('/api/s3/') ? listener(req, res) : next())),
  }
}

/** Every Chromium process started by this Node process, with its VmRSS in bytes. */
function chromiumProcesses() {
  const parent = new Map()
  const info = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8')
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1])
      parent.set(Number(entry), ppid)
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024
      info.set(Number(entry), { rss, status })
    } catch {
      // The process ended while we looked.
    }
  }
  const mine = (pid) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true
    return false
  }
  const out = []
  for (const [pid, { rss, status }] of info) {
    if (!/^Name:\s+(chromium|chrome)/m.test(status) || !mine(pid)) continue
    let kind = 'browser'
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      const type = /--type=([a-z-]+)/.exec(cmdline)?.[1]
      const sub = /--utility-sub-type=([A-Za-z_.]+)/.exec(cmdline)?.[1]
      if (type !== undefined) kind = sub === undefined ? type : `${type}:${sub.replace(/\.mojom\./, '.').split('.').at(-1)}`
    } catch {
      continue
    }
    out.push({ pid, kind, rss })
  }
  return out
}

function rssSample() {
  const byKind = {}
  let total = 0
  for (const p of chromiumProcesses()) {
    byKind[p.kind] = (byKind[p.kind] ?? 0) + p.rss
    total += p.rss
  }
  return { total, byKind, processes: Object.keys(byKind).length }
}

/** Samples every `ms` until stopped; keeps the largest total and what made it up. */
function rssSampler(ms) {
  const started = Date.now()
  let peak = rssSample()
  let count = 1
  // Every 10th sample, [seconds, MiB], for the JSON: shows whether memory levels off or keeps growing.
  const series = []
  const timer = setInterval(() => {
    const s = rssSample()
    if (count++ % 10 === 0) series.push([(Date.now() - started) / 1000, Math.round(s.total / MiB)])
    if (s.total > peak.total) peak = s
  }, ms)
  return {
    stop() {
      clearInterval(timer)
      return { peak, samples: count, series }
    },
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * Runs `measure(mode, concurrency, run)` for every cell, `runs` times. The order of the two modes
 * alternates, so neither always runs first (right after a garbage collection or a deletion).
 */
async function interleaved(runs, measure) {
  const out = []
  for (let run = 0; run < runs; run++) {
    for (const concurrency of CONCURRENCIES) {
      for (const mode of (run + concurrency / 2) % 2 === 0 ? ['sealed', 'plain'] : ['plain', 'sealed']) {
        out.push({ mode, concurrency, run, ...(await measure(mode, concurrency, run)) })
      }
    }
  }
  return out
}

/** Per concurrency: the median MB/s of each mode, sealed / plain, and whether that meets the target. */
function compare(samples) {
  return CONCURRENCIES.map((concurrency) => {
    const of = (mode) => median(samples.filter((x) => x.mode === mode && x.concurrency === concurrency).map((x) => x.mbps))
    const sealed = of('sealed')
    const plain = of('plain')
    return { concurrency, sealed, plain, ratio: sealed / plain, met: sealed / plain >= TARGET }
  })
}

/** Median summed RSS over `n` samples 100 ms apart. */
async function rssBaseline(n = 10) {
  const totals = []
  for (let i = 0; i < n; i++) {
    totals.push(rssSample().total)
    await sleep(100)
  }
  return median(totals)
}

function printTable(title, header, rows) {
  const cells = [header, ...rows.map((r) => r.map(String))]
  const width = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)))
  const fmt = (r) => `| ${r.map((v, c) => (c === 0 ? v.padEnd(width[c]) : v.padStart(width[c]))).join(' | ')} |`
  const rule = `|${width.map((w, c) => (c === 0 ? `${'-'.repeat(w + 2)}` : ` ${'-'.repeat(w)}:`)).join('|')}|`
  process.stdout.write(`\n${title}\n\n${[fmt(cells[0]), rule, ...cells.slice(1).map(fmt)].join('\n')}\n`)
}

function gitInfo() {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages/core/src', 'packages/upload/src'], { cwd: ROOT, encoding: 'utf8' }).trim()
    return { sha, sourceModified: dirty !== '' }
  } catch {
    return null
  }
}

/** Uncaught errors in the page, by message: printed the first time, counted after that. */
const pageErrors = new Map()

async function openPage(browser, files) {
  const page = await browser.newPage()
  page.on('console', (msg) => {
    if (msg.text().startsWith('[transfer]') || msg.type() === 'error') say(msg.text())
  })
  page.on('pageerror', (e) => {
    const seen = pageErrors.get(e.message) ?? 0
    if (seen === 0) say(`page error (repeats are counted, not printed): ${e.stack ?? e.message}`)
    pageErrors.set(e.message, seen + 1)
  })
  await page.goto(files.url)
  await page.waitForFunction(() => window.bucketsealTransfer !== undefined, undefined, { timeout: 60_000 })
  for (const [input, path] of Object.entries(files.inputs)) await page.setInputFiles(`#file-${input}`, path)
  return page
}

async function main() {
  const opts = parseOptions(process.argv.slice(2), process.env)
  const started = Date.now()
  const loadBefore = os.loadavg()
  const s3 = startRgw()
  const server = (await runnerImport(join(ROOT, 'packages/server/src/index.ts'), { configFile: false, logLevel: 'warn' })).module
  const { chromiumArgs, chromiumPath } = (await runnerImport(join(ROOT, 'vite.config.ts'), { configFile: false, logLevel: 'warn' })).module
  const store = new server.S3Client(s3)
  const created = new Set()
  const remove = async (key) => {
    await store.deleteObject(key)
    created.delete(key)
  }
  const mainFile = await randomFile(opts.size)
  const tempFiles = [mainFile]
  let vite = null
  let browser = null
  const report = { date: new Date().toISOString(), runId: RUN_ID, options: { ...opts, out: relative(ROOT, opts.out) } }
  try {
    vite = await createServer({
      configFile: false,
      root: PAGE_DIR,
      logLevel: 'warn',
      clearScreen: false,
      appType: 'mpa',
      plugins: [presignPlugin(server, s3)],
      optimizeDeps: { noDiscovery: true, include: [] },
      server: { host: '127.0.0.1', port: 0, hmr: false, fs: { strict: true, allow: [ROOT] } },
    })
    await vite.listen()
    const url = `http://127.0.0.1:${vite.httpServer.address().port}/index.html`
    const launch = () => chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
    browser = await launch()
    const chromiumVersion = browser.version()
    say(`Chromium ${chromiumVersion}, ${os.cpus().length} CPUs, ${mib(opts.size)} MiB file, objects under ${PREFIX} at ${s3.endpoint}`)
    let page = await openPage(browser, { url, inputs: { main: mainFile } })
    const call = (name, ...args) => page.evaluate(([n, a]) => window.bucketsealTransfer[n](...a), [name, args])
    const key = (label) => {
      const k = `${PREFIX}${label}`
      created.add(k)
      return k
    }

    // 1. Uploads. One untimed small upload of each kind first (Worker modules, JIT, connections).
    for (const mode of ['sealed', 'plain']) {
      const r = await call('uploadRun', { mode, input: 'main', key: key(`warmup-${mode}`), concurrency: 2, partSize: PART_SIZE, limit: Math.min(opts.size, 3 * PART_SIZE) })
      await remove(r.key)
    }
    let downloadKey = null
    const uploads = await interleaved(opts.runs, async (mode, concurrency, run) => {
      const r = await call('uploadRun', { mode, input: 'main', key: key(`up-${mode}-${concurrency}-${run}`), concurrency, partSize: PART_SIZE, limit: null })
      if (mode === 'sealed' && downloadKey === null) downloadKey = r.key
      else await remove(r.key)
      return { ms: r.ms, mbps: mbps(r.plaintextBytes, r.ms), plaintextBytes: r.plaintextBytes, storedBytes: r.storedBytes, partCount: r.partCount }
    })
    collectGarbage()
    const uploadRows = compare(uploads)
    report.upload = { partSize: PART_SIZE, runs: uploads, rows: uploadRows }
    printTable(
      `Upload of a ${mib(opts.size)} MiB disk-backed File, ${PART_SIZE / MiB} MiB parts, MB/s of plaintext (median of ${opts.runs})`,
      ['concurrency', 'upload() MB/s', 'plain MB/s', 'ratio', `target ≥ ${TARGET * 100}%`],
      uploadRows.map((r) => [r.concurrency, r.sealed.toFixed(0), r.plain.toFixed(0), pct(r.ratio), verdict(r.met)]),
    )

    // 4. Downloads of the sealed object kept above (before the sealing runs, so it can go early).
    const downloads = await interleaved(opts.runs, async (mode, concurrency) => {
      const r = await call('downloadRun', { mode, key: downloadKey, concurrency, rangeSize: RANGE_SIZE })
      return { ms: r.ms, mbps: mbps(r.plaintextBytes, r.ms), bytesReceived: r.bytesReceived }
    })
    const downloadRows = compare(downloads)
    const firstByte = await call('firstByteRun', { key: downloadKey, samples: opts.samples, size: FIRST_BYTE_SIZE })
    await remove(downloadKey)
    collectGarbage()
    const firstByteRows = [
      ['downloadRange, object already open', firstByte.rangeOpened],
      ['openRemote + downloadRange', firstByte.rangeWithOpen],
      ['plain ranged GET, URL signed before', firstByte.plain],
      ['plain: signGet + ranged GET', firstByte.plainWithSign],
      ['plain: until response headers', firstByte.plainHeaders],
    ].map(([label, ms]) => ({ label, median: median(ms), min: Math.min(...ms), max: Math.max(...ms), ms }))
    report.download = { rangeSize: RANGE_SIZE, runs: downloads, rows: downloadRows }
    report.firstByte = { size: FIRST_BYTE_SIZE, samples: opts.samples, rows: firstByteRows }
    printTable(
      `Download + decrypt of the ${mib(opts.size)} MiB object, ${RANGE_SIZE / MiB} MiB ranges, MB/s of plaintext (median of ${opts.runs})`,
      ['concurrency', 'download() MB/s', 'plain GETs MB/s', 'ratio', `target ≥ ${TARGET * 100}%`],
      downloadRows.map((r) => [r.concurrency, r.sealed.toFixed(0), r.plain.toFixed(0), pct(r.ratio), verdict(r.met)]),
    )
    printTable(
      `Time to a verified ${FIRST_BYTE_SIZE / MiB} MiB plaintext range (plain: as many stored bytes), ms over ${opts.samples} reads`,
      ['case', 'median', 'min', 'max'],
      firstByteRows.map((r) => [r.label, r.median.toFixed(1), r.min.toFixed(1), r.max.toFixed(1)]),
    )

    // 2. File → sealed parts, no network.
    const seal = []
    for (const concurrency of CONCURRENCIES) {
      const r = await call('sealRun', { concurrency, partSize: PART_SIZE, runs: opts.sealRuns })
      const m = Object.fromEntries(Object.entries(r.mbps).map(([op, v]) => [op, median(v)]))
      seal.push({ concurrency, partCount: r.partCount, runs: r.mbps, ...m, ratio: m.seal / m.read, met: m.seal / m.read >= TARGET })
    }
    report.seal = { partSize: PART_SIZE, rows: seal }
    printTable(
      `File → sealed ${PART_SIZE / MiB} MiB parts in Workers, no network, MB/s of plaintext (median of ${opts.sealRuns})`,
      ['Workers', 'slice().arrayBuffer()', 'read + SHA-256', 'read + AES-GCM', 'sealPart', 'sealPart / read', `target ≥ ${TARGET * 100}%`],
      seal.map((r) => [r.concurrency, r.read.toFixed(0), r.digest.toFixed(0), r.encrypt.toFixed(0), r.seal.toFixed(0), pct(r.ratio), verdict(r.met)]),
    )

    // 3. Memory, in a fresh browser: its baseline is an idle page that has moved no data yet.
    if (opts.memorySize > 0) {
      const sealedC4 = uploadRows.find((r) => r.concurrency === MEMORY_CONCURRENCY)?.sealed ?? Number.NaN
      let size = opts.memorySize
      while (size > 2 * opts.size && size / 1e6 / sealedC4 > MEMORY_TIME_LIMIT_S) size /= 2
      if (size !== opts.memorySize) say(`memory run: ${size / MiB} MiB instead of ${opts.memorySize / MiB} MiB (at ${sealedC4.toFixed(0)} MB/s it would take over ${MEMORY_TIME_LIMIT_S} s)`)
      const memoryFile = await randomFile(size)
      tempFiles.push(memoryFile)
      await page.close()
      await browser.close()
      browser = await launch()
      page = await openPage(browser, { url, inputs: { memory: memoryFile } })
      await sleep(2000)
      const baseline = await rssBaseline()
      const idle = rssSample()
      const sampler = rssSampler(100)
      const r = await call('uploadRun', { mode: 'sealed', input: 'memory', key: key('memory'), concurrency: MEMORY_CONCURRENCY, partSize: PART_SIZE, limit: null })
      const { peak, samples, series } = sampler.stop()
      await remove(r.key)
      collectGarbage()
      // For the reading: what an idle pool of the library's Workers costs, measured after the upload.
      await sleep(1000)
      const before = await rssBaseline(5)
      await call('idlePool', 'open', { workers: MEMORY_CONCURRENCY })
      await sleep(1000)
      const withPool = await rssBaseline(5)
      await call('idlePool', 'close', { workers: 0 })
      const limit = (MEMORY_CONCURRENCY + 1) * PART_SIZE + MEMORY_SLACK
      const above = peak.total - baseline
      report.memory = {
        fileSize: size,
        concurrency: MEMORY_CONCURRENCY,
        partSize: PART_SIZE,
        ms: r.ms,
        mbps: mbps(r.plaintextBytes, r.ms),
        samples,
        baseline,
        baselineByKind: idle.byKind,
        peak: peak.total,
        peakByKind: peak.byKind,
        above,
        limit,
        met: above <= limit,
        idlePoolCost: withPool - before,
        series,
      }
      printTable(
        `Memory: summed VmRSS of this run's Chromium processes while upload() sends a ${mib(size)} MiB file (×${MEMORY_CONCURRENCY}, ${PART_SIZE / MiB} MiB parts), MiB`,
        ['', 'baseline', 'peak', 'peak − baseline', 'limit (c+1)×part+32', 'verdict'],
        [['all processes', mib(baseline), mib(peak.total), mib(above), mib(limit), verdict(above <= limit)]],
      )
      printTable(
        'Memory by process kind: idle baseline and at the peak sample, MiB',
        ['process', 'baseline', 'at peak', 'difference'],
        [...new Set([...Object.keys(idle.byKind), ...Object.keys(peak.byKind)])].map((kind) => [
          kind,
          mib(idle.byKind[kind] ?? 0),
          mib(peak.byKind[kind] ?? 0),
          mib((peak.byKind[kind] ?? 0) - (idle.byKind[kind] ?? 0)),
        ]),
      )
      process.stdout.write(
        `\nmemory run: ${mbps(r.plaintextBytes, r.ms).toFixed(0)} MB/s over ${(r.ms / 1000).toFixed(0)} s, ${samples} samples; ` +
          `an idle pool of ${MEMORY_CONCURRENCY} Workers alone costs ${mib(withPool - before)} MiB\n`,
      )
    }

    const loadAfter = os.loadavg()
    const cpus = os.cpus()
    report.machine = { cpus: cpus.length, cpuModel: cpus[0]?.model ?? null, memory: os.totalmem(), load: { before: loadBefore, after: loadAfter }, node: process.version, chromium: chromiumVersion }
    report.git = gitInfo()
    report.pageErrors = Object.fromEntries(pageErrors)
    for (const [message, count] of pageErrors) process.stdout.write(`\nuncaught in the page ${count} times: ${message}\n`)
    report.seconds = (Date.now() - started) / 1000
    process.stdout.write(
      `\nload average (1 min) before/after: ${loadBefore[0].toFixed(2)} / ${loadAfter[0].toFixed(2)}; ${report.seconds.toFixed(0)} s in all\n`,
    )
    await mkdir(dirname(opts.out), { recursive: true })
    await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`)
    process.stdout.write(`wrote ${relative(process.cwd(), opts.out) || opts.out}\n`)
  } finally {
    await browser?.close().catch(() => undefined)
    await vite?.close().catch(() => undefined)
    // Whatever a failed run left behind: objects, and multipart uploads never completed.
    for (const k of created) await store.deleteObject(k).catch(() => undefined)
    for (const u of await store.listMultipartUploads(PREFIX).catch(() => [])) await store.abortMultipartUpload(u.key, u.uploadId).catch(() => undefined)
    if (!opts.keepFiles) {
      for (const f of tempFiles) await rm(f, { force: true })
      await rmdir(FILE_DIR).catch(() => undefined) // only when empty: other sizes kept by --keep-files stay
    }
  }
}

main().catch((e) => {
  process.stderr.write(e instanceof UsageError ? `bench:transfer: ${e.message}\n` : `bench:transfer failed: ${e?.stack ?? e}\n`)
  process.exitCode = 1
})
