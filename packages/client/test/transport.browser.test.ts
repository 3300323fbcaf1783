// The error transport over a real comlink channel (a MessageChannel on this page, so both ends use
// this realm's handler table, as a page and its Worker each use theirs): Bucketseal's errors come
// back as their own classes with their fields, and every other thrown value as comlink gives it.
import { BucketsealError, TamperedError, WrongKeyError, isBucketsealError } from '@bucketseal/core'
import { type Remote, expose, wrap } from 'comlink'
import { describe, expect, it } from 'vitest'
import { TransferError, installErrorTransport, upload, workerPool } from '../src/index.js'
import { bytes } from './s3.js'

function channel<T extends object>(api: T): Remote<T> {
  const { port1, port2 } = new MessageChannel()
  expose(api, port1)
  return wrap<T>(port2)
}

describe('error transport', () => {
  installErrorTransport()
  installErrorTransport() // idempotent: a second call must not wrap the handler twice
  const remote = channel({
    tampered: (): void => {
      throw new TamperedError('chunk 3 failed', 3)
    },
    wrongKey: (): void => {
      throw new WrongKeyError(['00ff'], 'detail')
    },
    transfer: (): void => {
      throw new TransferError('NETWORK', 'down', { status: 503, source: 'store' })
    },
    other: (): void => {
      throw new BucketsealError<string>('KEY_NOT_FOUND', 'no such key')
    },
    plain: (): void => {
      throw new RangeError('app error')
    },
    notAnError: (): void => {
      // comlink passes thrown non-Errors through as they are
      throw { custom: 1 }
    },
  })

  it('core errors keep their class, code and fields', async () => {
    const e: unknown = await remote.tampered().catch((x: unknown) => x)
    expect(e).toBeInstanceOf(TamperedError)
    expect(e).toMatchObject({ code: 'TAMPERED', name: 'TamperedError', chunkIndex: 3, message: 'chunk 3 failed' })
    expect(isBucketsealError(e, 'TAMPERED')).toBe(true)
    const w: unknown = await remote.wrongKey().catch((x: unknown) => x)
    expect(w).toBeInstanceOf(WrongKeyError)
    expect(w).toMatchObject({ keyIds: ['00ff'], message: expect.stringContaining('detail') })
  })

  it('transfer errors keep status and source; other packages\u2019 codes the base class', async () => {
    const t: unknown = await remote.transfer().catch((x: unknown) => x)
    expect(t).toBeInstanceOf(TransferError)
    expect(t).toMatchObject({ code: 'NETWORK', status: 503, source: 'store' })
    const o: unknown = await remote.other().catch((x: unknown) => x)
    expect(o).toBeInstanceOf(BucketsealError)
    expect(o).toMatchObject({ code: 'KEY_NOT_FOUND', message: 'no such key' })
  })

  it('everything else goes through comlink\u2019s own handler', async () => {
    const p: unknown = await remote.plain().catch((x: unknown) => x)
    expect(p).toBeInstanceOf(Error)
    expect(p).not.toBeInstanceOf(BucketsealError)
    expect(p).toMatchObject({ name: 'RangeError', message: 'app error' })
    const n: unknown = await remote.notAnError().catch((x: unknown) => x)
    expect(n).toEqual({ custom: 1 })
  })
})

describe('a Worker that fails to load', () => {
  it.for([
    ['a missing script, by URL', '/does-not-exist-bucketseal.js', 'does-not-exist-bucketseal.js'],
    ['a missing script, by function', () => new Worker('/does-not-exist-bucketseal.js', { type: 'module' }), '@bucketseal/client/worker'],
    ['an HTML page', () => new Worker('/', { type: 'module' }), '@bucketseal/client/worker'],
  ] as const)('%s rejects the upload with WORKER_FAILED', async ([, worker, named]) => {
    const runner = workerPool(1, worker)
    const signer = {
      createMultipart: async () => 'u',
      signParts: async () => new Map(),
      listParts: async () => [],
      complete: async () => 'e',
      abort: async () => undefined,
      signPut: async () => ({ url: 'https://127.0.0.1:1/x' }),
      signGet: async () => ({ url: 'https://127.0.0.1:1/x' }),
      head: async () => ({ size: 0, etag: '', metadata: {} }),
    }
    const kek = await crypto.subtle.generateKey({ name: 'AES-KW', length: 256 }, false, ['wrapKey', 'unwrapKey'])
    try {
      const task = upload(new Blob([bytes(1000)]), { signer, recipients: [kek], resumeKey: `wf-${Math.random()}`, runner })
      const error: unknown = await task.done.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TransferError)
      expect(error).toMatchObject({ code: 'WORKER_FAILED', message: expect.stringContaining(named) })
    } finally {
      runner.close()
    }
  })
})
