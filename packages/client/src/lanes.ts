/**
 * The part queue: `lanes` loops that each take the next part number, send it and go on, stopping
 * at the first failure. Pausing holds the loops at the gate; a part abandoned by the pause goes back
 * to the front of the queue. {@link Slots} bounds how many of them are on the wire at once, so one
 * more lane than that seals the next part meanwhile. Knows nothing of sealing or HTTP: the uploader
 * passes `send`.
 */
import { abortError } from './errors.js'

export class PauseGate {
  #release: (() => void) | null = null
  #gate: Promise<void> = Promise.resolve()

  get paused(): boolean {
    return this.#release !== null
  }

  pause(): void {
    if (this.#release !== null) return
    this.#gate = new Promise((resolve) => (this.#release = resolve))
  }

  resume(): void {
    this.#release?.()
    this.#release = null
  }

  /** Resolves at once when not paused, else on `resume()`. */
  wait(): Promise<void> {
    return this.#gate
  }
}

export interface LaneOptions {
  /** Part numbers still to send, in order; shared with whoever signs URLs ahead. */
  readonly queue: number[]
  readonly lanes: number
  readonly gate: PauseGate
  /** True once the task is cancelled: lanes stop taking parts. */
  readonly stopped: () => boolean
  /** Sends one part to completion. */
  send(number: number): Promise<void>
  /** Whether a failed part was only abandoned by a pause, and goes back in the queue. */
  requeue(number: number, error: unknown): boolean
  /** The first real failure, before the lanes wind down (cancel what is in flight). */
  onFailure(error: unknown): void
}

/** Runs the queue; resolves with the number of parts sent, rejects with the first failure. */
export async function runLanes(o: LaneOptions): Promise<number> {
  let sent = 0
  // An array, not a variable: the compiler does not see assignments made inside the lane closures.
  const failures: unknown[] = []
  const lane = async (): Promise<void> => {
    for (;;) {
      await o.gate.wait()
      if (o.stopped() || failures.length > 0) return
      const number = o.queue.shift()
      if (number === undefined) return
      try {
        await o.send(number)
        sent++
      } catch (error) {
        if (o.requeue(number, error)) {
          o.queue.unshift(number)
          continue
        }
        failures.push(error)
        if (failures.length === 1) o.onFailure(error)
        return
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, o.lanes) }, lane))
  if (failures.length > 0) throw failures[0]
  return sent
}

/**
 * At most `size` holders at once, the rest waiting in order: how many sealed parts may be on the
 * wire while one more is being sealed (the upload's pipelining). {@link acquire} resolves with the
 * release function; a waiter whose signal aborts stops waiting (ABORTED) and holds nothing.
 */
export class Slots {
  #free: number
  readonly #waiting: Array<() => void> = []

  constructor(size: number) {
    this.#free = Math.max(1, size)
  }

  /** Waits for a slot; resolves with a function that gives it back (once; later calls do nothing). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) return reject(abortError(signal))
      let released = false
      const release = (): void => {
        if (released) return
        released = true
        const next = this.#waiting.shift()
        if (next === undefined) this.#free++
        else next()
      }
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve(release)
      }
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(grant)
        if (at >= 0) this.#waiting.splice(at, 1)
        reject(abortError(signal))
      }
      if (this.#free > 0) {
        this.#free--
        resolve(release)
        return
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(grant)
    })
  }
}
