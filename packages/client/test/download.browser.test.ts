// Streaming, parallel and ranged decryption of objects stored in a real Ceph RGW.
import { aesKwKeyId, encryptStream, generateAesKwKey, headerToMetadata, planRange } from '@bucketseal/core'
import { createStore } from 'idb-keyval'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RemoteObject, download, downloadRange, httpSigner, inlineRunner, openRemote, upload } from '../src/index.js'
import { bytes, readAll, s3, sha256, signer, testKey, toBase64 } from './s3.js'

const MiB = 1024 * 1024
const C = 64 * 1024
const SIZE = 12 * MiB + 12345

let kek: CryptoKey
let data: Uint8Array<ArrayBuffer>
let key: string

async function put(plain: Uint8Array<ArrayBuffer>, label: string): Promise<string> {
  const k = testKey(label)
  await upload(new File([plain], `${label}.bin`), {
    signer,
    recipients: [kek],
    objectKey: k,
    chunkSize: C,
    partSize: 5 * MiB,
    store: createStore(`dl-test-${Math.random()}`, 'uploads'),
  }).done
  return k
}

beforeAll(async () => {
  kek = await generateAesKwKey()
  data = bytes(SIZE, 21)
  key = await put(data, 'ranges')
})
afterEach(async () => {
  await s3.setFaults([])
})

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a failure')
    },
    (e: unknown) => e,
  )
}

describe('download from Ceph RGW', () => {
  it('a full download is byte-identical, with the sealed name and type', async () => {
    const progress: number[] = []
    const { object, stream } = await download(key, { signer, keys: kek, rangeSize: 2 * MiB, onProgress: (p) => progress.push(p.bytesDecrypted) })
    expect(object.size).toBe(SIZE)
    expect(object.metadata?.name).toBe('ranges.bin')
    expect(object.header.chunkSize).toBe(C)
    expect(await sha256(await readAll(stream))).toBe(await sha256(data))
    expect(progress.at(-1)).toBe(SIZE)
  })

  it('200 ranges equal the plaintext slices and fetch only the covering chunks', async () => {
    const remote: RemoteObject = await openRemote(key, { signer, keys: kek })
    const runner = inlineRunner(1)
    let seed = 7
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % (n + 1))
    const partSize = 5 * MiB
    const ranges: Array<[number, number]> = [
      [0, 0],
      [0, 1],
      [SIZE - 1, SIZE],
      [SIZE, SIZE],
      [C - 1, C + 1],
      [partSize - 5, partSize + 5],
      [2 * partSize - 1, 2 * partSize + C],
      [0, SIZE],
    ]
    while (ranges.length < 200) {
      const a = rand(SIZE)
      const b = Math.min(SIZE, a + rand(ranges.length % 3 === 0 ? 3 * C : 2000))
      ranges.push([a, b])
    }
    for (const [start, end] of ranges) {
      await s3.resetProxyStats()
      const got = await downloadRange(remote, start, end, { signer, keys: kek, runner })
      expect(got.length).toBe(end - start)
      expect(await sha256(got)).toBe(await sha256(data.slice(start, end)))
      const plan = planRange(remote.layout, start, end)
      const stats = await s3.proxyStats()
      expect(stats.bytesSent).toBe(plan.ciphertextEnd - plan.ciphertextStart)
      expect(stats.requests.GET ?? 0).toBe(start === end ? 0 : 1)
    }
  })

  it('a flipped byte in the stored object fails as TAMPERED and releases nothing of the damaged chunk', async () => {
    const k = await put(data, 'flip')
    const remote = await openRemote(k, { signer, keys: kek })
    const damaged = 40
    await s3.flipStoredByte(k, remote.header.length + damaged * (C + 16) + 100)
    const { stream } = await download(k, { signer, keys: kek, rangeSize: 1 * MiB, concurrency: 2 })
    const reader = stream.getReader()
    const out: Uint8Array[] = []
    const error = await failure(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return
          out.push(value)
        }
      })(),
    )
    expect(error).toMatchObject({ code: 'TAMPERED' })
    const released = out.reduce((n, p) => n + p.length, 0)
    expect(released).toBeLessThanOrEqual(damaged * C)
    const joined = await readAll(new Blob(out.map((p) => new Uint8Array(p))).stream())
    expect(await sha256(joined)).toBe(await sha256(data.slice(0, released)))
    // A ranged read of the damaged chunk fails too; one of an intact chunk still works.
    await expect(downloadRange(remote, damaged * C + 5, damaged * C + 10, { signer, keys: kek })).rejects.toMatchObject({ code: 'TAMPERED', chunkIndex: damaged })
    expect(await downloadRange(remote, 0, 10, { signer, keys: kek })).toEqual(data.slice(0, 10))
  })

  it('a truncated object fails: by its recorded length, and when streamed without one', async () => {
    const k = await put(data.slice(0, 3 * MiB), 'cut')
    const remote = await openRemote(k, { signer, keys: kek })
    await s3.truncateStored(k, remote.storedSize - 1000)
    await expect(download(k, { signer, keys: kek })).rejects.toMatchObject({ code: 'TRUNCATED' })
    // A streamed object (no length in its header) cut at a chunk boundary.
    const plain = data.slice(0, 5 * C + 10)
    const sealed = await readAll(new Blob([plain]).stream().pipeThrough(encryptStream({ recipients: [kek], chunkSize: C })))
    const k2 = testKey('streamed-cut')
    await s3.putStored(k2, toBase64(sealed), headerToMetadata(sealed, { prefix: '' }))
    const headerLength = (await openRemote(k2, { signer, keys: kek })).header.length
    await s3.truncateStored(k2, headerLength + 3 * (C + 16))
    const { stream } = await download(k2, { signer, keys: kek })
    await expect(readAll(stream)).rejects.toMatchObject({ code: 'TRUNCATED' })
  })

  it('a wrong key fails before any content is fetched, naming the key ids needed', async () => {
    const other = await generateAesKwKey()
    await s3.resetProxyStats()
    const error = await failure(download(key, { signer, keys: other }))
    expect(error).toMatchObject({ code: 'WRONG_KEY', keyIds: [await aesKwKeyId(kek)] })
    // Only the header was read.
    expect((await s3.proxyStats()).requests.GET).toBe(1)
  })

  it('an object that is not a Bucketseal object gives BAD_HEADER', async () => {
    const k = testKey('plain')
    await s3.putStored(k, toBase64(bytes(5000, 3)), {})
    await expect(download(k, { signer, keys: kek })).rejects.toMatchObject({ code: 'BAD_HEADER' })
  })

  it('retries 5xx and re-signs an expired GET', async () => {
    await s3.setFaults([
      { method: 'GET', action: 'status-503', times: 2 },
      { method: 'GET', action: 'expired' },
    ])
    await s3.resetProxyStats()
    const { stream } = await download(key, { signer, keys: kek })
    expect(await sha256(await readAll(stream))).toBe(await sha256(data))
    expect((await s3.proxyStats()).faults).toBe(3)
  })

  it('a ranged GET that stops sending is retried after the stall timeout: download and downloadRange finish', async () => {
    await s3.resetProxyStats()
    // The first GET (the header read) and the second (the first range) stall after 64 KiB.
    await s3.setFaults([{ method: 'GET', action: 'stall', times: 2 }])
    const { stream } = await download(key, { signer, keys: kek, stallTimeoutMs: 1000 })
    expect(await sha256(await readAll(stream))).toBe(await sha256(data))
    expect((await s3.proxyStats()).faults).toBe(2)
    const object = await openRemote(key, { signer, keys: kek })
    await s3.setFaults([{ method: 'GET', action: 'stall' }])
    const part = await downloadRange(object, 3 * MiB, 4 * MiB, { signer, keys: kek, stallTimeoutMs: 1000 })
    expect(await sha256(part)).toBe(await sha256(data.subarray(3 * MiB, 4 * MiB)))
    expect((await s3.proxyStats()).faults).toBe(3)
  })

  it('a redirect from the store is refused (never followed with the signed headers)', async () => {
    const object = await openRemote(key, { signer, keys: kek })
    await s3.resetProxyStats()
    const before = await s3.redirectsFollowed()
    await s3.setFaults([{ method: 'GET', action: 'redirect' }])
    await expect(downloadRange(object, 0, 1000, { signer, keys: kek, retries: 0 })).rejects.toMatchObject({ code: 'NETWORK', message: expect.stringContaining('redirect') })
    expect((await s3.proxyStats()).faults).toBe(1)
    expect(await s3.redirectsFollowed()).toBe(before)
  })

  it('a store that ignores Range: a small ranged read still gets exactly its bytes', async () => {
    const object = await openRemote(key, { signer, keys: kek })
    await s3.resetProxyStats()
    await s3.setFaults([{ method: 'GET', action: 'ignore-range' }])
    const part = await downloadRange(object, 5 * MiB + 7, 5 * MiB + 4096, { signer, keys: kek })
    expect(await sha256(part)).toBe(await sha256(data.subarray(5 * MiB + 7, 5 * MiB + 4096)))
    expect((await s3.proxyStats()).faults).toBe(1)
  })

  it('cancel stops all requests', async () => {
    const { stream } = await download(key, { signer, keys: kek, rangeSize: 256 * 1024, concurrency: 2 })
    const reader = stream.getReader()
    await s3.resetProxyStats()
    await reader.read()
    await reader.cancel()
    await new Promise((r) => setTimeout(r, 200))
    const after = (await s3.proxyStats()).requests.GET ?? 0
    await new Promise((r) => setTimeout(r, 500))
    expect((await s3.proxyStats()).requests.GET ?? 0).toBe(after)
    // Far fewer than the 49 ranges of the object were requested.
    expect(after).toBeLessThan(8)
  })

  it('refuses a range outside the object', async () => {
    const remote = await openRemote(key, { signer, keys: kek })
    await expect(downloadRange(remote, 0, SIZE + 1, { signer, keys: kek })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(downloadRange(remote, 10, 5, { signer, keys: kek })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})

describe('with SSE-C as a second layer', () => {
  it('uploads in parts and reads back whole and by range, sending the signed SSE-C headers each time', async () => {
    const sse = httpSigner('/api/s3-ssec')
    const plain = data.slice(0, 11 * MiB + 5)
    const k = testKey('ssec')
    await upload(new File([plain], 'ssec.bin'), { signer: sse, recipients: [kek], objectKey: k, partSize: 5 * MiB, store: createStore(`dl-ssec-${Math.random()}`, 'uploads') }).done
    const { stream } = await download(k, { signer: sse, keys: kek })
    expect(await sha256(await readAll(stream))).toBe(await sha256(plain))
    expect(await downloadRange(k, 6 * MiB, 6 * MiB + 100, { signer: sse, keys: kek })).toEqual(plain.slice(6 * MiB, 6 * MiB + 100))
    // Without the store-side key the store refuses to serve it, even to a valid presigned URL.
    await expect(download(k, { signer, keys: kek })).rejects.toMatchObject({ code: 'REQUEST_REJECTED' })
    // Small objects go up in one signed PUT.
    const small = testKey('ssec-small')
    await upload(new File([plain.slice(0, 1000)], 'small.bin'), { signer: sse, recipients: [kek], objectKey: small, store: createStore(`dl-ssec-${Math.random()}`, 'uploads') }).done
    expect(await downloadRange(small, 0, 1000, { signer: sse, keys: kek })).toEqual(plain.slice(0, 1000))
  })
})
