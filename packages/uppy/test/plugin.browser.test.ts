// The Bucketseal plugin driven through Uppy's Dashboard in a real browser, against the Ceph RGW of
// the test harness (through its fault proxy): files are dropped, buttons clicked, and every stored
// object downloaded and decrypted again.
import { generateAesKwKey } from '@bucketseal/core'
import { TransferError, download, pendingUploads } from '@bucketseal/client'
import Uppy, { type Meta } from '@uppy/core'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Bucketseal, type BucketsealBody } from '../src/index.js'
import { bytes, readAll, s3, sha256, signer, testKey } from '../../client/test/s3.js'
import { type Mounted, type PartEvent, click, countingRunner, drop, freshStore, mount } from './dashboard.js'

const MiB = 1024 * 1024
const PART = 5 * MiB
const WAIT = { timeout: 50_000, interval: 20 }

let kek: CryptoKey
let other: CryptoKey
beforeAll(async () => {
  kek = await generateAesKwKey()
  other = await generateAesKwKey()
})
beforeEach(async () => {
  await s3.resetProxyStats()
})
let mounted: Mounted | null = null
let closeRunner: (() => void) | null = null
afterEach(async () => {
  await s3.setFaults([])
  mounted?.destroy()
  mounted = null
  closeRunner?.()
  closeRunner = null
})

function file(data: Uint8Array<ArrayBuffer>, name: string): File {
  return new File([data], name, { type: 'application/octet-stream', lastModified: 1_700_000_000_000 })
}

async function expectDecrypts(key: string, data: Uint8Array, keys: CryptoKey = kek): Promise<void> {
  const { object, stream } = await download(key, { signer, keys })
  expect(object.size).toBe(data.length)
  expect(await sha256(await readAll(stream))).toBe(await sha256(data))
}

/** Part jobs of one file (the pool names them after the Uppy file id). */
function partsOf(log: readonly PartEvent[], fileId: string, from = 0): PartEvent[] {
  return log.slice(from).filter((e) => e.id.startsWith(`${fileId}/`))
}

function inFlight(log: readonly PartEvent[], fileId?: string): number {
  const events = fileId === undefined ? log : partsOf(log, fileId)
  return events.reduce((n, e) => n + (e.kind === 'start' ? 1 : -1), 0)
}

describe('Bucketseal in Uppy', () => {
  it('several dropped files go up through one shared pool with progress; restrictions hold; each object decrypts to its file', async () => {
    const prefix = `${testKey('uppy-many')}/`
    const counting = countingRunner(2)
    closeRunner = counting.close
    const store = freshStore()
    const m = mount(
      // Recipients per file: one file is for another key only.
      { recipients: (f) => (f.name === 'small.bin' ? [other] : [kek]), keyPrefix: prefix, runner: counting.runner, concurrency: 2, limit: 2, store },
      { restrictions: { allowedFileTypes: ['.bin'] } },
    )
    mounted = m
    const refused: string[] = []
    m.uppy.on('restriction-failed', (f) => refused.push(f?.name ?? ''))
    const data = new Map([
      ['small.bin', bytes(1000, 1)],
      ['three-parts.bin', bytes(2 * PART + 7, 2)],
      ['two-parts.bin', bytes(PART + 1, 3)],
      ['empty.bin', bytes(0, 4)],
    ])
    drop(m.root, [...[...data].map(([name, d]) => file(d, name)), new File(['not allowed'], 'notes.txt', { type: 'text/plain' })])
    await expect.poll(() => m.uppy.getFiles().length, WAIT).toBe(4)
    expect(refused).toEqual(['notes.txt'])

    click(m.root, '.uppy-StatusBar-actionBtn--upload')
    await expect.poll(() => m.events.success.size, WAIT).toBe(4)
    expect(m.events.errors.size).toBe(0)

    const expectedParts = new Map([['small.bin', 1], ['three-parts.bin', 3], ['two-parts.bin', 2], ['empty.bin', 1]])
    for (const [name, d] of data) {
      const body = m.events.success.get(name)
      expect(body?.key.startsWith(prefix)).toBe(true)
      expect(body).toMatchObject({ plaintextSize: d.length, partCount: expectedParts.get(name), partsSent: expectedParts.get(name) })
      expect(body?.size).toBeGreaterThan(d.length)
      // Uppy's progress is in the file's bytes (the store's are ciphertext), ending at the file's size.
      const progress = m.events.progress.get(name) ?? []
      expect(progress.length).toBeGreaterThan(0)
      for (const p of progress) {
        expect(p.bytesTotal).toBe(d.length)
        expect(p.bytesUploaded).toBeGreaterThanOrEqual(0)
        expect(p.bytesUploaded).toBeLessThanOrEqual(d.length)
      }
      expect(progress.at(-1)?.bytesUploaded).toBe(d.length)
      expect(m.file(name).progress.uploadComplete).toBe(true)
      expect(m.item(name).classList.contains('is-complete')).toBe(true)
      // Every part job of the shared pool carries its file's id: no two files' jobs can be confused.
      expect(partsOf(counting.log, m.file(name).id).filter((e) => e.kind === 'done')).toHaveLength(expectedParts.get(name) ?? 0)
      await expectDecrypts(body?.key ?? '', d, name === 'small.bin' ? other : kek)
    }
    expect(counting.log.filter((e) => e.kind === 'done')).toHaveLength(7)
    expect(counting.maxInFlight()).toBeLessThanOrEqual(2)
    await expect(download(m.events.success.get('small.bin')?.key ?? '', { signer, keys: kek })).rejects.toBeInstanceOf(Error)
    expect(await pendingUploads(store)).toEqual([])
    expect(m.root.querySelector('.uppy-StatusBar')?.classList.contains('is-complete')).toBe(true)
  })

  it("a file paused from its Dashboard item sends nothing until resumed; pause-all and resume-all from the status bar do the same for every file", async () => {
    const prefix = `${testKey('uppy-pause')}/`
    const counting = countingRunner(2)
    closeRunner = counting.close
    const m = mount({ recipients: [kek], keyPrefix: prefix, runner: counting.runner, concurrency: 2, partsPerFile: 1, limit: 2 })
    mounted = m
    const a = bytes(4 * PART, 5)
    const b = bytes(4 * PART, 6)
    drop(m.root, [file(a, 'a.bin'), file(b, 'b.bin')])
    await expect.poll(() => m.uppy.getFiles().length, WAIT).toBe(2)
    const idA = m.file('a.bin').id
    const idB = m.file('b.bin').id
    click(m.root, '.uppy-StatusBar-actionBtn--upload')

    // Pause A from its item once one of its parts is stored.
    await expect.poll(() => partsOf(counting.log, idA).some((e) => e.kind === 'done'), WAIT).toBe(true)
    click(m.item('a.bin'), '.uppy-Dashboard-Item-progressIndicator')
    const pausedAt = counting.log.length
    expect(m.file('a.bin').isPaused).toBe(true)
    await expect.poll(() => m.item('a.bin').querySelector('.uppy-Dashboard-Item-progressIndicator')?.getAttribute('aria-label'), WAIT).toBe('Resume upload')
    // A's part in flight is given up; B goes on and stores a part while A sends nothing.
    await expect.poll(() => inFlight(counting.log, idA), WAIT).toBe(0)
    await expect.poll(() => partsOf(counting.log, idB, pausedAt).some((e) => e.kind === 'done'), WAIT).toBe(true)
    expect(partsOf(counting.log, idA, pausedAt).filter((e) => e.kind === 'start')).toEqual([])

    // Pause all from the status bar: B stops too, and nothing starts until resume-all.
    const toggle = '.uppy-StatusBar-actionCircleBtn[data-cy="togglePauseResume"]'
    expect(m.root.querySelector(toggle)?.getAttribute('title')).toBe('Pause')
    click(m.root, toggle)
    const allPausedAt = counting.log.length
    expect(m.file('b.bin').isPaused).toBe(true)
    await expect.poll(() => inFlight(counting.log), WAIT).toBe(0)
    await expect.poll(() => m.root.querySelector(toggle)?.getAttribute('title'), WAIT).toBe('Resume')
    expect(counting.log.slice(allPausedAt).filter((e) => e.kind === 'start')).toEqual([])
    expect(m.events.success.size).toBe(0)
    click(m.root, toggle)

    await expect.poll(() => m.events.success.size, WAIT).toBe(2)
    for (const [name, d, id] of [['a.bin', a, idA], ['b.bin', b, idB]] as const) {
      const body = m.events.success.get(name)
      expect(body?.partCount).toBe(4)
      // Each part stored once: a part given up on pause was sent again, not counted twice.
      expect(partsOf(counting.log, id).filter((e) => e.kind === 'done').map((e) => e.part).sort()).toEqual([1, 2, 3, 4])
      await expectDecrypts(body?.key ?? '', d)
    }
    expect(counting.maxInFlight()).toBeLessThanOrEqual(2)
  })

  it("cancel (a file's remove button, then the status bar's cancel) aborts the multipart uploads: nothing stays on the store", async () => {
    const prefix = `${testKey('uppy-cancel')}/`
    const counting = countingRunner(2)
    closeRunner = counting.close
    const store = freshStore()
    const m = mount({ recipients: [kek], keyPrefix: prefix, runner: counting.runner, concurrency: 2, partsPerFile: 1, limit: 3, store })
    mounted = m
    drop(m.root, [file(bytes(4 * PART, 7), 'a.bin'), file(bytes(4 * PART, 8), 'b.bin'), file(bytes(4 * PART, 9), 'c.bin')])
    await expect.poll(() => m.uppy.getFiles().length, WAIT).toBe(3)
    const ids = ['a.bin', 'b.bin', 'c.bin'].map((n) => m.file(n).id)
    click(m.root, '.uppy-StatusBar-actionBtn--upload')
    // Every file has stored a part: three multipart uploads exist on the store.
    await expect.poll(() => ids.every((id) => partsOf(counting.log, id).some((e) => e.kind === 'done')), WAIT).toBe(true)
    expect(await s3.pendingMultipartUploads(prefix)).toBe(3)
    expect(await pendingUploads(store)).toHaveLength(3)

    click(m.item('a.bin'), '.uppy-Dashboard-Item-action--remove')
    await expect.poll(() => s3.pendingMultipartUploads(prefix), WAIT).toBe(2)
    expect(m.uppy.getFiles().map((f) => f.name).sort()).toEqual(['b.bin', 'c.bin'])

    click(m.root, `.uppy-StatusBar-actionCircleBtn[title="Cancel"]`)
    await expect.poll(() => s3.pendingMultipartUploads(prefix), WAIT).toBe(0)
    await expect.poll(() => pendingUploads(store), WAIT).toEqual([])
    expect(m.uppy.getFiles()).toEqual([])
    expect(m.events.success.size).toBe(0)
    expect(m.events.errors.size).toBe(0)
  })

  it('a request the store refuses shows its typed error in the Dashboard; retry resumes and sends only the missing part', async () => {
    const prefix = `${testKey('uppy-refused')}/`
    const counting = countingRunner(1)
    closeRunner = counting.close
    const m = mount({ recipients: [kek], keyPrefix: prefix, runner: counting.runner, concurrency: 1 })
    mounted = m
    const data = bytes(PART + 1, 10)
    // Part 2's PUT is refused twice (403): once as an expired URL, which is re-signed, then for good.
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=2', action: 'expired', times: 2 }])
    drop(m.root, [file(data, 'refused.bin')])
    await expect.poll(() => m.uppy.getFiles().length, WAIT).toBe(1)
    click(m.root, '.uppy-StatusBar-actionBtn--upload')

    await expect.poll(() => m.events.errors.size, WAIT).toBe(1)
    expect((await s3.proxyStats()).faults).toBe(2)
    const error = m.events.errors.get('refused.bin')
    expect(error).toBeInstanceOf(TransferError)
    expect(error).toMatchObject({ code: 'REQUEST_REJECTED', status: 403, source: 'store' })
    const message = error instanceof Error ? error.message : ''
    expect(message).toContain('HTTP 403')
    // What Uppy shows: the item is in error with the typed error's message, the status bar failed,
    // and the informer names the file.
    const item = m.item('refused.bin')
    expect(item.classList.contains('is-error')).toBe(true)
    await expect.poll(() => item.querySelector('.uppy-Dashboard-Item-errorDetails')?.getAttribute('aria-label'), WAIT).toBe(message)
    expect(m.file('refused.bin').error).toBe(message)
    expect(m.root.querySelector('.uppy-StatusBar')?.classList.contains('is-error')).toBe(true)
    await expect.poll(() => m.root.querySelector('.uppy-Informer [role="alert"]')?.textContent ?? '', WAIT).toContain('Failed to upload refused.bin')
    // The upload stays resumable: its multipart upload (with part 1) is still on the store.
    expect(await s3.pendingMultipartUploads(prefix)).toBe(1)

    click(m.root, '.uppy-StatusBar-actionBtn--retry')
    await expect.poll(() => m.events.success.size, WAIT).toBe(1)
    const body = m.events.success.get('refused.bin')
    expect(body).toMatchObject({ partCount: 2, partsSent: 1 })
    await expectDecrypts(body?.key ?? '', data)
    expect(await s3.pendingMultipartUploads(prefix)).toBe(0)
  })

  it('a failed file removed from the Dashboard leaves no multipart upload on the store', async () => {
    const prefix = `${testKey('uppy-failed-removed')}/`
    const store = freshStore()
    const m = mount({ recipients: [kek], keyPrefix: prefix, concurrency: 1, store })
    mounted = m
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=2', action: 'expired', times: 2 }])
    drop(m.root, [file(bytes(PART + 1, 11), 'failed.bin')])
    await expect.poll(() => m.uppy.getFiles().length, WAIT).toBe(1)
    click(m.root, '.uppy-StatusBar-actionBtn--upload')
    await expect.poll(() => m.events.errors.size, WAIT).toBe(1)
    expect((await s3.proxyStats()).faults).toBe(2)
    expect(await s3.pendingMultipartUploads(prefix)).toBe(1)
    expect(await pendingUploads(store)).toHaveLength(1)

    click(m.item('failed.bin'), '.uppy-Dashboard-Item-action--remove')
    await expect.poll(() => s3.pendingMultipartUploads(prefix), WAIT).toBe(0)
    await expect.poll(() => pendingUploads(store), WAIT).toEqual([])
  })

  it('refuses options without recipients or with a bad limit, with a typed error', () => {
    const uppy = new Uppy<Meta, BucketsealBody>()
    expect(() => uppy.use(Bucketseal, { signer, recipients: [] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => uppy.use(Bucketseal, { signer, recipients: [kek], limit: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(uppy.getPlugin('Bucketseal')).toBeUndefined()
    uppy.destroy()
  })
})
