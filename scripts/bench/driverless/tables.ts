/**
 * The tables of a driverless run, as Markdown, from its JSON report (server.ts writes it; this
 * also runs alone: `node scripts/bench-transfer.mjs --tables=.bench/transfer-driverless.json`).
 * Every encrypted figure sits next to the plain one of the same run, engine, link, size and
 * concurrency, and is given as a ratio of it.
 */
import type { BenchCase, CaseResult } from './protocol.ts'

const MiB = 1024 * 1024
const GiB = 1024 * MiB

interface Sample {
  readonly rss: number
  readonly pss: number
}

interface Row {
  readonly engine: string
  readonly link: number
  readonly group: string
  readonly warmup: boolean
  readonly case: BenchCase
  readonly result: CaseResult
  readonly cpuSeconds: number
  readonly idle: Sample
  readonly peak: Sample
}

export interface Report {
  readonly results: readonly Row[]
}

const mbps = (r: Row | undefined): number => (r === undefined || r.result.error !== null ? Number.NaN : r.result.bytes / 1e6 / (r.result.ms / 1000))
const cpuPerGiB = (r: Row | undefined): number => (r === undefined || r.result.error !== null ? Number.NaN : r.cpuSeconds / (r.result.bytes / GiB))
const above = (r: Row | undefined, k: keyof Sample): number => (r === undefined || r.result.error !== null ? Number.NaN : (r.peak[k] - r.idle[k]) / MiB)
const f0 = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '–')
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '–')
const pct = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '–')
const linkName = (l: number): string => (l === 0 ? 'loopback' : `${l} MB/s`)

function table(title: string, header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return `\n${title}\n\n${line(header)}\n${line(header.map((_, i) => (i === 0 ? '---' : '---:')))}\n${rows.map(line).join('\n')}\n`
}

function find(results: readonly Row[], test: (r: Row) => boolean): Row | undefined {
  return results.find((r) => !r.warmup && test(r))
}

/** The tables as Markdown text. */
export function tables(report: Report): string {
  const rs = report.results
  const engines = [...new Set(rs.map((r) => r.engine))]
  let out = ''
  const errors = rs.filter((r) => r.result.error !== null)
  for (const e of errors) out += `\nFAILED ${e.engine} ${e.result.id}: ${e.result.error}\n`

  // The part-body experiment.
  const bodyRows: string[][] = []
  for (const engine of engines) {
    for (const c of [...new Set(rs.filter((r) => r.engine === engine && r.case.kind === 'body').map((r) => (r.case.kind === 'body' ? r.case.concurrency : 0)))]) {
      const plain = find(rs, (r) => r.engine === engine && r.result.id === `body-plain-c${c}`)
      const cells = [engine, String(c)]
      for (const b of ['u8', 'blob', 'opfs', 'u8-fetch', 'blob-fetch', 'blob-noprogress']) {
        const r = find(rs, (x) => x.engine === engine && x.result.id === `body-${b}-c${c}`)
        cells.push(`${f0(mbps(r))} (${pct(mbps(r) / mbps(plain))}), +${f0(above(r, 'rss'))} MiB`)
      }
      cells.push(`${f0(mbps(plain))}, +${f0(above(plain, 'rss'))} MiB`)
      bodyRows.push(cells)
    }
  }
  if (bodyRows.length > 0) {
    out += table(
      'Part bodies: raw AES-GCM parts PUT by XHR from Workers, 1 GiB, 8 MiB parts, loopback. MB/s (of plain), peak − idle RSS',
      ['engine', 'lanes', 'Uint8Array', 'Blob of chunks', 'OPFS file', 'Uint8Array, fetch', 'Blob, fetch', 'Blob, XHR without progress', 'plain fetch PUT of File slices'],
      bodyRows,
    )
  }

  // CPU baselines.
  const raw = new Map<string, number>()
  const rawRows: string[][] = []
  for (const engine of engines) {
    for (const c of [...new Set(rs.filter((r) => r.engine === engine && r.case.kind === 'raw').map((r) => (r.case.kind === 'raw' ? r.case.concurrency : 0)))]) {
      const read = find(rs, (r) => r.engine === engine && r.result.id === `raw-read-c${c}`)
      const enc = find(rs, (r) => r.engine === engine && r.result.id === `raw-encrypt-c${c}`)
      const aes = cpuPerGiB(enc) - cpuPerGiB(read)
      raw.set(`${engine}-${c}`, aes)
      rawRows.push([engine, String(c), f0(mbps(read)), f2(cpuPerGiB(read)), f0(mbps(enc)), f2(cpuPerGiB(enc)), f2(aes)])
    }
  }
  if (rawRows.length > 0) {
    out += table(
      'CPU baseline: the File read in 8 MiB slices, and the same plus raw AES-GCM of every 256 KiB chunk, in Workers; CPU s of the whole browser per GiB',
      ['engine', 'Workers', 'read MB/s', 'read CPU s/GiB', 'read+AES MB/s', 'read+AES CPU s/GiB', 'raw AES-GCM CPU s/GiB'],
      rawRows,
    )
  }

  // Throughput and CPU.
  for (const kind of ['upload', 'download'] as const) {
    const rows: string[][] = []
    for (const engine of engines) {
      const cells = rs.filter((r) => r.engine === engine && r.case.kind === kind && r.group !== 'memory' && r.group !== 'bodies' && !r.warmup)
      const keys = [...new Set(cells.map((r) => `${r.link}|${r.group}|${'concurrency' in r.case ? r.case.concurrency : 0}`))]
      for (const k of keys) {
        const [link, group, c] = k.split('|')
        const of = (mode: string): Row | undefined => cells.find((r) => `${r.link}|${r.group}|${'concurrency' in r.case ? r.case.concurrency : 0}` === k && 'mode' in r.case && r.case.mode === mode)
        const sealed = of('sealed')
        const plain = of('plain')
        const extra = cpuPerGiB(sealed) - cpuPerGiB(plain)
        const aes = raw.get(`${engine}-${c}`) ?? raw.get(`${engine}-2`) ?? Number.NaN
        rows.push([
          engine,
          linkName(Number(link)),
          (group ?? '').split(',')[0] ?? '',
          c ?? '',
          f0(mbps(sealed)),
          f0(mbps(plain)),
          pct(mbps(sealed) / mbps(plain)),
          f2(cpuPerGiB(sealed)),
          f2(cpuPerGiB(plain)),
          f2(extra),
          f2(extra / aes),
          `+${f0(above(sealed, 'rss'))} / +${f0(above(plain, 'rss'))}`,
        ])
      }
    }
    if (rows.length > 0) {
      out += table(
        `${kind === 'upload' ? 'Upload: upload() against plain fetch PUTs of File slices' : 'Download: download() drained against plain ranged GETs of the same stored bytes'}, 8 MiB ${kind === 'upload' ? 'parts' : 'ranges'}`,
        ['engine', 'link', 'size', 'c', 'sealed MB/s', 'plain MB/s', 'ratio', 'sealed CPU s/GiB', 'plain CPU s/GiB', 'extra CPU s/GiB', 'extra / raw AES-GCM', 'peak − idle RSS MiB sealed / plain'],
        rows,
      )
    }
  }

  // Memory, fresh browser per run.
  const memRows: string[][] = []
  for (const engine of engines) {
    for (const r of rs.filter((x) => x.engine === engine && x.group === 'memory' && x.case.kind === 'upload' && x.case.mode === 'sealed')) {
      if (r.case.kind !== 'upload') continue
      const size = r.case.size
      const plain = find(rs, (x) => x.engine === engine && x.group === 'memory' && x.case.kind === 'upload' && x.case.mode === 'plain' && x.case.size === size)
      const limit = ((r.case.concurrency + 1) * r.case.partSize) / MiB + 32
      memRows.push([
        engine,
        `${size / MiB} MiB`,
        f0(mbps(r)),
        f0(above(r, 'pss')),
        f0(above(r, 'rss')),
        f0(above(plain, 'pss')),
        f0(above(plain, 'rss')),
        f0(above(r, 'pss') - above(plain, 'pss')),
        f0(limit),
      ])
    }
  }
  if (memRows.length > 0) {
    out += table(
      'Memory: peak − idle of the browser process tree, fresh browser per run, concurrency 4, 8 MiB parts, MiB',
      ['engine', 'file', 'sealed MB/s', 'sealed PSS', 'sealed RSS', 'plain PSS', 'plain RSS', 'sealed − plain PSS', 'limit (c+1)×part+32'],
      memRows,
    )
  }
  return out
}

export function printTables(report: Report): void {
  process.stdout.write(tables(report))
}
