/// <reference lib="webworker" />
/**
 * A sealing Worker for the "file → sealed parts" measurement: the pool Worker's part work without
 * the network. `seal` is the library's own `sealPart` (read the slice, SHA-256 it, seal its chunks
 * into one buffer), exactly what packages/upload/src/worker.ts runs before its PUT; `read` is the
 * raw `Blob.slice().arrayBuffer()` it is compared with; `digest` (read + SHA-256) and `encrypt` (read
 * + raw AES-GCM of each chunk, as many in flight as sealPart keeps, no copies) show where the time
 * goes. Outputs are dropped.
 */
import type { ObjectKey } from '../../../packages/core/src/index.ts'
import { type PartPlan, partAt } from '../../../packages/upload/src/parts.ts'
import { sealPart } from '../../../packages/upload/src/seal-part.ts'
import type { SealOp, SealReply, SealRequest } from './types.ts'

let job: { file: Blob; plan: PartPlan; key: ObjectKey; header: Uint8Array<ArrayBuffer>; raw: CryptoKey } | null = null

/** Chunk encryptions in flight in the `encrypt` op: sealPart's SEAL_DEPTH. */
const DEPTH = 4

/** WebCrypto AES-GCM over every chunk of `plain`, a distinct IV each, ciphertexts dropped. */
async function encryptChunks(key: CryptoKey, plain: Uint8Array<ArrayBuffer>, chunkSize: number): Promise<void> {
  const inFlight: Array<Promise<ArrayBuffer>> = []
  for (let offset = 0, i = 0; offset < plain.length; offset += chunkSize, i++) {
    const iv = new Uint8Array(12)
    new DataView(iv.buffer).setUint32(8, i)
    if (inFlight.length >= DEPTH) await inFlight.shift()
    inFlight.push(crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, plain.subarray(offset, offset + chunkSize)))
  }
  await Promise.all(inFlight)
}

const noCallbacks = { sealing: async (): Promise<void> => undefined, progress: (): void => undefined }

async function run(op: SealOp, number: number): Promise<number> {
  if (job === null) throw new Error('seal-worker: no init message')
  const part = partAt(job.plan, number)
  if (op === 'seal') {
    const sealed = await sealPart({ file: job.file, plan: job.plan, number, key: job.key, header: number === 1 ? job.header : new Uint8Array(0) }, noCallbacks)
    return sealed.length
  }
  const plain = new Uint8Array(await job.file.slice(part.plaintextStart, part.plaintextEnd).arrayBuffer())
  if (op === 'digest') await crypto.subtle.digest('SHA-256', plain)
  if (op === 'encrypt') await encryptChunks(job.raw, plain, job.plan.chunkSize)
  return plain.byteLength
}

self.onmessage = (event: MessageEvent<SealRequest>): void => {
  const message = event.data
  const reply = (r: SealReply): void => self.postMessage(r)
  if (message.type === 'init') {
    const { file, plan, key, header } = message
    crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']).then((raw) => {
      job = { file, plan, key, header, raw }
      reply({ id: -1, bytes: 0, error: null })
    })
    return
  }
  run(message.op, message.number).then(
    (bytes) => reply({ id: message.id, bytes, error: null }),
    (e: unknown) => reply({ id: message.id, bytes: 0, error: e instanceof Error ? e.message : String(e) }),
  )
}
