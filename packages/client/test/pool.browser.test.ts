// The Worker pool in real Chromium Workers: jobs run there, and typed errors keep their code on the
// way back through comlink, whichever side threw them.
import { createObject, generateAesKwKey, openObject } from '@bucketseal/core'
import { describe, expect, it } from 'vitest'
import { TransferError, planParts, workerPool } from '../src/index.js'
import { type PartJob, digestPart } from '../src/seal-part.js'

async function job(size: number): Promise<PartJob> {
  const kek = await generateAesKwKey()
  const { header, key } = await createObject({ recipients: [kek], plaintextLength: size })
  const plan = planParts(size, key.chunkSize, header.length)
  return { file: new Blob([new Uint8Array(size)]), plan, number: 1, key, header, retries: 0 }
}

describe('worker pool', () => {
  it('a TransferError thrown by the page inside a Worker job comes back with its code', async () => {
    const pool = workerPool(2)
    try {
      const j = await job(1000)
      const digests: string[] = []
      const error: unknown = await pool
        .uploadPart('part-1', j, {
          sign: async () => ({ url: 'https://127.0.0.1:1/never' }),
          sealed: async (_n, digest) => {
            digests.push(digest)
            throw new TransferError('FILE_CHANGED', 'changed')
          },
          progress: () => undefined,
        })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TransferError)
      expect(error).toMatchObject({ code: 'FILE_CHANGED', name: 'TransferError' })
      // The digest of the sealed part, computed in the Worker, is the one the page computes, and the
      // Worker's digest job (resume checks) agrees.
      const expected = await digestPart(j)
      expect(digests).toEqual([expected])
      expect(await pool.digestPart('digest-1', j)).toBe(expected)
    } finally {
      pool.close()
    }
  })

  it('an error raised in the Worker (an insecure URL) keeps its code', async () => {
    const pool = workerPool(1)
    try {
      const j = await job(10)
      await expect(
        pool.uploadPart('part-1', j, { sign: async () => ({ url: 'http://example.com/upload' }), sealed: async () => undefined, progress: () => undefined }),
      ).rejects.toMatchObject({ code: 'INSECURE_URL' })
    } finally {
      pool.close()
    }
  })

  it('a core error (a chunk that does not authenticate) keeps its code and chunk index', async () => {
    const pool = workerPool(1)
    try {
      const kek = await generateAesKwKey()
      const { header } = await createObject({ recipients: [kek], plaintextLength: 5000, chunkSize: 1024 })
      const { key } = await openObject(header, kek)
      const layout = { headerLength: 0, chunkSize: 1024, plaintextLength: 5000 }
      // Any bytes served from localhost stand in for a damaged object: here, this test file itself.
      const url = new URL('./parts.test.ts', import.meta.url).href
      const error: unknown = await pool.downloadRange('r1', { key, layout, start: 0, end: 10, retries: 0 }, { sign: async () => ({ url }) }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'TAMPERED', chunkIndex: 0, name: 'TamperedError' })
      await expect(
        pool.downloadRange('r2', { key, layout, start: 0, end: 10, retries: 0 }, { sign: async () => ({ url: 'http://example.com/x' }) }),
      ).rejects.toMatchObject({ code: 'INSECURE_URL' })
    } finally {
      pool.close()
    }
  })
})
