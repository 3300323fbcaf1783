// The uploader's orchestration with fakes at its seams (a signer that keeps parts in memory, a
// runner that records what it would seal), no store: progress under a flood of late reports, and
// two runners meeting on one resume key, with and without Web Locks.
import { generateAesKwKey } from '@bucketseal/core'
import { createStore, entries } from 'idb-keyval'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { type PartInfo, type Runner, type Signer, TransferError, UPLOAD_STATE_TTL_MS, type UploadProgress, pendingUploads, upload } from '../src/index.js'
import { digestPart } from '../src/seal-part.js'
import { bytes } from './s3.js'

const MiB = 1024 * 1024
const PART = 5 * MiB

let kek: CryptoKey
beforeAll(async () => {
  kek = await generateAesKwKey()
})

/** A store in memory behind the Signer interface. */
function memorySigner(): Signer & { completed: Map<string, readonly PartInfo[]> } {
  const uploads = new Map<string, Map<number, string>>()
  const completed = new Map<string, readonly PartInfo[]>()
  let next = 0
  return {
    completed,
    createMultipart: async () => {
      const id = `upload-${++next}`
      uploads.set(id, new Map())
      return id
    },
    signParts: async (_key, uploadId, numbers) => new Map(numbers.map((n) => [n, { url: `https://store.test/${uploadId}/${n}` }])),
    listParts: async (_key, uploadId) => {
      const parts = uploads.get(uploadId)
      if (parts === undefined) throw new TransferError('REQUEST_REJECTED', 'NoSuchUpload', { status: 404, source: 'store' })
      return [...parts].map(([partNumber, etag]) => ({ partNumber, etag }))
    },
    complete: async (key, uploadId, parts) => {
      completed.set(key, parts)
      uploads.delete(uploadId)
      return 'final-etag'
    },
    abort: async (_key, uploadId) => void uploads.delete(uploadId),
    signPut: async () => ({ url: 'https://store.test/single' }),
    signGet: async () => ({ url: 'https://store.test/get' }),
    head: async () => ({ size: 0, etag: '', metadata: {} }),
    // Parts "reach the store" through this, from the fake runner.
    ...{ uploads },
  }
}

interface Sealed {
  /** The object's nonce prefix: with the part number, it names the nonces a part is sealed under. */
  readonly nonces: string
  readonly part: number
  readonly digest: string
}

/**
 * A runner that checks in as the real one does (seal, then `sealed` with the digest), records the
 * plaintext it sealed and "sends" it; `late` progress reports keep arriving after each part's result.
 */
function fakeRunner(log: Sealed[], o: { late?: number; failFrom?: number; delayMs?: number } = {}): Runner {
  return {
    size: 3,
    async uploadPart(_id, job, callbacks) {
      const plain = await plainDigest(job.file, job.plan.partSize, job.number)
      await callbacks.sealed(job.number, await digestPart(job))
      log.push({ nonces: Array.from(job.key.noncePrefix, (x) => x.toString(16).padStart(2, '0')).join(''), part: job.number, digest: plain })
      await new Promise((r) => setTimeout(r, o.delayMs ?? 1))
      if (o.failFrom !== undefined && job.number >= o.failFrom) throw new TransferError('NETWORK', 'injected')
      const size = job.plan.partSize + 64 * 1024
      callbacks.progress(job.number, job.plan.partSize, size / 2)
      for (let i = 0; i < (o.late ?? 0); i++) setTimeout(() => callbacks.progress(job.number, job.plan.partSize, size * 2), i % 5)
      return `etag-${job.number}-${plain.slice(0, 8)}`
    },
    downloadRange: () => Promise.reject(new Error('not used')),
    digestPart: (_id, job) => digestPart(job),
    cancel: () => undefined,
    close: () => undefined,
  }
}

/** SHA-256 (hex) of part `n`'s plaintext: what the test compares, never what the uploader stores. */
async function plainDigest(file: Blob, partSize: number, n: number): Promise<string> {
  const bytes = await file.slice((n - 1) * partSize, n * partSize).arrayBuffer()
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('')
}

function store(): ReturnType<typeof createStore> {
  return createStore(`orchestration-${Math.random().toString(36).slice(2)}`, 'uploads')
}

/** No part of one object sealed from two different plaintexts (the nonce-reuse invariant). */
function expectOnePlaintextPerNonce(log: readonly Sealed[]): void {
  const seen = new Map<string, string>()
  for (const s of log) {
    const id = `${s.nonces}/${s.part}`
    expect(seen.get(id) ?? s.digest, `part ${s.part} sealed from two plaintexts`).toBe(s.digest)
    seen.set(id, s.digest)
  }
}

describe('progress', () => {
  it('stays monotonic and within the total under a flood of late reports', async () => {
    const reports: UploadProgress[] = []
    const log: Sealed[] = []
    const task = upload(new File([bytes(6 * PART + 17, 1)], 'flood.bin'), {
      signer: memorySigner(),
      recipients: [kek],
      partSize: PART,
      store: store(),
      runner: fakeRunner(log, { late: 200 }),
      onProgress: (p) => reports.push(p),
    })
    const result = await task.done
    // Let the last late reports arrive: they must not count.
    await new Promise((r) => setTimeout(r, 50))
    expect(reports.length).toBeGreaterThan(7)
    let previous = 0
    for (const p of reports) {
      expect(p.bytesUploaded).toBeGreaterThanOrEqual(previous)
      expect(p.bytesUploaded).toBeLessThanOrEqual(p.totalBytes)
      expect(p.bytesSealed).toBeLessThanOrEqual(6 * PART + 17)
      previous = p.bytesUploaded
    }
    const last = reports.at(-1)
    expect(last?.bytesUploaded).toBe(result.size)
    expect(last?.partsDone).toBe(7)
  })
})

describe('state at rest', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('an upload not resumed within its lifetime starts over under a fresh key, aborting the old one', async () => {
    const log: Sealed[] = []
    const signer = memorySigner()
    const s = store()
    const f = new File([bytes(3 * PART, 4)], 'old.bin', { lastModified: 9 })
    const crashed = upload(f, { signer, recipients: [kek], partSize: PART, store: s, runner: fakeRunner(log, { failFrom: 2 }), retries: 0 })
    await expect(crashed.done).rejects.toMatchObject({ code: 'NETWORK' })
    const [pending] = await pendingUploads(s)
    expect(pending?.partsDone).toBe(1)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + UPLOAD_STATE_TTL_MS + 1000)
    const result = await upload(f, { signer, recipients: [kek], partSize: PART, store: s, runner: fakeRunner(log) }).done
    expect(result.partsSent).toBe(3)
    // Two objects' nonces were used (the old one and the fresh one), and the old upload is gone.
    expect(new Set(log.map((l) => l.nonces)).size).toBe(2)
    await expect(signer.listParts(result.objectKey, 'upload-1')).rejects.toMatchObject({ status: 404 })
    expect(await pendingUploads(s)).toEqual([])
  })

  it('the saved state holds an encrypt-only key and no plaintext digest', async () => {
    const signer = memorySigner()
    const s = store()
    const data = bytes(2 * PART, 5)
    const crashed = upload(new File([data], 'rest.bin'), { signer, recipients: [kek], partSize: PART, store: s, runner: fakeRunner([], { failFrom: 2 }), retries: 0 })
    await expect(crashed.done).rejects.toMatchObject({ code: 'NETWORK' })
    const all = await entries<string, { key: { key: CryptoKey }; digests: Record<string, string> }>(s)
    expect(all).toHaveLength(1)
    const saved = all[0]?.[1]
    if (saved === undefined) throw new Error('no saved state')
    expect(saved.key.key.usages).toEqual(['encrypt'])
    expect(saved.key.key.extractable).toBe(false)
    expect(Object.values(saved.digests)).not.toContain(await plainDigest(new Blob([data]), PART, 1))
  })
})

describe('two runners on one resume key', () => {
  afterEach(() => {
    Reflect.deleteProperty(navigator, 'locks')
  })

  it('with Web Locks, the second call gets UPLOAD_IN_PROGRESS and the first finishes', async () => {
    const log: Sealed[] = []
    const signer = memorySigner()
    const s = store()
    const data = bytes(4 * PART, 2)
    const options = { signer, recipients: [kek], partSize: PART, store: s, objectKey: 'k-locks', runner: fakeRunner(log, { delayMs: 20 }) }
    const first = upload(new File([data], 'same.bin', { lastModified: 1 }), options)
    // Give the first call the lock before the second asks.
    await new Promise((r) => setTimeout(r, 5))
    const second = upload(new File([data], 'same.bin', { lastModified: 1 }), options)
    await expect(second.done).rejects.toMatchObject({ code: 'UPLOAD_IN_PROGRESS' })
    expect((await first.done).partCount).toBe(4)
    expectOnePlaintextPerNonce(log)
  })

  it('without Web Locks, two different files resuming at once never seal one part twice', async () => {
    Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true })
    expect(navigator.locks).toBeUndefined()
    const log: Sealed[] = []
    const signer = memorySigner()
    const s = store()
    const a = bytes(6 * PART, 3)
    // Same size, time and name; the same first part, other bytes after it.
    const b = a.slice()
    for (let i = PART; i < b.length; i += 4096) b[i] = (b[i] ?? 0) ^ 0xff
    const fileA = new File([a], 'same.bin', { lastModified: 7 })
    const fileB = new File([b], 'same.bin', { lastModified: 7 })
    // An interrupted upload of A: part 1 on the store, the rest failed.
    const crashed = upload(fileA, { signer, recipients: [kek], partSize: PART, store: s, runner: fakeRunner(log, { failFrom: 2 }), retries: 0 })
    await expect(crashed.done).rejects.toMatchObject({ code: 'NETWORK' })
    expect(await pendingUploads(s)).toHaveLength(1)
    const run = (f: File): Promise<unknown> =>
      upload(f, { signer, recipients: [kek], partSize: PART, store: s, runner: fakeRunner(log, { delayMs: 3 }) }).done.then(
        () => 'done',
        (e: unknown) => e,
      )
    const outcomes = await Promise.all([run(fileA), run(fileB)])
    expectOnePlaintextPerNonce(log)
    // At least one of them was refused, with a typed error.
    const refused = outcomes.filter((o) => o instanceof TransferError)
    expect(refused.length).toBeGreaterThanOrEqual(1)
    for (const e of refused) expect(['FILE_CHANGED', 'UPLOAD_IN_PROGRESS', 'BAD_STATE']).toContain(e instanceof TransferError ? e.code : '')
    // If one finished, its object is made only of that file's parts.
    for (const parts of signer.completed.values()) {
      const digests = await Promise.all(parts.map(async (p) => p.etag.split('-')[2]))
      const whole = async (f: File): Promise<boolean> => {
        for (const [i, p] of parts.entries()) if ((await plainDigest(f, PART, p.partNumber)).slice(0, 8) !== digests[i]) return false
        return true
      }
      expect((await whole(fileA)) || (await whole(fileB))).toBe(true)
    }
  })
})
