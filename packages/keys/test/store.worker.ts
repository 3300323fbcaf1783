// A module Worker for worker.browser.test.ts: opens the page's key store by database name and uses it
// the way an app's crypto Worker would.
import { decrypt } from '@bucketseal/core'
import { createStore } from 'idb-keyval'
import { KeyStore, isKeysError, requestPersistentStorage } from '../src/index.js'

export interface WorkerRequest {
  readonly dbName: string
  readonly sealed: Uint8Array
  readonly emptyDbName: string
}

export interface WorkerReply {
  readonly plaintext: Uint8Array
  readonly listed: readonly string[]
  readonly privateExportRefused: boolean
  readonly missingCode: string
  readonly missingKeyIds: readonly string[]
  readonly persistence: string
  readonly createdId: string
}

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  const keys = new KeyStore({ store: createStore(request.dbName, 'keys') })
  const plaintext = await decrypt(request.sealed, await keys.identitiesFor(request.sealed))
  const stored = await keys.list()
  const pair = stored.find((k) => k.algorithm === 'RSA-OAEP-256')
  const privateExportRefused =
    pair?.algorithm === 'RSA-OAEP-256' &&
    (await crypto.subtle.exportKey('pkcs8', pair.privateKey).then(
      () => false,
      () => true,
    ))
  const missing = await new KeyStore({ store: createStore(request.emptyDbName, 'keys') }).identitiesFor(request.sealed).catch((e: unknown) => e)
  const created = await keys.createAesKwKey('Made in a Worker', 'correct horse battery staple')
  return {
    plaintext,
    listed: stored.map((k) => k.id),
    privateExportRefused,
    missingCode: isKeysError(missing) ? missing.code : String(missing),
    missingKeyIds: isKeysError(missing, 'KEY_NOT_FOUND') && 'keyIds' in missing && Array.isArray(missing.keyIds) ? missing.keyIds : [],
    persistence: await requestPersistentStorage(),
    createdId: created.key.id,
  }
}

function isRequest(data: unknown): data is WorkerRequest {
  return typeof data === 'object' && data !== null && 'dbName' in data && 'sealed' in data && data.sealed instanceof Uint8Array
}

self.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (!isRequest(event.data)) return
  handle(event.data).then(
    (reply) => self.postMessage({ ok: true, reply }),
    (error: unknown) => self.postMessage({ ok: false, error: String(error) }),
  )
})
