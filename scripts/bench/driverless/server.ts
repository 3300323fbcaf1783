/**
 * `pnpm bench:transfer`: upload and download throughput, CPU and memory of @bucketseal/client as a
 * user's browser runs it, each figure against the same transfer without encryption in the same run.
 *
 * The browser is started as a plain process on the page's URL (browsers.ts): no Playwright, no
 * DevTools or BiDi session. The page (page/) asks this server for the next case, runs it, and posts
 * its timings back; around the timed part it calls /bench/mark, and this server reads the CPU time
 * of the browser's whole process tree and samples its memory from /proc (proc.ts). The input is a
 * file the page writes into its origin-private file system first, so upload() gets a disk-backed
 * File as from a file picker. Presigned URLs point at the local Ceph RGW itself (scripts/rgw.sh);
 * for the shaped-link cases tc shapes the store's port on loopback (link.ts).
 *
 * Options (argv): --engines=chromium,firefox[,webkit]  --sizes=1024,4096 (MiB)  --links=0,50
 * (0 = unshaped loopback, N = shaped to N MB/s)  --concurrency=2,4  --memory=1024,4096 (fresh-browser
 * memory runs, MiB; 0 to skip)  --bodies (the part-body experiment)  --no-throughput  --quick
 * (64 and 256 MiB, no shaping)  --shaped-sizes=… (sizes for the shaped link; default --sizes)
 * --out=PATH (default .bench/transfer-driverless.json). Run it under the heavy lock:
 *   flock /tmp/bucketseal-heavy.lock pnpm bench:transfer --engines=chromium
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer, runnerImport } from 'vite'
import { type Engine, type RunningBrowser, startBrowser } from './browsers.ts'
import { shape, unshape } from './link.ts'
import { type MemorySample, cpuSeconds, memory, memorySampler } from './proc.ts'
import type { BenchCase, BodyKind, CaseResult, MarkRequest, Mode } from './protocol.ts'
import { printTables } from './tables.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '../../..')
const MiB = 1024 * 1024
const PART_SIZE = 8 * MiB
const CHUNK_SIZE = 256 * 1024
const RUN_ID = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`
const PREFIX = `bench/driverless-${RUN_ID}/`
const PROFILES = '/var/tmp/bucketseal-bench'
const BODY_KINDS: readonly BodyKind[] = ['u8', 'blob', 'opfs', 'u8-fetch', 'blob-fetch', 'blob-noprogress']

interface Options {
  engines: Engine[]
  sizes: number[]
  shapedSizes: number[]
  links: number[]
  concurrency: number[]
  memory: number[]
  bodies: boolean
  throughput: boolean
  out: string
}

function parseOptions(argv: readonly string[]): Options {
  const given = new Map<string, string>()
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (m?.[1] === undefined) throw new Error(`unknown argument ${arg} (see the top of scripts/bench/driverless/server.ts)`)
    given.set(m[1], m[2] ?? 'true')
  }
  const known = ['engines', 'sizes', 'shaped-sizes', 'links', 'concurrency', 'memory', 'bodies', 'no-throughput', 'quick', 'out']
  for (const k of given.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}`)
  const quick = given.has('quick')
  const list = (name: string, fallback: string): number[] =>
    (given.get(name) ?? fallback)
      .split(',')
      .filter((x) => x !== '')
      .map(Number)
  const engines = (given.get('engines') ?? 'chromium,firefox').split(',')
  for (const e of engines) if (e !== 'chromium' && e !== 'firefox' && e !== 'webkit') throw new Error(`unknown engine ${e}`)
  const sizes = list('sizes', quick ? '64,256' : '1024,4096').map((n) => n * MiB)
  return {
    engines: engines.filter((e): e is Engine => e === 'chromium' || e === 'firefox' || e === 'webkit'),
    sizes,
    shapedSizes: given.has('shaped-sizes') ? list('shaped-sizes', '').map((n) => n * MiB) : sizes,
    links: list('links', quick ? '0' : '0,50'),
    concurrency: list('concurrency', '2,4'),
    memory: list('memory', quick ? '256' : '1024,4096')
      .filter((n) => n > 0)
      .map((n) => n * MiB),
    bodies: given.has('bodies'),
    throughput: !given.has('no-throughput'),
    out: resolve(ROOT, given.get('out') ?? '.bench/transfer-driverless.json'),
  }
}

const say = (message: string): void => void process.stderr.write(`bench:transfer: ${message}\n`)

interface S3Env {
  endpoint: string
  region: string
  bucket: string
  credentials: { accessKeyId: string; secretAccessKey: string }
}

function startRgw(): S3Env {
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'rgw.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  const env = new Map<string, string>()
  for (const line of out.split('\n')) {
    const m = /^export (S3_[A-Z_]+)=(.*)$/.exec(line.trim())
    if (m?.[1] !== undefined && m[2] !== undefined) env.set(m[1], m[2])
  }
  const get = (k: string): string => {
    const v = env.get(k)
    if (v === undefined || v === '') throw new Error(`scripts/rgw.sh start printed no ${k}`)
    return v
  }
  return {
    endpoint: get('S3_ENDPOINT'),
    region: env.get('S3_REGION') ?? 'us-east-1',
    bucket: get('S3_BUCKET'),
    credentials: { accessKeyId: get('S3_ACCESS_KEY_ID'), secretAccessKey: get('S3_SECRET_ACCESS_KEY') },
  }
}

/** RGW frees deleted data from its RAM store only when its garbage collector runs: run it now. */
function collectGarbage(): void {
  const conf = join(process.env.BUCKETSEAL_RGW_DIR ?? '/tmp/bucketseal-rgw', 'ceph.conf')
  try {
    execFileSync('radosgw-admin', ['-c', conf, 'gc', 'process', '--include-all'], { stdio: 'ignore', timeout: 120_000 })
  } catch (e) {
    say(`radosgw-admin gc process failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`)
  }
}

/** One case as the server plans it: where the link stands, and what to do once it has run. */
interface Planned {
  readonly case: BenchCase
  /** 0: unshaped loopback; N: shaped to N MB/s each way. */
  readonly link: number
  readonly group: string
  readonly warmup?: boolean
  readonly after?: () => Promise<void>
}

interface Measured {
  readonly engine: Engine
  readonly link: number
  readonly group: string
  readonly warmup: boolean
  readonly case: BenchCase
  readonly result: CaseResult
  readonly cpuSeconds: number
  readonly idle: MemorySample
  readonly peak: MemorySample
  readonly memorySeries: Array<[number, number]>
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)))
  return Buffer.concat(chunks).toString('utf8')
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(value))
}

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The session the page is running: its queue of cases, and the browser whose tree is measured. */
interface Session {
  readonly engine: Engine
  readonly browser: RunningBrowser
  readonly queue: Planned[]
  current: Planned | null
  link: number
  marks: Map<string, { cpu0: number; idle: MemorySample; sampler: ReturnType<typeof memorySampler> | null; cpu: number; peak: MemorySample | null; series: Array<[number, number]> }>
  finish: () => void
  fail: (e: Error) => void
}

export async function main(argv: readonly string[]): Promise<void> {
  const opts = parseOptions(argv)
  const s3 = startRgw()
  const rgwPort = Number(new URL(s3.endpoint).port)
  const serverMod = (await runnerImport<typeof import('../../../packages/server/src/index.ts')>(join(ROOT, 'packages/server/src/index.ts'), { configFile: false, logLevel: 'warn' })).module
  // The S3 client is on the server package's `./s3` subpath.
  const s3Mod = (await runnerImport<typeof import('../../../packages/server/src/subpath-s3.ts')>(join(ROOT, 'packages/server/src/subpath-s3.ts'), { configFile: false, logLevel: 'warn' })).module
  const store = new s3Mod.S3Client(s3)
  const presign = serverMod.toNodeListener(
    serverMod.createPresignHandler({ ...s3, basePath: '/api/s3', expiresIn: 3600, authorize: ({ key }) => key.startsWith(PREFIX) }),
  )
  const results: Measured[] = []
  let session: Session | null = null

  const advance = async (res: ServerResponse, previous: CaseResult | null): Promise<void> => {
    const s = session
    if (s === null) return json(res, { kind: 'done' })
    if (previous !== null && s.current !== null) {
      const m = s.marks.get(previous.id)
      results.push({
        engine: s.engine,
        link: s.link,
        group: s.current.group,
        warmup: s.current.warmup === true,
        case: s.current.case,
        result: previous,
        cpuSeconds: m?.cpu ?? Number.NaN,
        idle: m?.idle ?? { rss: 0, pss: 0, processes: 0 },
        peak: m?.peak ?? { rss: 0, pss: 0, processes: 0 },
        memorySeries: m?.series ?? [],
      })
      const mbps = previous.bytes / 1e6 / (previous.ms / 1000)
      const extra = m === undefined ? '' : `, ${m.cpu.toFixed(1)} CPU s, peak PSS +${((((m.peak?.pss ?? 0) - m.idle.pss) / MiB) | 0)} MiB`
      say(`${s.engine} ${s.link === 0 ? 'loopback' : `${s.link} MB/s`} ${previous.id}: ${previous.error ?? `${mbps.toFixed(0)} MB/s${extra}`}`)
      await s.current.after?.()
      s.marks.delete(previous.id)
    }
    const next = s.queue.shift()
    s.current = next ?? null
    if (next === undefined) {
      json(res, { kind: 'done' })
      s.finish()
      return
    }
    if (next.link !== s.link) {
      if (next.link === 0) unshape()
      else shape(rgwPort, next.link)
      s.link = next.link
    }
    json(res, next.case)
  }

  const mark = async (res: ServerResponse, m: MarkRequest): Promise<void> => {
    const s = session
    if (s === null) return json(res, {})
    const { pid, exclude } = s.browser
    if (m.phase === 'start') {
      // The idle level right before the case: 5 samples 100 ms apart, the median of PSS.
      // PSS only for the memory runs: reading it costs this server CPU the browser would miss.
      const withPss = s.current?.group === 'memory'
      const idle: MemorySample[] = []
      for (let i = 0; i < 5; i++) {
        idle.push(memory(pid, exclude, withPss))
        await sleep(100)
      }
      const pss = median(idle.map((x) => x.pss))
      const rss = median(idle.map((x) => x.rss))
      s.marks.set(m.id, { cpu0: cpuSeconds(pid, exclude), idle: { pss, rss, processes: idle[0]?.processes ?? 0 }, sampler: memorySampler(pid, withPss ? 200 : 500, exclude, withPss), cpu: 0, peak: null, series: [] })
    } else {
      const entry = s.marks.get(m.id)
      if (entry !== undefined) {
        entry.cpu = cpuSeconds(pid, exclude) - entry.cpu0
        const stopped = entry.sampler?.stop()
        entry.sampler = null
        entry.peak = stopped?.peak ?? null
        entry.series = stopped?.series ?? []
      }
    }
    json(res, {})
  }

  const vite = await createServer({
    configFile: false,
    root: join(HERE, 'page'),
    logLevel: 'warn',
    clearScreen: false,
    appType: 'mpa',
    optimizeDeps: { noDiscovery: true, include: [] },
    server: { host: '127.0.0.1', port: 0, hmr: false, fs: { strict: true, allow: [ROOT] } },
    plugins: [
      {
        name: 'bench-control',
        configureServer(server) {
          server.middlewares.use((req, res, next) => {
            const url = req.url ?? ''
            if (url.startsWith('/api/s3/')) return void presign(req, res)
            if (!url.startsWith('/bench/')) return next()
            body(req)
              .then(async (text) => {
                if (url.startsWith('/bench/next')) return advance(res, text === '' ? null : (JSON.parse(text) as CaseResult))
                if (url.startsWith('/bench/mark')) return mark(res, JSON.parse(text) as MarkRequest)
                if (url.startsWith('/bench/log')) {
                  say(`[page] ${text}`)
                  return json(res, {})
                }
                if (url.startsWith('/bench/fail')) {
                  session?.fail(new Error(`the page failed: ${text}`))
                  return json(res, {})
                }
                res.statusCode = 404
                res.end()
              })
              .catch((e: unknown) => {
                say(`control request ${url} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
                res.statusCode = 500
                res.end()
              })
          })
        },
      },
    ],
  })
  await vite.listen()
  const address = vite.httpServer?.address() as AddressInfo | null
  if (address === null || address === undefined) throw new Error('the page server has no address')
  const url = `http://127.0.0.1:${address.port}/index.html`

  const key = (label: string): string => `${PREFIX}${label}`
  const remove = async (k: string): Promise<void> => {
    await store.deleteObject(k).catch(() => undefined)
    collectGarbage()
  }

  /** Uploads at one size and link, then downloads of the first sealed upload, modes alternating. */
  const transferCases = (size: number, link: number): Planned[] => {
    const group = `${size / MiB} MiB, ${link === 0 ? 'loopback' : `${link} MB/s`}`
    const tag = `${size / MiB}m-l${link}`
    const out: Planned[] = []
    const keep = key(`keep-${tag}`)
    opts.concurrency.forEach((c, i) => {
      const modes: Mode[] = i % 2 === 0 ? ['sealed', 'plain'] : ['plain', 'sealed']
      for (const mode of modes) {
        const k = i === 0 && mode === 'sealed' ? keep : key(`up-${tag}-${mode}-${c}`)
        out.push({
          group,
          link,
          case: { kind: 'upload', id: `upload-${mode}-c${c}-${tag}`, mode, size, concurrency: c, partSize: PART_SIZE, key: k },
          ...(k === keep ? {} : { after: () => remove(k) }),
        })
      }
      if (i === 0) {
        // Downloads of the kept sealed object: download() against plain ranged GETs of its bytes.
        opts.concurrency.forEach((dc, j) => {
          for (const mode of (j % 2 === 0 ? ['sealed', 'plain'] : ['plain', 'sealed']) as Mode[]) {
            out.push({ group, link, case: { kind: 'download', id: `download-${mode}-c${dc}-${tag}`, mode, key: keep, concurrency: dc, rangeSize: PART_SIZE } })
          }
        })
        const last = out.at(-1)
        if (last !== undefined) out[out.length - 1] = { ...last, after: () => remove(keep) }
      }
    })
    return out
  }

  const runSession = async (engine: Engine, queue: Planned[]): Promise<void> => {
    const profile = join(PROFILES, engine)
    const browser = startBrowser(engine, profile, url)
    say(`${engine} started (pid ${browser.pid}, profile ${profile}), ${queue.length} cases`)
    try {
      await new Promise<void>((resolvePromise, reject) => {
        session = { engine, browser, queue, current: null, link: 0, marks: new Map(), finish: resolvePromise, fail: reject }
        browser.exited.then((code) => reject(new Error(`${engine} exited (code ${code}) before the plan was done`)))
      })
    } finally {
      session = null
      unshape()
      await browser.stop()
      for (const u of await store.listMultipartUploads(PREFIX).catch(() => [])) await store.abortMultipartUpload(u.key, u.uploadId).catch(() => undefined)
    }
  }

  const maxSize = Math.max(...opts.sizes, ...opts.memory, opts.bodies ? 1024 * MiB : 0)
  const prepare: Planned = { group: 'prepare', link: 0, case: { kind: 'prepare', id: 'prepare', size: maxSize } }
  const warmups: Planned[] = (['sealed', 'plain'] as const).map((mode) => ({
    group: 'warmup',
    link: 0,
    warmup: true,
    case: { kind: 'upload', id: `warmup-${mode}`, mode, size: 32 * MiB, concurrency: 2, partSize: PART_SIZE, key: key(`warmup-${mode}`) },
    after: () => remove(key(`warmup-${mode}`)),
  }))
  const started = Date.now()
  const load = [os.loadavg()[0]]
  const onSignal = (): void => {
    unshape()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    for (const engine of opts.engines) {
      rmSync(join(PROFILES, engine), { recursive: true, force: true })
      const main: Planned[] = [prepare, ...warmups]
      if (opts.bodies) {
        const size = Math.min(1024 * MiB, maxSize)
        for (const c of opts.concurrency) {
          for (const b of BODY_KINDS) {
            const k = key(`body-${b}-${c}`)
            main.push({ group: 'bodies', link: 0, case: { kind: 'body', id: `body-${b}-c${c}`, body: b, size, concurrency: c, partSize: PART_SIZE, chunkSize: CHUNK_SIZE, key: k }, after: () => remove(k) })
          }
          const k = key(`body-plain-${c}`)
          main.push({ group: 'bodies', link: 0, case: { kind: 'upload', id: `body-plain-c${c}`, mode: 'plain', size, concurrency: c, partSize: PART_SIZE, key: k }, after: () => remove(k) })
        }
      }
      if (opts.throughput) {
        const size = Math.min(...opts.sizes)
        for (const c of opts.concurrency) {
          for (const op of ['read', 'encrypt'] as const) {
            main.push({ group: 'raw', link: 0, case: { kind: 'raw', id: `raw-${op}-c${c}`, op, size, concurrency: c, partSize: PART_SIZE, chunkSize: CHUNK_SIZE } })
          }
        }
        for (const link of opts.links) for (const size of link === 0 ? opts.sizes : opts.shapedSizes) main.push(...transferCases(size, link))
      }
      await runSession(engine, main)
      // Memory: a fresh browser process per run (same profile, so the input file is there), idle first.
      for (const size of opts.memory) {
        for (const mode of ['sealed', 'plain'] as const) {
          const k = key(`memory-${mode}-${size / MiB}`)
          await runSession(engine, [
            { group: 'memory', link: 0, case: { kind: 'prepare', id: 'prepare-check', size: maxSize } },
            { group: 'memory', link: 0, case: { kind: 'upload', id: `memory-${mode}-${size / MiB}m`, mode, size, concurrency: 4, partSize: PART_SIZE, key: k }, after: () => remove(k) },
          ])
        }
      }
      rmSync(join(PROFILES, engine), { recursive: true, force: true })
      load.push(os.loadavg()[0])
    }
  } finally {
    unshape()
    await vite.close().catch(() => undefined)
    for (const u of await store.listMultipartUploads(PREFIX).catch(() => [])) await store.abortMultipartUpload(u.key, u.uploadId).catch(() => undefined)
    const listed = await store.listObjectsV2({ prefix: PREFIX }).catch(() => null)
    for (const o of listed?.objects ?? []) await store.deleteObject(o.key).catch(() => undefined)
    collectGarbage()
    mkdirSync(dirname(opts.out), { recursive: true })
    const report = { date: new Date().toISOString(), runId: RUN_ID, options: opts, seconds: (Date.now() - started) / 1000, load, cpus: os.cpus().length, results, versions: versions() }
    writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`)
    say(`wrote ${opts.out}`)
  }
  printTables(JSON.parse(readFileSync(opts.out, 'utf8')))
}

function versions(): Record<string, string> {
  const v = (file: string, args: string[]): string => {
    try {
      return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    } catch {
      return 'unknown'
    }
  }
  return { chromium: v(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['--version']), firefox: v(process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr', ['--version']), node: process.version }
}
