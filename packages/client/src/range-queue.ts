/**
 * The download's range queue: fetches the ranges of an object `concurrency` at a time and hands
 * them out in order. A lane that finishes starts the next range at once, even while an earlier
 * range is still on its way, so one slow range does not hold the other lanes up; finished ranges
 * wait for their turn, and at most `window` ranges (fetching or waiting) exist at once, which bounds
 * memory to `window × rangeSize`. Knows nothing of HTTP or decryption: the downloader passes `fetch`.
 */

export interface RangeQueueOptions {
  /** Bytes to cover, from 0. */
  readonly length: number
  /** Bytes per range (the last may be shorter). */
  readonly rangeSize: number
  /** Ranges fetched at once. */
  readonly concurrency: number
  /** Ranges fetched or finished but not handed out yet, at most. Default 2 × concurrency. */
  readonly window?: number
  /** Fetches `[start, end)` as job `id`. */
  fetch(id: string, start: number, end: number): Promise<Uint8Array>
  /** Stops job `id` (fetched by `fetch`). */
  cancel(id: string): void
}

interface Slot {
  readonly id: string
  readonly result: Promise<Uint8Array>
  settled: boolean
}

export class RangeQueue {
  readonly #o: RangeQueueOptions
  readonly #window: number
  /** Ranges launched and not handed out, in order. */
  readonly #slots: Slot[] = []
  #next = 0
  #sequence = 0
  #running = 0
  #closed = false

  constructor(options: RangeQueueOptions) {
    this.#o = options
    const concurrency = Math.max(1, options.concurrency)
    this.#window = Math.max(concurrency, options.window ?? 2 * concurrency)
    this.#launch()
  }

  #launch(): void {
    const { length, rangeSize } = this.#o
    const lanes = Math.max(1, this.#o.concurrency)
    while (!this.#closed && this.#running < lanes && this.#slots.length < this.#window && this.#next < length) {
      const start = this.#next
      const end = Math.min(start + rangeSize, length)
      this.#next = end
      const id = `range-${this.#sequence++}`
      this.#running++
      const result = this.#o.fetch(id, start, end)
      const slot: Slot = { id, result, settled: false }
      const done = (): void => {
        slot.settled = true
        this.#running--
        this.#launch()
      }
      result.then(done, done)
      this.#slots.push(slot)
    }
  }

  /**
   * The next range in order, or `null` after the last. Rejects with the range's failure; the
   * caller then {@link close}s the queue.
   */
  async next(): Promise<Uint8Array | null> {
    const head = this.#slots[0]
    if (head === undefined) return null
    try {
      return await head.result
    } finally {
      this.#slots.shift()
      this.#launch()
    }
  }

  /** Stops every range still fetching; launches no more. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const s of this.#slots) if (!s.settled) this.#o.cancel(s.id)
    this.#slots.length = 0
  }
}
