// Encrypted multipart uploads from a Worker pool to a real Ceph RGW, through presigned URLs from
// @bucketseal/server, with faults injected between the browser and the store.
import { encrypt, encryptStream, generateAesKwKey, headerToMetadata } from '@bucketseal/core'
import { createStore } from 'idb-keyval'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Runner, TransferError, type UploadOptions, type UploadResult, download, pendingUploads, upload, workerPool } from '../src/index.js'
import { bytes, readAll, s3, sha256, signer, testKey, toBase64 } from './s3.js'

const MiB = 1024 * 1024
const PART = 5 * MiB

let kek: CryptoKey
beforeAll(async () => {
  kek = await generateAesKwKey()
})
afterEach(async () => {
  await s3.setFaults([])
})
beforeEach(async () => {
  await s3.resetProxyStats()
})

/** Every fault test checks that its faults really fired: without them it would prove nothing. */
async function expectFaults(n: number): Promise<void> {
  expect((await s3.proxyStats()).faults).toBe(n)
}

function store(): ReturnType<typeof createStore> {
  return createStore(`bucketseal-uploads-test-${Math.random().toString(36).slice(2)}`, 'uploads')
}

function file(data: Uint8Array<ArrayBuffer>, name = 'data.bin', lastModified = 1_700_000_000_000): File {
  return new File([data], name, { lastModified })
}

async function roundTrip(data: Uint8Array<ArrayBuffer>, extra: Partial<UploadOptions> = {}): Promise<{ key: string; partCount: number; partsSent: number }> {
  const key = testKey('rt')
  const result = await upload(file(data), { signer, recipients: [kek], objectKey: key, partSize: PART, store: store(), ...extra }).done
  const { object, stream } = await download(key, { signer, keys: kek })
  expect(object.size).toBe(data.length)
  expect(object.metadata?.name).toBe('data.bin')
  expect(await sha256(await readAll(stream))).toBe(await sha256(data))
  return { key, partCount: result.partCount, partsSent: result.partsSent }
}

describe('upload to Ceph RGW', () => {
  it.for([0, 1, PART - 1, PART, PART + 1])('%i bytes round-trip byte for byte', async (size) => {
    await roundTrip(bytes(size, size + 1))
  })

  it('a 64 MiB file in many parts, with the metadata mirror on the object', async () => {
    const data = bytes(64 * MiB, 64)
    const progress: number[] = []
    const { key, partCount } = await roundTrip(data, { onProgress: (p) => progress.push(p.bytesUploaded) })
    expect(partCount).toBe(13)
    const head = await signer.head(key)
    expect(head.metadata['client-side-encryption-cek-alg']).toBe('BKSL1/AES-256-GCM/HKDF-SHA-256/STREAM')
    expect(head.metadata['client-side-encryption-unencrypted-content-length']).toBe(String(data.length))
    expect(head.metadata['client-side-encryption-part-size']).toBe(String(PART))
    expect(progress.length).toBeGreaterThan(13)
    expect(progress.at(-1)).toBe(head.size)
  })

  it('parts finished out of order still make a valid object', async () => {
    const pool = workerPool(3)
    const order: number[] = []
    // Part 1 is held back until the others are done.
    let releaseFirst: () => void = () => undefined
    const firstHeld = new Promise<void>((r) => (releaseFirst = r))
    const runner: Runner = {
      ...pool,
      size: 3,
      async uploadPart(id, job, callbacks) {
        if (job.number === 1) await firstHeld
        const etag = await pool.uploadPart(id, job, callbacks)
        order.push(job.number)
        if (order.length === 3) releaseFirst()
        return etag
      },
    }
    try {
      await roundTrip(bytes(4 * PART + 10, 3), { runner })
    } finally {
      pool.close()
    }
    // Part 1 (with the header) finished after three later parts.
    expect(order.indexOf(1)).toBeGreaterThanOrEqual(3)
  })

  it('survives 500s, 503s and a connection dropped mid-part', async () => {
    await s3.setFaults([
      { method: 'PUT', match: 'partNumber=2', action: 'status-500', times: 2 },
      { method: 'PUT', match: 'partNumber=3', action: 'drop' },
      { method: 'PUT', match: 'partNumber=1', action: 'status-503' },
    ])
    await roundTrip(bytes(3 * PART + 1, 5), { retries: 4 })
    await expectFaults(4)
  })

  it('an expired URL is re-signed and the part resent', async () => {
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=2', action: 'expired' }])
    await roundTrip(bytes(2 * PART + 1, 6))
    await expectFaults(1)
  })

  it('a response whose ETag CORS does not expose fails loudly, naming the fix', async () => {
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=1', action: 'strip-etag' }])
    const task = upload(file(bytes(2 * PART + 1, 7)), { signer, recipients: [kek], objectKey: testKey('etag'), partSize: PART, store: store() })
    await expect(task.done).rejects.toMatchObject({ code: 'MISSING_ETAG', message: expect.stringContaining('ExposeHeaders') })
    await expectFaults(1)
  })

  it('a single PUT needs no ETag: the object landed, so the upload succeeds', async () => {
    await s3.setFaults([{ method: 'PUT', action: 'strip-etag' }])
    const data = bytes(1000, 17)
    const key = testKey('single-no-etag')
    await upload(file(data), { signer, recipients: [kek], objectKey: key, store: store() }).done
    await expectFaults(1)
    const { stream } = await download(key, { signer, keys: kek })
    expect(await sha256(await readAll(stream))).toBe(await sha256(data))
  })

  it('a bucket without CORS for this origin fails with NETWORK, naming CORS as the likely cause', async () => {
    await s3.setFaults([{ method: 'PUT', action: 'no-cors', times: 2 }])
    const task = upload(file(bytes(PART + 1, 19)), { signer, recipients: [kek], objectKey: testKey('cors'), partSize: PART, store: store(), retries: 1, concurrency: 1 })
    await expect(task.done).rejects.toMatchObject({ code: 'NETWORK', message: expect.stringContaining('CORS') })
    await expectFaults(2)
  })

  it('a redirect from the store is refused: the part is not taken as sent', async () => {
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=1', action: 'redirect' }])
    const task = upload(file(bytes(PART + 1, 20)), { signer, recipients: [kek], objectKey: testKey('redirect'), partSize: PART, store: store(), retries: 0, concurrency: 1 })
    const error: unknown = await task.done.catch((e: unknown) => e)
    // XHR follows redirects by itself: the answer from elsewhere is refused (or the browser refuses
    // the redirect of a CORS request outright); either way no ETag from another server is used.
    expect(error).toBeInstanceOf(TransferError)
    expect(error).toMatchObject({ code: expect.stringMatching(/^(REQUEST_REJECTED|NETWORK)$/) })
    if ((await s3.redirectsFollowed()) > 0) expect(error).toMatchObject({ code: 'REQUEST_REJECTED', message: expect.stringContaining('redirect') })
    await expectFaults(1)
  })

  it('errors persisting past the retries end in a clear NETWORK error, not a hang', async () => {
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=1', action: 'status-500', times: 10 }])
    const task = upload(file(bytes(PART + 1, 8)), { signer, recipients: [kek], objectKey: testKey('net'), partSize: PART, store: store(), retries: 2 })
    await expect(task.done).rejects.toMatchObject({ code: 'NETWORK', message: expect.stringContaining('HTTP 500') })
    await expectFaults(3)
  })

  it('cancel aborts the multipart upload: nothing is left behind', async () => {
    const key = testKey('cancel')
    const s = store()
    let task: ReturnType<typeof upload> | null = null
    const cancelled = new Promise<void>((resolve) => {
      task = upload(file(bytes(6 * PART, 9)), {
        signer,
        recipients: [kek],
        objectKey: key,
        partSize: PART,
        store: s,
        concurrency: 2,
        onProgress: (p) => {
          if (p.partsDone >= 1 && task !== null) void task.cancel().then(resolve)
        },
      })
    })
    await cancelled
    await expect(task!.done).rejects.toMatchObject({ code: 'ABORTED' })
    expect(await s3.pendingMultipartUploads(key)).toBe(0)
    expect(await pendingUploads(s)).toEqual([])
  })

  it('an AbortSignal cancels too', async () => {
    const controller = new AbortController()
    const key = testKey('signal')
    const task = upload(file(bytes(4 * PART, 10)), { signer, recipients: [kek], objectKey: key, partSize: PART, store: store(), signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    await expect(task.done).rejects.toMatchObject({ code: 'ABORTED' })
    expect(await s3.pendingMultipartUploads(key)).toBe(0)
  })

  it('after a crash mid-upload, picking the file again sends only the missing parts', async () => {
    const data = bytes(6 * PART + 3, 11)
    const key = testKey('resume')
    const s = store()
    // "Crash": the Workers die after two parts, as when the tab is closed.
    const pool = workerPool(2)
    const crash = new Promise<void>((resolve) => {
      const task = upload(file(data), {
        signer,
        recipients: [kek],
        objectKey: key,
        partSize: PART,
        store: s,
        runner: pool,
        onProgress: (p) => {
          if (p.partsDone >= 2) {
            pool.close()
            resolve()
          }
        },
      })
      task.done.catch(() => undefined)
    })
    await crash
    await new Promise((r) => setTimeout(r, 300))
    const pending = await pendingUploads(s)
    expect(pending).toHaveLength(1)
    expect(pending[0]?.objectKey).toBe(key)
    await s3.resetProxyStats()
    let partsResumed = -1
    const resumed = await upload(file(data), {
      signer,
      recipients: [kek],
      partSize: PART,
      store: s,
      onProgress: (p) => (partsResumed = p.partsResumed),
    }).done
    expect(resumed.objectKey).toBe(key)
    // The parts already on the store were not sent again; only the rest were.
    expect(partsResumed).toBeGreaterThanOrEqual(2)
    expect(resumed.partsSent).toBe(resumed.partCount - partsResumed)
    const stats = await s3.proxyStats()
    // One PUT per part sent (more only if the store asked for a retry).
    expect(stats.requests.PUT).toBeGreaterThanOrEqual(resumed.partsSent)
    expect(stats.bytesReceived).toBeLessThan(resumed.size - partsResumed * PART + 16 * 1024)
    const { stream } = await download(key, { signer, keys: kek })
    expect(await sha256(await readAll(stream))).toBe(await sha256(data))
    expect(await pendingUploads(s)).toEqual([])
  })

  it('a changed file is refused on resume, by size and by part digest; the original then resumes', async () => {
    const data = bytes(3 * PART, 12)
    const s = store()
    const key = testKey('changed')
    // Part 1 goes up; part 2 is sealed (its digest recorded) but its PUT keeps failing.
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=2', action: 'status-500', times: 5 }])
    const first = upload(file(data, 'same.bin'), { signer, recipients: [kek], objectKey: key, partSize: PART, store: s, concurrency: 1, retries: 0 })
    await expect(first.done).rejects.toMatchObject({ code: 'NETWORK' })
    await expectFaults(1)
    await s3.setFaults([])
    const resume = (f: File): Promise<unknown> => upload(f, { signer, recipients: [kek], partSize: PART, store: s, concurrency: 1 }).done
    await expect(resume(file(data.slice(0, data.length - 1), 'same.bin'))).rejects.toMatchObject({ code: 'FILE_CHANGED', message: expect.stringContaining('size') })
    await expect(resume(file(data, 'same.bin', 1_800_000_000_000))).rejects.toMatchObject({ code: 'FILE_CHANGED' })
    // Same size and time, other bytes in part 2: sealing them under part 2's nonces would be unsafe.
    const edited2 = data.slice()
    edited2[PART + 10] = (edited2[PART + 10] ?? 0) ^ 1
    await expect(resume(file(edited2, 'same.bin'))).rejects.toMatchObject({ code: 'FILE_CHANGED', message: expect.stringContaining('under the same nonces') })
    // Other bytes in part 1, already on the store: the object would mix two versions of the file.
    const edited1 = data.slice()
    edited1[10] = (edited1[10] ?? 0) ^ 1
    // Refused by the check of parts already stored ("already uploaded"), or, if part 1's ETag was
    // not recorded before the first run failed (seen once in Firefox and WebKit under heavy load,
    // with pipelined parts), by its digest claim before any byte is sent ("first encrypted").
    await expect(resume(file(edited1, 'same.bin'))).rejects.toMatchObject({ code: 'FILE_CHANGED', message: expect.stringMatching(/already uploaded|first encrypted/) })
    // The original file still resumes, sending only what is missing.
    const done = await upload(file(data, 'same.bin'), { signer, recipients: [kek], partSize: PART, store: s }).done
    expect(done.objectKey).toBe(key)
    expect(done.partsSent).toBe(2)
    const { stream } = await download(key, { signer, keys: kek })
    expect(await sha256(await readAll(stream))).toBe(await sha256(data))
  })

  it('the server refuses an object key its authorization hook denies', async () => {
    const task = upload(file(bytes(PART + 1, 13)), { signer, recipients: [kek], objectKey: 'forbidden/x', partSize: PART, store: store() })
    await expect(task.done).rejects.toMatchObject({ code: 'REQUEST_REJECTED', status: 403 })
    const small = upload(file(bytes(10, 13)), { signer, recipients: [kek], objectKey: 'forbidden/y', store: store() })
    await expect(small.done).rejects.toMatchObject({ code: 'REQUEST_REJECTED', status: 403 })
  })

  it('resume right after pause (before the abandoned parts report back) still finishes', async () => {
    const data = bytes(4 * PART, 18)
    const key = testKey('pause-quick')
    let paused = false
    const task = upload(file(data), {
      signer,
      recipients: [kek],
      objectKey: key,
      partSize: PART,
      store: store(),
      onProgress: (p) => {
        if (!paused && p.bytesSealed > 0 && p.partsDone === 0) {
          paused = true
          task.pause()
          task.resume()
        }
      },
    })
    expect((await task.done).partCount).toBe(4)
    const { stream } = await download(key, { signer, keys: kek })
    expect(await sha256(await readAll(stream))).toBe(await sha256(data))
  })

  it('pause stops sending and resume finishes the same upload', async () => {
    const data = bytes(5 * PART, 14)
    const key = testKey('pause')
    let paused = false
    const task = upload(file(data), {
      signer,
      recipients: [kek],
      objectKey: key,
      partSize: PART,
      store: store(),
      onProgress: (p) => {
        if (!paused && p.partsDone >= 1) {
          paused = true
          task.pause()
          setTimeout(() => task.resume(), 300)
        }
      },
    })
    const result = await task.done
    expect(task.paused).toBe(false)
    expect(result.partCount).toBe(5)
    const { stream } = await download(key, { signer, keys: kek })
    expect(await sha256(await readAll(stream))).toBe(await sha256(data))
  })

  it('objects from the one-shot API, the streaming API and the uploader all download the same way', async () => {
    const data = bytes(700_000, 15)
    const oneShot = await encrypt(data, { recipients: [kek], metadata: { name: 'data.bin' } })
    // Streamed: the header records no length; the reader takes it from the object's size.
    const streamed = await readAll(new Blob([data]).stream().pipeThrough(encryptStream({ recipients: [kek], metadata: { name: 'data.bin' } })))
    for (const sealed of [oneShot, streamed]) {
      const key = testKey('api')
      await s3.putStored(key, toBase64(sealed), headerToMetadata(sealed, { prefix: '' }))
      const { object, stream } = await download(key, { signer, keys: kek })
      expect(object.size).toBe(data.length)
      expect(await sha256(await readAll(stream))).toBe(await sha256(data))
    }
    await roundTrip(data)
  })

  it('a resume with other recipients, metadata or object key is refused; restart gives only the new recipients', async () => {
    const data = bytes(4 * PART, 21)
    const s = store()
    const key = testKey('mismatch')
    const other = await generateAesKwKey()
    // Interrupted after part 1: parts 2 and up keep failing.
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=2', action: 'status-500', times: 1 }])
    const first = upload(file(data, 'm.bin'), { signer, recipients: [kek, other], objectKey: key, partSize: PART, store: s, concurrency: 1, retries: 0 })
    await expect(first.done).rejects.toMatchObject({ code: 'NETWORK' })
    await expectFaults(1)
    await s3.setFaults([])
    const again = (extra: Partial<UploadOptions>): Promise<UploadResult> =>
      upload(file(data, 'm.bin'), { signer, recipients: [kek, other], objectKey: key, partSize: PART, store: s, ...extra }).done
    await expect(again({ recipients: [kek] })).rejects.toMatchObject({ code: 'RESUME_MISMATCH', message: expect.stringContaining('recipients') })
    await expect(again({ metadata: { name: 'renamed.bin' } })).rejects.toMatchObject({ code: 'RESUME_MISMATCH', message: expect.stringContaining('metadata') })
    await expect(again({ objectKey: testKey('elsewhere') })).rejects.toMatchObject({ code: 'RESUME_MISMATCH', message: expect.stringContaining('objectKey') })
    await expect(again({ partSize: 2 * PART })).rejects.toMatchObject({ code: 'RESUME_MISMATCH', message: expect.stringContaining('partSize') })
    // Nothing was lost by the refusals: the same call still resumes.
    expect(await pendingUploads(s)).toHaveLength(1)
    // Starting over for [kek] only: the other key must no longer open the object.
    const done = await again({ recipients: [kek], restart: true })
    expect(done.partsSent).toBe(4)
    const { stream } = await download(key, { signer, keys: kek })
    expect(await sha256(await readAll(stream))).toBe(await sha256(data))
    await expect(download(key, { signer, keys: other })).rejects.toMatchObject({ code: 'WRONG_KEY' })
    expect(await s3.pendingMultipartUploads(key)).toBe(0)
  })

  it('a resume with the same recipients given in another order still resumes', async () => {
    const data = bytes(3 * PART, 22)
    const s = store()
    const key = testKey('same-set')
    const other = await generateAesKwKey()
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=2', action: 'status-500', times: 1 }])
    const first = upload(file(data, 'o.bin'), { signer, recipients: [kek, other, { passphrase: 'correct horse' }], objectKey: key, partSize: PART, store: s, concurrency: 1, retries: 0 })
    await expect(first.done).rejects.toMatchObject({ code: 'NETWORK' })
    await s3.setFaults([])
    const wrongPassphrase = upload(file(data, 'o.bin'), { signer, recipients: [other, { passphrase: 'wrong horse' }, kek], partSize: PART, store: s }).done
    await expect(wrongPassphrase).rejects.toMatchObject({ code: 'RESUME_MISMATCH' })
    const done = await upload(file(data, 'o.bin'), { signer, recipients: [other, { passphrase: 'correct horse' }, kek], partSize: PART, store: s }).done
    expect(done.partsSent).toBe(2)
  })

  it('a part PUT the store never answers is resent after the stall timeout, from the same sealed bytes', async () => {
    const data = bytes(3 * PART + 5, 23)
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=2', action: 'stall' }])
    const { key } = await roundTrip(data, { stallTimeoutMs: 1500 })
    await expectFaults(1)
    const sent = (await s3.proxyPutDigests()).filter((d) => d.target.includes(key) && d.target.includes('partNumber=2'))
    expect(sent.map((d) => d.stalled === true)).toEqual([true, false])
    expect(new Set(sent.map((d) => d.sha256)).size).toBe(1)
  })

  it('keyPrefix puts the random object key under the prefix the server authorizes', async () => {
    const result = await upload(file(bytes(1000, 24)), { signer, recipients: [kek], keyPrefix: 'test/prefixed/', store: store() }).done
    expect(result.objectKey).toMatch(/^test\/prefixed\/[0-9a-f]{32}$/)
    const denied = upload(file(bytes(1000, 24)), { signer, recipients: [kek], keyPrefix: 'elsewhere/', store: store() }).done
    await expect(denied).rejects.toMatchObject({ code: 'REQUEST_REJECTED', status: 403 })
  })

  it('two runners (this page and a Worker, as two tabs) resuming one upload: one body per part, one whole file', async () => {
    const db = `bucketseal-uploads-two-${Math.random().toString(36).slice(2)}`
    const s = createStore(db, 'uploads')
    const key = testKey('two-runners')
    const a = bytes(4 * PART, 25)
    const b = a.slice()
    for (let i = PART; i < b.length; i += 4096) b[i] = (b[i] ?? 0) ^ 0xff
    const fileA = file(a, 'two.bin')
    const fileB = file(b, 'two.bin')
    // Interrupted after part 1.
    await s3.setFaults([{ method: 'PUT', match: 'partNumber=2', action: 'status-500', times: 1 }])
    const first = upload(fileA, { signer, recipients: [kek], objectKey: key, partSize: PART, store: s, concurrency: 1, retries: 0 })
    await expect(first.done).rejects.toMatchObject({ code: 'NETWORK' })
    await expectFaults(1)
    await s3.setFaults([])
    const worker = new Worker(new URL('./second-runner.worker.ts', import.meta.url), { type: 'module' })
    try {
      const other = new Promise<{ ok: boolean; code?: string }>((resolve) => (worker.onmessage = (e: MessageEvent<{ ok: boolean; code?: string }>) => resolve(e.data)))
      worker.postMessage({ file: fileB, kek, db, partSize: PART })
      const here = upload(fileA, { signer, recipients: [kek], partSize: PART, store: s }).done.then(
        (): { ok: boolean; code?: string } => ({ ok: true }),
        (e: unknown) => ({ ok: false, code: e instanceof TransferError ? e.code : String(e) }),
      )
      const outcomes = await Promise.all([here, other])
      // Whoever lost was refused with a typed error.
      for (const o of outcomes) if (!o.ok) expect(['UPLOAD_IN_PROGRESS', 'FILE_CHANGED']).toContain(o.code)
      const bodies = new Map<string, Set<string>>()
      for (const d of await s3.proxyPutDigests()) {
        if (!d.target.includes(key) || !d.target.includes('partNumber=')) continue
        bodies.set(d.target, (bodies.get(d.target) ?? new Set()).add(d.sha256))
      }
      expect(bodies.size).toBeGreaterThanOrEqual(4)
      for (const [target, set] of bodies) expect(set.size, `two bodies for ${target}`).toBe(1)
      // Nothing was lost either way: if both were refused, the original file still resumes alone.
      if (!outcomes.some((o) => o.ok)) await upload(fileA, { signer, recipients: [kek], partSize: PART, store: s }).done
      const { stream } = await download(key, { signer, keys: kek })
      expect([await sha256(a), await sha256(b)]).toContain(await sha256(await readAll(stream)))
    } finally {
      worker.terminate()
    }
  })
})
