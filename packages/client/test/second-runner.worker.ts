/// <reference lib="webworker" />
// A second runner in its own realm, as a second tab would be: same origin, so the same IndexedDB
// and Web Locks, but its own memory. Runs one upload it is sent and posts back how it ended.
import { createStore } from 'idb-keyval'
import { httpSigner, inlineRunner, upload } from '../src/index.js'

interface Order {
  readonly file: File
  readonly kek: CryptoKey
  readonly db: string
  readonly partSize: number
}

self.onmessage = async (event: MessageEvent<Order>) => {
  const { file, kek, db, partSize } = event.data
  try {
    const result = await upload(file, { signer: httpSigner('/api/s3'), recipients: [kek], partSize, store: createStore(db, 'uploads'), runner: inlineRunner(2) }).done
    self.postMessage({ ok: true, objectKey: result.objectKey })
  } catch (e) {
    self.postMessage({ ok: false, code: typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : String(e) })
  }
}
