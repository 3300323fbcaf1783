// Uppy with its Dashboard in the test page, the Bucketseal plugin on the harness's presigner, and
// what the tests read: Uppy's events, the Dashboard's DOM, and the part jobs the shared pool ran.
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import { type Runner, workerPool } from '@bucketseal/client'
import Uppy, { type Meta, type UppyFile } from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import { createStore } from 'idb-keyval'
import { Bucketseal, type BucketsealBody, type BucketsealOptions } from '../src/index.js'
import { signer } from '../../client/test/s3.js'

export type TestFile = UppyFile<Meta, BucketsealBody>
/** Uppy's constructor options (its type with optional restrictions is not exported). */
export type UppyOptions = NonNullable<ConstructorParameters<typeof Uppy<Meta, BucketsealBody>>[0]>

export interface Recorded {
  readonly progress: Map<string, Array<{ bytesUploaded: number; bytesTotal: number | null }>>
  readonly success: Map<string, BucketsealBody>
  readonly errors: Map<string, unknown>
}

export interface Mounted {
  readonly uppy: Uppy<Meta, BucketsealBody>
  readonly root: HTMLElement
  readonly events: Recorded
  /** The file Uppy knows by this name. */
  file(name: string): TestFile
  /** The Dashboard's item for a file. */
  item(name: string): HTMLElement
  destroy(): void
}

/** A fresh IndexedDB store for Bucketseal's resume state, so tests do not meet. */
export function freshStore(): ReturnType<typeof createStore> {
  return createStore(`bucketseal-uppy-test-${Math.random().toString(36).slice(2)}`, 'uploads')
}

/** Uppy + inline Dashboard + Bucketseal, in a new element of the page. */
export function mount(plugin: Partial<BucketsealOptions<Meta>> & Pick<BucketsealOptions<Meta>, 'recipients'>, uppyOptions: UppyOptions = {}): Mounted {
  const root = document.createElement('div')
  document.body.append(root)
  const uppy = new Uppy<Meta, BucketsealBody>({ id: `uppy-${Math.random().toString(36).slice(2)}`, ...uppyOptions })
    .use(Dashboard, { inline: true, target: root, disableThumbnailGenerator: true, height: 400 })
    .use(Bucketseal, { signer, partSize: 5 * 1024 * 1024, store: freshStore(), ...plugin })
  const events: Recorded = { progress: new Map(), success: new Map(), errors: new Map() }
  uppy.on('upload-progress', (f, p) => {
    if (f === undefined) return
    const list = events.progress.get(f.name) ?? []
    list.push({ bytesUploaded: p.bytesUploaded, bytesTotal: p.bytesTotal })
    events.progress.set(f.name, list)
  })
  uppy.on('upload-success', (f, response) => {
    if (f !== undefined && response.body !== undefined) events.success.set(f.name, response.body)
  })
  uppy.on('upload-error', (f, error) => {
    if (f !== undefined) events.errors.set(f.name, error)
  })
  const file = (name: string): TestFile => {
    const found = uppy.getFiles().find((f) => f.name === name)
    if (found === undefined) throw new Error(`Uppy has no file "${name}".`)
    return found
  }
  return {
    uppy,
    root,
    events,
    file,
    item(name) {
      const el = root.querySelector<HTMLElement>(`[id="uppy_${CSS.escape(file(name).id)}"]`)
      if (el === null) throw new Error(`The Dashboard shows no item for "${name}".`)
      return el
    },
    destroy() {
      uppy.destroy()
      root.remove()
    },
  }
}

/** Drops `files` on the Dashboard as a user dragging them from the desktop would. */
export function drop(root: HTMLElement, files: readonly File[]): void {
  const target = root.querySelector('.uppy-Dashboard-inner')
  if (target === null) throw new Error('No Dashboard in the page.')
  const transfer = new DataTransfer()
  for (const f of files) transfer.items.add(f)
  target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: transfer }))
  target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: transfer }))
}

/** Clicks a Dashboard button found by its selector (the way a user would, through the DOM). */
export function click(root: ParentNode, selector: string): void {
  const button = root.querySelector<HTMLElement>(selector)
  if (button === null) throw new Error(`No "${selector}" in the Dashboard.`)
  button.click()
}

export interface PartEvent {
  readonly kind: 'start' | 'done' | 'stopped'
  /** The job id the shared pool gave the Worker (file token and part). */
  readonly id: string
  readonly part: number
}

/** A Worker pool that logs every part job and counts how many run at once. */
export function countingRunner(size: number): { runner: Runner; log: PartEvent[]; maxInFlight: () => number; close(): void } {
  const pool = workerPool(size)
  const log: PartEvent[] = []
  let inFlight = 0
  let max = 0
  const runner: Runner = {
    ...pool,
    async uploadPart(id, job, callbacks) {
      inFlight++
      max = Math.max(max, inFlight)
      log.push({ kind: 'start', id, part: job.number })
      try {
        const etag = await pool.uploadPart(id, job, callbacks)
        log.push({ kind: 'done', id, part: job.number })
        return etag
      } catch (e) {
        log.push({ kind: 'stopped', id, part: job.number })
        throw e
      } finally {
        inFlight--
      }
    },
  }
  return { runner, log, maxInFlight: () => max, close: () => pool.close() }
}
