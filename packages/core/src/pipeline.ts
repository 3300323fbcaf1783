// The chunk engines shared by the one-shot and streaming APIs. Internal: not exported from index.ts.
import { type ObjectKey, openChunk, sealChunk, tryOpenChunk } from './chunk.js'
import { InvalidArgumentError, TamperedError, TruncatedError } from './errors.js'
import { TAG_LENGTH } from './header.js'
import { chunkCount } from './size.js'

/**
 * Chunk operations in flight at once. WebCrypto runs AES-GCM off the calling thread, so keeping a
 * few calls outstanding hides the per-call latency; results are still delivered strictly in order.
 */
export const DEFAULT_DEPTH = 4

/** Runs promises with bounded depth and hands their results on in submission order. */
export class OrderedQueue {
  readonly #pending: Promise<Uint8Array>[] = []
  readonly #depth: number
  readonly #emit: (bytes: Uint8Array) => void

  constructor(depth: number, emit: (bytes: Uint8Array) => void) {
    this.#depth = depth
    this.#emit = emit
  }

  /** Adds a job; waits for the oldest ones while the queue is full. */
  async push(job: Promise<Uint8Array>): Promise<void> {
    // A rejection is observed when its turn comes; this only keeps runtimes from reporting it early.
    job.catch(() => undefined)
    this.#pending.push(job)
    while (this.#pending.length >= this.#depth) await this.#shift()
  }

  async drain(): Promise<void> {
    while (this.#pending.length > 0) await this.#shift()
  }

  async #shift(): Promise<void> {
    const next = this.#pending.shift()
    if (next !== undefined) this.#emit(await next)
  }
}

/**
 * Cuts a byte stream into units of a fixed size, holding back the latest full unit until more input
 * shows it is not the last one. Whole units of the input are handed on as views, without a copy;
 * smaller pieces are gathered in one of two staging buffers, each reused once its unit is handed on:
 * WebCrypto copies its input when encrypt() or decrypt() is called, before the call returns.
 */
class Cutter {
  readonly #unit: number
  #held: Uint8Array | null = null
  /** Whether `#held` is a staging buffer (reusable once handed on) or a view of the caller's input. */
  #heldOwned = false
  #partial: Uint8Array
  #spare: Uint8Array | null = null
  #filled = 0

  constructor(unit: number) {
    this.#unit = unit
    this.#partial = new Uint8Array(unit)
  }

  /**
   * Takes more input and calls `next` with every unit now known not to be the last. `next` must have
   * read its unit when it returns (its promise may settle later). `data` must not change afterwards.
   */
  async push(data: Uint8Array, next: (unit: Uint8Array) => Promise<void>): Promise<void> {
    const unit = this.#unit
    let offset = 0
    while (offset < data.length) {
      if (this.#held !== null) {
        const held = this.#held
        this.#held = null
        const passing = next(held)
        if (this.#heldOwned) this.#spare = held
        await passing
      }
      if (this.#filled === 0 && data.length - offset >= unit) {
        this.#held = data.subarray(offset, offset + unit)
        this.#heldOwned = false
        offset += unit
        continue
      }
      const n = Math.min(unit - this.#filled, data.length - offset)
      this.#partial.set(data.subarray(offset, offset + n), this.#filled)
      this.#filled += n
      offset += n
      if (this.#filled === unit) {
        this.#held = this.#partial
        this.#heldOwned = true
        this.#partial = this.#spare ?? new Uint8Array(unit)
        this.#spare = null
        this.#filled = 0
      }
    }
  }

  /** What is left at the end of the input: the held full unit, or the partial one (maybe empty). */
  rest(): Uint8Array {
    const rest = this.#held ?? this.#partial.subarray(0, this.#filled)
    this.#held = null
    return rest
  }
}

/**
 * Cuts a plaintext stream into chunks and seals them. A full chunk is held back until more input
 * arrives, because only the end of the input tells whether it is the last one.
 */
export class Sealer {
  readonly #key: ObjectKey
  readonly #queue: OrderedQueue
  readonly #cutter: Cutter
  #index = 0
  #total = 0

  constructor(key: ObjectKey, emit: (bytes: Uint8Array) => void, depth = DEFAULT_DEPTH) {
    this.#key = key
    this.#queue = new OrderedQueue(depth, emit)
    this.#cutter = new Cutter(key.chunkSize)
  }

  /** Takes more plaintext. `data` must not be changed by the caller afterwards (it may be sealed in place). */
  async push(data: Uint8Array): Promise<void> {
    this.#total += data.length
    const expected = this.#key.plaintextLength
    if (expected !== null && this.#total > expected) {
      throw new InvalidArgumentError(`The input is longer than the plaintextLength given (${expected} bytes).`)
    }
    await this.#cutter.push(data, (chunk) => this.#seal(chunk, false))
  }

  /** Seals the last chunk and waits for every chunk to be emitted. */
  async finish(): Promise<void> {
    const expected = this.#key.plaintextLength
    if (expected !== null && this.#total !== expected) {
      throw new InvalidArgumentError(`The input ended after ${this.#total} bytes but plaintextLength was ${expected}.`)
    }
    await this.#seal(this.#cutter.rest(), true)
    await this.#queue.drain()
  }

  #seal(chunk: Uint8Array, last: boolean): Promise<void> {
    return this.#queue.push(sealChunk(this.#key, this.#index++, chunk, last))
  }
}

/**
 * Cuts a ciphertext body (the bytes after the header) into chunks and opens them, emitting each
 * chunk's plaintext only after its tag verified. Detects reordering, truncation and appended data.
 */
export class Opener {
  readonly #key: ObjectKey
  readonly #queue: OrderedQueue
  readonly #unit: number
  readonly #count: number | null
  readonly #cutter: Cutter
  #index = 0

  constructor(key: ObjectKey, emit: (bytes: Uint8Array) => void, depth = DEFAULT_DEPTH) {
    this.#key = key
    this.#queue = new OrderedQueue(depth, emit)
    this.#unit = key.chunkSize + TAG_LENGTH
    this.#cutter = new Cutter(this.#unit)
    this.#count = key.plaintextLength === null ? null : chunkCount(key.plaintextLength, key.chunkSize)
  }

  async push(data: Uint8Array): Promise<void> {
    await this.#cutter.push(data, (chunk) => this.#openFull(chunk))
  }

  /** A full chunk followed by more data: it is not the last one. */
  async #openFull(chunk: Uint8Array): Promise<void> {
    const index = this.#index++
    if (this.#count !== null && index >= this.#count - 1) {
      // First failure wins (FORMAT.md §5, "Reading chunks"): an earlier chunk still in flight that
      // fails must be the error, whatever the pipeline depth.
      await this.#queue.drain()
      throw new TamperedError(`The object has data after its final chunk (${this.#count} chunks).`, index)
    }
    return this.#queue.push(openChunk(this.#key, index, chunk, false))
  }

  /** Opens the final chunk, checks the object ends exactly there, and drains. */
  async finish(): Promise<void> {
    const final = this.#cutter.rest()
    const index = this.#index++
    const count = this.#count
    // Chunks before the final one are still in flight: let them fail first, so the error always
    // names the earliest bad chunk whatever the pipeline depth.
    await this.#queue.drain()
    if (final.length === 0) {
      throw new TruncatedError(`The object ends after ${index} chunk(s), before its final chunk.`)
    }
    if (count !== null) {
      const plain = this.#key.plaintextLength ?? 0
      const expected = plain - (count - 1) * this.#key.chunkSize + TAG_LENGTH
      if (index < count - 1 || final.length < expected) {
        throw new TruncatedError(`The object ends early: chunk ${index} of ${count} is ${index < count - 1 ? 'not the last' : 'cut short'}.`)
      }
      if (final.length > expected) throw new TamperedError('The object has data after its final chunk.', index)
      await this.#queue.push(openChunk(this.#key, index, final, true))
      return this.#queue.drain()
    }
    if (final.length < TAG_LENGTH) {
      throw new TruncatedError(`The object ends inside the tag of chunk ${index}.`)
    }
    const plain = await tryOpenChunk(this.#key, index, final, true)
    if (plain !== null) {
      if (plain.length === 0 && index > 0) throw new TamperedError('The object ends with an empty chunk, which encryptors never write.', index)
      await this.#queue.push(Promise.resolve(plain))
      await this.#queue.drain()
      return
    }
    if (final.length === this.#unit && (await tryOpenChunk(this.#key, index, final, false)) !== null) {
      throw new TruncatedError(`The object ends after chunk ${index}, which is not its final chunk.`)
    }
    throw new TamperedError(`Chunk ${index} failed authentication: the object was modified.`, index)
  }
}
