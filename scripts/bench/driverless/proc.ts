/**
 * The browser's cost as the kernel sees it: CPU seconds and memory of a process and all of its
 * descendants, read from /proc (Linux only). Nothing is attached to the browser; this only reads.
 */
import { readFileSync, readdirSync } from 'node:fs'

/** USER_HZ: the unit of the times in /proc/<pid>/stat (`getconf CLK_TCK`, 100 on Linux). */
const TICKS_PER_SECOND = 100

interface ProcInfo {
  readonly pid: number
  readonly ppid: number
  readonly name: string
  /** utime + stime + cutime + cstime (children already reaped), in ticks. */
  readonly ticks: number
}

function readStat(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The name is in parentheses and may itself contain spaces or parentheses: split after the last ')'.
    const close = stat.lastIndexOf(')')
    const name = stat.slice(stat.indexOf('(') + 1, close)
    const fields = stat.slice(close + 2).split(' ')
    // fields[0] is field 3 (state): ppid is field 4, utime … cstime are fields 14 … 17.
    const num = (field: number): number => Number(fields[field - 3] ?? 0)
    return { pid, ppid: num(4), name, ticks: num(14) + num(15) + num(16) + num(17) }
  } catch {
    return null // it ended while we looked
  }
}

/** `root` and every live descendant of it, except processes whose name matches `exclude` (Xvfb). */
export function processTree(root: number, exclude?: RegExp): ProcInfo[] {
  const all: ProcInfo[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const info = readStat(Number(entry))
    if (info !== null) all.push(info)
  }
  const children = new Map<number, ProcInfo[]>()
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p])
  const out: ProcInfo[] = []
  const rootInfo = all.find((p) => p.pid === root)
  const stack = rootInfo === undefined ? [] : [rootInfo]
  for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
    if (exclude === undefined || !exclude.test(p.name)) out.push(p)
    stack.push(...(children.get(p.pid) ?? []))
  }
  return out
}

/** CPU seconds (user + system, reaped children included) of the tree under `root`. */
export function cpuSeconds(root: number, exclude?: RegExp): number {
  return processTree(root, exclude).reduce((sum, p) => sum + p.ticks, 0) / TICKS_PER_SECOND
}

export interface MemorySample {
  /** Summed VmRSS, bytes: shared pages counted once per process that maps them. */
  readonly rss: number
  /** Summed Pss, bytes: shared pages split between the processes that map them. */
  readonly pss: number
  readonly processes: number
}

function kB(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)
  return m?.[1] === undefined ? 0 : Number(m[1]) * 1024
}

const PAGE = 4096

/**
 * RSS and PSS of the processes `pids`. PSS comes from /proc/<pid>/smaps_rollup, which walks every
 * mapping (tens of ms of this server's CPU for a browser); with `pss: false` only RSS is read, from
 * /proc/<pid>/statm, which costs next to nothing, and `pss` is reported as RSS.
 */
export function memoryOf(pids: readonly number[], withPss: boolean): MemorySample {
  let rss = 0
  let pss = 0
  let processes = 0
  for (const pid of pids) {
    try {
      if (withPss) {
        const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
        rss += kB(rollup, 'Rss')
        pss += kB(rollup, 'Pss')
      } else {
        const resident = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1] ?? 0) * PAGE
        rss += resident
        pss += resident
      }
      processes++
    } catch {
      // ended, or a kernel thread without mappings
    }
  }
  return { rss, pss, processes }
}

/** RSS and PSS of the tree under `root`. */
export function memory(root: number, exclude?: RegExp, withPss = true): MemorySample {
  return memoryOf(processTree(root, exclude).map((p) => p.pid), withPss)
}

/**
 * Samples {@link memoryOf} every `ms` until stopped; keeps the peak of each measure. The process
 * list is read again every 2 s only (a scan of /proc is the costly part of a sample).
 */
export function memorySampler(root: number, ms: number, exclude: RegExp | undefined, withPss: boolean): { stop(): { peak: MemorySample; samples: number; series: Array<[number, number]> } } {
  let peakRss = 0
  let peakPss = 0
  let processes = 0
  let samples = 0
  const started = Date.now()
  // [seconds, PSS MiB] every 10th sample: shows whether memory levels off or keeps growing.
  const series: Array<[number, number]> = []
  let pids: number[] = []
  let listed = 0
  const take = (): void => {
    if (Date.now() - listed > 2000) {
      pids = processTree(root, exclude).map((p) => p.pid)
      listed = Date.now()
    }
    const s = memoryOf(pids, withPss)
    if (samples++ % 10 === 0) series.push([Math.round((Date.now() - started) / 100) / 10, Math.round(s.pss / 2 ** 20)])
    peakRss = Math.max(peakRss, s.rss)
    peakPss = Math.max(peakPss, s.pss)
    processes = Math.max(processes, s.processes)
  }
  take()
  const timer = setInterval(take, ms)
  return {
    stop() {
      clearInterval(timer)
      take()
      return { peak: { rss: peakRss, pss: peakPss, processes }, samples, series }
    },
  }
}
