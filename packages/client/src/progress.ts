/**
 * Upload progress that is exact whatever order reports arrive in. Reports come from Workers through
 * comlink, one message each (WebKit fires thousands of XHR progress events per part), so a report
 * can arrive after the part's result: only parts that are running count, a finished part counts its
 * exact size once, and no total exceeds the object's size.
 */
import { type PartPlan, partAt } from './parts.js'

export interface UploadProgress {
  /** Plaintext bytes read and sealed. */
  readonly bytesSealed: number
  /** Object bytes the store has received (parts done plus parts in flight). Never above `totalBytes`. */
  readonly bytesUploaded: number
  /** Object size on the store (ciphertext, header included). */
  readonly totalBytes: number
  readonly partsDone: number
  readonly partCount: number
  /** Upload rate in bytes per second, smoothed over the last seconds. */
  readonly bytesPerSecond: number
  /** Estimated seconds left, or `null` before there is a rate. */
  readonly secondsLeft: number | null
  /** Parts that were already on the store when this run started (resume). */
  readonly partsResumed: number
}

/** Rate over a sliding window of about five seconds; `now` is injectable for tests. */
export class RateMeter {
  readonly #samples: Array<[number, number]> = []
  readonly #window: number

  constructor(windowMs = 5000) {
    this.#window = windowMs
  }

  /** Records that `bytes` were done at `now` (ms) and returns the rate in bytes per second. */
  rate(bytes: number, now: number): number {
    this.#samples.push([now, bytes])
    while (this.#samples.length > 2 && now - (this.#samples[1]?.[0] ?? now) >= this.#window) this.#samples.shift()
    const first = this.#samples[0]
    if (first === undefined || now - first[0] < 500) return 0
    return Math.max(0, ((bytes - first[1]) * 1000) / (now - first[0]))
  }
}

export interface ProgressOptions {
  readonly onProgress: ((p: UploadProgress) => void) | undefined
  /** Clock in ms (default `performance.now`). */
  readonly now?: () => number
  /** Least time between two reports while parts run (default 100 ms); starts and ends always report. */
  readonly intervalMs?: number
}

export class ProgressTracker {
  readonly #plan: PartPlan
  readonly #options: ProgressOptions
  readonly #total: number
  readonly #resumed: number
  readonly #meter = new RateMeter()
  /** Running parts: sealed plaintext and sent ciphertext of the current attempt, each clamped. */
  readonly #running = new Map<number, { sealed: number; sent: number }>()
  readonly #done = new Set<number>()
  #doneBytes = 0
  #doneSealed = 0
  #last = Number.NEGATIVE_INFINITY
  #rate = 0

  /** `finished`: parts already on the store (resume). */
  constructor(plan: PartPlan, finished: Iterable<number>, options: ProgressOptions) {
    this.#plan = plan
    this.#options = options
    const last = partAt(plan, plan.partCount)
    this.#total = last.offset + last.size
    for (const n of finished) this.#finish(n)
    this.#resumed = this.#done.size
  }

  get totalBytes(): number {
    return this.#total
  }

  #now(): number {
    return (this.#options.now ?? (() => performance.now()))()
  }

  #finish(number: number): boolean {
    if (this.#done.has(number)) return false
    const p = partAt(this.#plan, number)
    this.#done.add(number)
    this.#doneBytes += p.size
    this.#doneSealed += p.plaintextEnd - p.plaintextStart
    return true
  }

  /** A new attempt at `number` starts from zero. */
  start(number: number): void {
    if (!this.#done.has(number)) this.#running.set(number, { sealed: 0, sent: 0 })
  }

  /** A report from the part's runner; ignored unless the part is running. */
  update(number: number, sealed: number, sent: number): void {
    const entry = this.#running.get(number)
    if (entry === undefined) return
    const p = partAt(this.#plan, number)
    entry.sealed = Math.min(Math.max(0, sealed), p.plaintextEnd - p.plaintextStart)
    entry.sent = Math.min(Math.max(0, sent), p.size)
    this.#emit(false)
  }

  /** The part was abandoned (pause, failure): its bytes no longer count. */
  abandon(number: number): void {
    this.#running.delete(number)
  }

  /** The store acknowledged the part: it counts its exact size, once. */
  finish(number: number): void {
    this.#running.delete(number)
    if (this.#finish(number)) this.#emit(true)
  }

  #emit(force: boolean): void {
    const report = this.#options.onProgress
    if (report === undefined) return
    const now = this.#now()
    if (!force && now - this.#last < (this.#options.intervalMs ?? 100)) return
    this.#last = now
    let sent = this.#doneBytes
    let sealed = this.#doneSealed
    for (const p of this.#running.values()) {
      sent += p.sent
      sealed += p.sealed
    }
    sent = Math.min(sent, this.#total)
    const raw = this.#meter.rate(sent, now)
    // Exponential smoothing: a part finishing should not make the estimate jump.
    this.#rate = this.#rate === 0 ? raw : raw === 0 ? this.#rate : 0.7 * this.#rate + 0.3 * raw
    report({
      bytesSealed: Math.min(sealed, this.#plan.plaintextLength),
      bytesUploaded: sent,
      totalBytes: this.#total,
      partsDone: this.#done.size,
      partCount: this.#plan.partCount,
      bytesPerSecond: this.#rate,
      secondsLeft: this.#rate > 0 ? (this.#total - sent) / this.#rate : null,
      partsResumed: this.#resumed,
    })
  }
}
