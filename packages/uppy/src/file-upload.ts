/**
 * One file's upload as Uppy drives it: it waits for one of the plugin's file slots (Uppy's
 * `limit`), runs a Bucketseal upload task, and follows pause, resume and cancel. A paused file gives
 * its slot back so another file can start in its place (as Uppy's Tus plugin does); resuming waits
 * for a slot again before any part is sent.
 */
import { TransferError, type UploadResult, type UploadTask } from '@bucketseal/client'
import type { Slots } from './pool.js'

export class FileUpload {
  readonly #slots: Slots
  readonly #start: () => Promise<UploadTask>
  #task: UploadTask | null = null
  #paused: boolean
  #cancelled = false
  /** Gives the file slot back; null while none is held. */
  #release: (() => void) | null = null
  /** Aborts the current wait for a slot (pause or cancel while waiting). */
  #waiting: AbortController | null = null
  /** Wakes run() when a file that was paused before it started is resumed. */
  #wake: (() => void) | null = null

  /** `start` makes the task (recipients may be looked up first); it runs once a slot is free. */
  constructor(slots: Slots, start: () => Promise<UploadTask>, paused: boolean) {
    this.#slots = slots
    this.#start = start
    this.#paused = paused
  }

  get cancelled(): boolean {
    return this.#cancelled
  }

  /**
   * Uploads the file; settles when it is stored, fails, or is cancelled.
   * @throws {TransferError} ABORTED after {@link FileUpload.cancel}; whatever the upload throws.
   */
  async run(): Promise<UploadResult> {
    try {
      await this.#firstSlot()
      this.#task = await this.#start()
      // Paused or cancelled while the task was being made: let it know before it sends anything.
      if (this.#cancelled) await this.#task.cancel()
      else if (this.#paused) {
        this.#task.pause()
        this.#giveSlot()
      }
      return await this.#task.done
    } finally {
      this.#giveSlot()
    }
  }

  pause(): void {
    if (this.#paused || this.#cancelled) return
    this.#paused = true
    this.#waiting?.abort()
    this.#task?.pause()
    if (this.#task !== null) this.#giveSlot()
  }

  resume(): void {
    if (!this.#paused || this.#cancelled) return
    this.#paused = false
    const wake = this.#wake
    this.#wake = null
    if (wake !== null) return wake()
    const task = this.#task
    if (task === null) return
    // Send again only once a slot is free; a pause or cancel meanwhile gives up the wait.
    this.#takeSlot().then(
      () => {
        if (this.#paused || this.#cancelled) this.#giveSlot()
        else task.resume()
      },
      () => undefined,
    )
  }

  /** Stops the upload and, if it had started a multipart upload, aborts it on the store. */
  async cancel(): Promise<void> {
    if (this.#cancelled) return
    this.#cancelled = true
    this.#waiting?.abort()
    const wake = this.#wake
    this.#wake = null
    wake?.()
    await this.#task?.cancel()
  }

  /** Waits until the file is not paused and holds a slot (a pause while waiting waits on). */
  async #firstSlot(): Promise<void> {
    for (;;) {
      while (this.#paused && !this.#cancelled) await new Promise<void>((resolve) => (this.#wake = resolve))
      try {
        return await this.#takeSlot()
      } catch (e) {
        if (this.#cancelled || !this.#paused) throw e
      }
    }
  }

  async #takeSlot(): Promise<void> {
    if (this.#cancelled) throw new TransferError('ABORTED', 'The upload was cancelled.')
    if (this.#release !== null) return
    const waiting = new AbortController()
    this.#waiting = waiting
    try {
      const release = await this.#slots.acquire(waiting.signal)
      if (this.#release === null) this.#release = release
      else release()
    } finally {
      if (this.#waiting === waiting) this.#waiting = null
    }
  }

  #giveSlot(): void {
    const release = this.#release
    this.#release = null
    release?.()
  }
}
