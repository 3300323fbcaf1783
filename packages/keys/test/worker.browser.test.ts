import { decrypt, encrypt } from '@bucketseal/core'
import { expect, it } from 'vitest'
import type { WorkerReply, WorkerRequest } from './store.worker.js'
import { PASSPHRASE, freshStore, text } from './helpers.js'

function ask(request: WorkerRequest): Promise<WorkerReply> {
  const worker = new Worker(new URL('./store.worker.ts', import.meta.url), { type: 'module' })
  return new Promise<WorkerReply>((resolve, reject) => {
    worker.addEventListener('message', (event: MessageEvent<{ ok: true; reply: WorkerReply } | { ok: false; error: string }>) => {
      if (event.data.ok) resolve(event.data.reply)
      else reject(new Error(event.data.error))
    })
    worker.addEventListener('error', (event) => reject(new Error(event.message)))
    worker.postMessage(request)
  }).finally(() => worker.terminate())
}

it('a module Worker opens the same store and decrypts with a key created on the page', async () => {
  const { keys, dbName } = freshStore()
  const { key } = await keys.createKeyPair('Page key', PASSPHRASE)
  const sealed = await encrypt(text('from the page'), { recipients: [key.publicKey] })

  const reply = await ask({ dbName, sealed, emptyDbName: freshStore().dbName })
  expect(reply.plaintext).toEqual(text('from the page'))
  expect(reply.listed).toEqual([key.id])
  expect(reply.privateExportRefused).toBe(true)
  expect(reply).toMatchObject({ missingCode: 'KEY_NOT_FOUND', missingKeyIds: [key.id] })
  // Workers cannot ask for persistence (StorageManager.persist is for pages); they can tell if it is on.
  expect(['granted', 'unavailable']).toContain(reply.persistence)

  // And the other way: a key the Worker made is the page's too.
  const made = await keys.get(reply.createdId)
  expect(made).toMatchObject({ name: 'Made in a Worker', algorithm: 'A256KW' })
  if (made?.algorithm !== 'A256KW') throw new Error('expected the Worker key')
  const forWorkerKey = await encrypt(text('symmetric'), { recipients: [made.key] })
  expect(await decrypt(forWorkerKey, await keys.identitiesFor(forWorkerKey))).toEqual(text('symmetric'))
})
